package sdktest

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/sdk"
	"github.com/sluicehq/sluice/sdk/protocol"
)

// Options configure Conformance.
type Options struct {
	// Config is passed to Init, as a stage's `plugin.config` would be.
	Config any
	// Records are sample records the plugin can classify, ideally like the
	// real input (at least a few). Without them, Conformance makes a few
	// generic records of each kind the plugin accepts.
	Records []sdk.Record
	// Nondeterministic skips the checks that the same records get the same
	// answers however they are batched. Set it only if your classifier is
	// random on purpose: sluice re-sends and re-splits batches after a
	// crash, so a classifier whose answers depend on batching gives
	// different results for a run that had a crash.
	Nondeterministic bool
}

// Conformance checks p against the plugin contract, over real gRPC, with
// one subtest per rule:
//
//   - records: every record of opts.Records is one sluice could send
//     (CheckRecord) of a kind the plugin accepts;
//   - describe: Describe gives a name and this sdk's protocol version;
//   - init: Init succeeds with opts.Config;
//   - one result per record: Classify answers every batch with exactly
//     one result per record;
//   - empty batch: a batch without records is answered;
//   - deterministic: the same batch twice gets the same answers;
//   - batching does not matter: records sent one per batch, or in uneven
//     batches, get the answers they get in one batch (sluice cuts and
//     re-cuts batches as it likes, and bisects them after crashes);
//   - in flight: several batches sent before any answer are each answered
//     once, with the same answers;
//   - shutdown: Shutdown succeeds.
//
// A plugin author calls it from a test of the plugin's own package, with
// the same sdk.Plugin value that main passes to sdk.Serve.
func Conformance(t *testing.T, p sdk.Plugin, opts Options) {
	t.Helper()
	c := Serve(t, p)
	recs := opts.Records
	if len(recs) == 0 {
		recs = genericRecords(p.Accepts)
	}
	checkRecords(t, p, recs)

	t.Run("describe", func(t *testing.T) {
		d, err := c.Describe(t.Context())
		if err != nil {
			t.Fatalf("Describe: %v", err)
		}
		if d.Name == "" {
			t.Errorf("Describe gives no name: set sdk.Plugin.Name")
		}
		if d.ProtocolVersion != protocol.ProtocolVersion {
			t.Errorf("Describe gives protocol version %d, want %d", d.ProtocolVersion, protocol.ProtocolVersion)
		}
	})
	if !t.Run("init", func(t *testing.T) {
		if err := c.Init(t.Context(), opts.Config); err != nil {
			t.Fatalf("Init: %v", err)
		}
	}) {
		t.Fatal("Init failed: the other checks need it")
	}

	var whole []sdk.Result
	t.Run("one result per record", func(t *testing.T) {
		res, err := c.Classify(t.Context(), recs)
		if err != nil {
			t.Fatalf("Classify: %v", err)
		}
		whole = res
		for _, r := range res {
			// The sdk answers a Classify that broke the contract with
			// this error for every record of the batch.
			if r.Err != nil && strings.HasPrefix(r.Err.Error(), "plugin bug: ") {
				t.Fatalf("%v", r.Err)
			}
		}
		if n := countErrors(res); n == len(res) && len(res) > 0 {
			t.Logf("every sample record was rejected (first: %v); pass records the plugin classifies in Options.Records", res[0].Err)
		}
	})
	t.Run("empty batch", func(t *testing.T) {
		res, err := c.Classify(t.Context(), nil)
		if err != nil {
			t.Fatalf("Classify of an empty batch: %v", err)
		}
		if len(res) != 0 {
			t.Errorf("an empty batch got %d results", len(res))
		}
	})
	if whole == nil {
		return
	}
	if !opts.Nondeterministic {
		t.Run("deterministic", func(t *testing.T) {
			res, err := c.Classify(t.Context(), recs)
			if err != nil {
				t.Fatalf("Classify: %v", err)
			}
			compare(t, "the same batch a second time", recs, whole, res)
		})
		t.Run("batching does not matter", func(t *testing.T) {
			singles := make([][]sdk.Record, len(recs))
			for i := range recs {
				singles[i] = recs[i : i+1]
			}
			got, err := c.ClassifyBatches(t.Context(), singles)
			if err != nil {
				t.Fatalf("Classify one record at a time: %v", err)
			}
			compare(t, "one record per batch", recs, whole, slices.Concat(got...))
			if len(recs) > 2 {
				cut := len(recs) / 3
				got, err := c.ClassifyBatches(t.Context(), [][]sdk.Record{recs[:cut], recs[cut:]})
				if err != nil {
					t.Fatalf("Classify in two uneven batches: %v", err)
				}
				compare(t, "two uneven batches", recs, whole, slices.Concat(got...))
			}
		})
	}
	t.Run("in flight", func(t *testing.T) {
		const n = 8
		batches := make([][]sdk.Record, n)
		for i := range batches {
			batches[i] = recs
		}
		got, err := c.ClassifyBatches(t.Context(), batches)
		if err != nil {
			t.Fatalf("Classify with %d batches in flight: %v", n, err)
		}
		if !opts.Nondeterministic {
			for i, res := range got {
				compare(t, fmt.Sprintf("batch %d of %d in flight", i+1, n), recs, whole, res)
			}
		}
	})
	t.Run("shutdown", func(t *testing.T) {
		if err := c.Shutdown(t.Context()); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
}

func countErrors(res []sdk.Result) int {
	n := 0
	for _, r := range res {
		if r.Err != nil {
			n++
		}
	}
	return n
}

// compare reports the records whose answer in got differs from want.
func compare(t *testing.T, how string, recs []sdk.Record, want, got []sdk.Result) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d results, want %d", how, len(got), len(want))
		return
	}
	bad := 0
	for i := range want {
		if same(want[i], got[i]) {
			continue
		}
		if bad++; bad <= 5 {
			t.Errorf("%s: record %d (%.40q) got %s, but %s in one batch", how, i, recs[i].Data, describe(got[i]), describe(want[i]))
		}
	}
	if bad > 5 {
		t.Errorf("%s: %d records differ in all", how, bad)
	}
}

func same(a, b sdk.Result) bool {
	if (a.Err == nil) != (b.Err == nil) {
		return false
	}
	if a.Err != nil {
		return a.Err.Error() == b.Err.Error()
	}
	if a.Category != b.Category || len(a.Labels) != len(b.Labels) {
		return false
	}
	for k, v := range a.Labels {
		if w, ok := b.Labels[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func describe(r sdk.Result) string {
	if r.Err != nil {
		return fmt.Sprintf("error %q", r.Err)
	}
	return fmt.Sprintf("category %q labels %v", r.Category, r.Labels)
}

// genericRecords makes a few records of each accepted kind.
func genericRecords(accepts []sdk.Kind) []sdk.Record {
	if len(accepts) == 0 {
		accepts = []sdk.Kind{sdk.XML, sdk.CSV, sdk.Line, sdk.JSON}
	}
	hdr := sdk.NewHeader([]string{"id", "name", "score"})
	var out []sdk.Record
	for _, k := range accepts {
		for i := range 3 {
			r := sdk.Record{Kind: k, Source: sdk.Position{File: "sample." + k.String(), Offset: int64(i * 64), Line: int64(i + 1), Ordinal: int64(i + 1)}}
			switch k {
			case sdk.XML:
				r.Data = fmt.Appendf(nil, `<record id="r%d" type="book"><title>Title %d</title></record>`, i, i)
			case sdk.CSV:
				r.Header = hdr
				r.Fields = []string{fmt.Sprint(i), fmt.Sprintf("name %d", i), fmt.Sprint(i * 10)}
				r.Data = fmt.Appendf(nil, "%s,%s,%s", r.Fields[0], r.Fields[1], r.Fields[2])
			case sdk.Line:
				r.Data = fmt.Appendf(nil, "line %d of sample text", i)
			case sdk.JSON:
				r.Data = fmt.Appendf(nil, `{"id":%d,"name":"n%d"}`, i, i)
			}
			out = append(out, r)
		}
	}
	return out
}
