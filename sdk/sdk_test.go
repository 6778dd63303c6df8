package sdk_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/sluicehq/sluice/sdk"
	"github.com/sluicehq/sluice/sdk/sdktest"
)

// equateErrorText compares errors by their message.
var equateErrorText = cmp.Comparer(func(a, b error) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Error() == b.Error()
})

func upper(_ context.Context, r *sdk.Record) (sdk.Result, error) {
	if strings.Contains(string(r.Data), "bad") {
		return sdk.Result{}, errors.New("bad record")
	}
	return sdk.Result{Category: strings.ToUpper(string(r.Data))}, nil
}

func lines(data ...string) []sdk.Record {
	out := make([]sdk.Record, len(data))
	for i, d := range data {
		out[i] = sdk.Record{Kind: sdk.Line, Data: []byte(d)}
	}
	return out
}

func TestRecordFunc(t *testing.T) {
	c := sdktest.Serve(t, sdk.Plugin{Name: "upper", Classifier: sdk.RecordFunc(upper)})
	if err := c.Init(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	got, err := c.Classify(t.Context(), lines("a", "bad", "c"))
	if err != nil {
		t.Fatal(err)
	}
	want := []sdk.Result{{Category: "A"}, {Err: errors.New("bad record")}, {Category: "C"}}
	if diff := cmp.Diff(want, got, equateErrorText); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
}

// recording keeps what it was called with.
type recording struct {
	mu     sync.Mutex
	init   *sdk.InitRequest
	cfg    struct{ Prefix string }
	got    []sdk.Record
	shut   bool
	result func(*sdk.ClassifyRequest) (*sdk.ClassifyResponse, error)
}

func (r *recording) Init(_ context.Context, req *sdk.InitRequest) (*sdk.InitResponse, error) {
	r.init = req
	return nil, req.DecodeConfig(&r.cfg)
}

func (r *recording) Classify(_ context.Context, req *sdk.ClassifyRequest) (*sdk.ClassifyResponse, error) {
	r.mu.Lock()
	for _, rec := range req.Records {
		rec.Data = append([]byte(nil), rec.Data...) // records are not to be kept: copy
		r.got = append(r.got, rec)
	}
	r.mu.Unlock()
	if r.result != nil {
		return r.result(req)
	}
	return &sdk.ClassifyResponse{Results: make([]sdk.Result, len(req.Records))}, nil
}

func (r *recording) Shutdown(context.Context) error {
	r.shut = true
	return nil
}

func TestRecordsArriveIntact(t *testing.T) {
	rec := &recording{}
	c := sdktest.Serve(t, sdk.Plugin{Name: "rec", Classifier: rec})
	if err := c.Init(t.Context(), map[string]any{"prefix": "p"}); err != nil {
		t.Fatal(err)
	}
	if rec.cfg.Prefix != "p" || rec.init.Stage != "sdktest" || rec.init.Instances != 1 {
		t.Errorf("Init got config %+v, request %+v", rec.cfg, rec.init)
	}
	hdr := sdk.NewHeader([]string{"id", "name"})
	in := []sdk.Record{
		{Kind: sdk.CSV, Data: []byte("1,a"), Header: hdr, Fields: []string{"1", "a"}, Source: sdk.Position{File: "x.csv", Offset: 3, Line: 2, Ordinal: 1}},
		{Kind: sdk.XML, Data: []byte("<r/>"), Source: sdk.Position{File: "y.xml", Offset: 9, Ordinal: 4}, Category: "c", Labels: map[string]string{"k": "v"}},
		{Kind: sdk.JSON, Data: []byte(`{}`)},
		{Kind: sdk.CSV, Data: []byte("x;y"), Header: sdk.NewHeader([]string{"a", "b"}), Fields: []string{"x", "y"}, Source: sdk.Position{File: "z.csv"}},
		{Kind: sdk.CSV, Data: []byte("2,b"), Header: hdr, Fields: []string{"2", "b"}, Source: sdk.Position{File: "x.csv", Offset: 7, Line: 3, Ordinal: 2}},
	}
	if _, err := c.Classify(t.Context(), in); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(in, rec.got, cmp.AllowUnexported(sdk.Header{}), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("records changed on the way: (-sent +received)\n%s", diff)
	}
	if v, ok := rec.got[0].Field("name"); !ok || v != "a" {
		t.Errorf("Field(name) = %q, %v", v, ok)
	}
	if err := c.Shutdown(t.Context()); err != nil || !rec.shut {
		t.Errorf("Shutdown: %v, called: %v", err, rec.shut)
	}
}

func TestServerErrors(t *testing.T) {
	tests := []struct {
		name   string
		result func(*sdk.ClassifyRequest) (*sdk.ClassifyResponse, error)
		want   string
	}{
		{"batch error", func(*sdk.ClassifyRequest) (*sdk.ClassifyResponse, error) { return nil, errors.New("index closed") }, "index closed"},
		{"too few results", func(*sdk.ClassifyRequest) (*sdk.ClassifyResponse, error) {
			return &sdk.ClassifyResponse{Results: []sdk.Result{{}}}, nil
		}, "returned 1 results for 2 records"},
		{"nil response", func(*sdk.ClassifyRequest) (*sdk.ClassifyResponse, error) { return nil, nil }, "returned 0 results for 2 records"},
		{"empty error message", func(*sdk.ClassifyRequest) (*sdk.ClassifyResponse, error) { return nil, errors.New("") }, "empty message"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := sdktest.Serve(t, sdk.Plugin{Name: "e", Classifier: &recording{result: tt.result}})
			if err := c.Init(t.Context(), nil); err != nil {
				t.Fatal(err)
			}
			got, err := c.Classify(t.Context(), lines("a", "b"))
			if err != nil {
				t.Fatal(err)
			}
			for i, r := range got {
				if r.Err == nil || !strings.Contains(r.Err.Error(), tt.want) {
					t.Errorf("record %d: got %v, want an error containing %q", i, r.Err, tt.want)
				}
			}
		})
	}
}

func TestInitContract(t *testing.T) {
	t.Run("unknown config key", func(t *testing.T) {
		c := sdktest.Serve(t, sdk.Plugin{Name: "r", Classifier: &recording{}})
		err := c.Init(t.Context(), map[string]any{"prefx": "p"})
		var ie *sdktest.InitError
		if !errors.As(err, &ie) || ie.Message != `config: prefx: unknown key` || ie.Key != "prefx" {
			t.Errorf("Init: got %v, want an InitError about the unknown key", err)
		}
	})
	t.Run("twice", func(t *testing.T) {
		c := sdktest.Serve(t, sdk.Plugin{Name: "r", Classifier: &recording{}})
		if err := c.Init(t.Context(), nil); err != nil {
			t.Fatal(err)
		}
		if err := c.Init(t.Context(), nil); err == nil || !strings.Contains(err.Error(), "twice") {
			t.Errorf("second Init: got %v", err)
		}
	})
	t.Run("classify before init", func(t *testing.T) {
		c := sdktest.Serve(t, sdk.Plugin{Name: "r", Classifier: &recording{}})
		got, err := c.Classify(t.Context(), lines("a"))
		if err != nil {
			t.Fatal(err)
		}
		if got[0].Err == nil || !strings.Contains(got[0].Err.Error(), "before a successful Init") {
			t.Errorf("got %v", got[0].Err)
		}
	})
}

// TestConcurrency checks that Classify is never called concurrently by
// default, and that Plugin.Concurrency allows it.
func TestConcurrency(t *testing.T) {
	for _, n := range []int{0, 1, 4} {
		t.Run("Concurrency="+string(rune('0'+n)), func(t *testing.T) {
			var now, peak atomic.Int32
			cl := sdk.ClassifierFunc(func(_ context.Context, req *sdk.ClassifyRequest) (*sdk.ClassifyResponse, error) {
				cur := now.Add(1)
				for {
					p := peak.Load()
					if cur <= p || peak.CompareAndSwap(p, cur) {
						break
					}
				}
				time.Sleep(20 * time.Millisecond)
				now.Add(-1)
				return &sdk.ClassifyResponse{Results: make([]sdk.Result, len(req.Records))}, nil
			})
			c := sdktest.Serve(t, sdk.Plugin{Name: "c", Classifier: cl, Concurrency: n})
			batches := make([][]sdk.Record, 8)
			for i := range batches {
				batches[i] = lines("x")
			}
			if _, err := c.ClassifyBatches(t.Context(), batches); err != nil {
				t.Fatal(err)
			}
			limit := int32(max(n, 1))
			if got := peak.Load(); got > limit {
				t.Errorf("%d Classify calls ran at once, want at most %d", got, limit)
			}
			if n > 1 && peak.Load() < 2 {
				t.Errorf("Concurrency=%d but calls never overlapped", n)
			}
		})
	}
}

func TestInvalidPlugin(t *testing.T) {
	if _, err := sdktest.Start(sdk.Plugin{}); err == nil || !strings.Contains(err.Error(), "Plugin.Name is empty") || !strings.Contains(err.Error(), "Plugin.Classifier is nil") {
		t.Errorf("Start of an empty Plugin: got %v", err)
	}
}

func TestConformanceOfRecordFunc(t *testing.T) {
	sdktest.Conformance(t, sdk.Plugin{Name: "upper", Classifier: sdk.RecordFunc(upper)}, sdktest.Options{
		Records: lines("a", "b", "bad", "d"),
	})
}

func TestPosition(t *testing.T) {
	tests := []struct {
		p    sdk.Position
		want string
	}{
		{sdk.Position{File: "a.xml", Line: 3, Ordinal: 2, Offset: 40}, "a.xml:3 (record 2, byte 40)"},
		{sdk.Position{File: "a.xml", Offset: 40}, "a.xml (byte 40)"},
		{sdk.Position{File: "a.xml"}, "a.xml"},
	}
	for _, tt := range tests {
		if got := tt.p.String(); got != tt.want {
			t.Errorf("%+v: got %q, want %q", tt.p, got, tt.want)
		}
	}
}
