package count

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sluicehq/sluice/engine"
	"github.com/sluicehq/sluice/stage"
	"github.com/sluicehq/sluice/stage/stagetest"
	"github.com/sluicehq/sluice/stages/internal/catalogtest"
	"github.com/sluicehq/sluice/stages/internal/recexpr"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func mustBuild(t testing.TB, o *Options) *Stage {
	t.Helper()
	s, err := Kind().Build(o)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return s.(*Stage)
}

func TestBuildErrors(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want []string
	}{
		{"nothing to count", Options{Output: "o.json"}, []string{"by: nothing to count: set by"}},
		{"no output", Options{By: []string{"category"}}, []string{"output: required"}},
		{"bad extension", Options{By: []string{"category"}, Output: "out/c.txt"}, []string{`output: "out/c.txt": the name must end in .json, .jsonl or .csv`}},
		{"aggregate", Options{By: []string{"category"}, Output: "c.csv", Aggregate: []Aggregate{
			{Name: "count", Fn: "sum", Value: "1"},
			{Name: "category", Fn: "avg", Value: "1"},
			{Name: "x", Fn: "sum", Value: "(", Limit: 3},
			{Name: "x", Fn: "distinct", Value: "1", Limit: -1},
			{Fn: "max", Value: `texts("a")`},
		}}, []string{
			`aggregate[0].name: "count" is taken`,
			`aggregate[1].name: "category" is taken`,
			`aggregate[1].fn: "avg": expected one of sum, min, max, mean, distinct`,
			`aggregate[2].limit: only distinct takes a limit`,
			`aggregate[2].value:`,
			`aggregate[3].name: "x" is taken`,
			`aggregate[3].limit: must be 0`,
			`aggregate[4].name: required`,
		}},
		{"aggregate without by", Options{Attributes: true, Output: "c.csv", Aggregate: []Aggregate{{Name: "n", Fn: "sum", Value: "1"}}},
			[]string{"aggregate: aggregates are computed per group of by keys"}},
		{"exclude without attributes", Options{By: []string{"category"}, Output: "c.csv", Exclude: []string{"id"}, Only: []string{"x"}},
			[]string{"exclude: chooses the names", "only: chooses the names"}},
		{"negative top", Options{By: []string{"category"}, Output: "c.csv", Top: -1}, []string{"top: must be 0"}},
		{"bad key", Options{By: []string{"category", `attr(`}, Output: "c.csv"}, []string{"by[1]: unexpected token EOF"}},
		{"key type", Options{By: []string{`texts("a")`}, Output: "c.csv"}, []string{"by[0]: expression gives a list, want a string"}},
		{"names", Options{By: []string{"category"}, Names: []string{"a", "b"}, Output: "c.csv"}, []string{"names: 2 names for 1 by keys"}},
		{"all at once", Options{By: []string{"(", ")"}, Top: -2}, []string{"by[0]:", "by[1]:", "output: required", "top:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Kind().Build(&tt.opts)
			if err == nil {
				t.Fatal("Build succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestSignature(t *testing.T) {
	for _, tt := range []struct {
		opts Options
		in   stage.Type
	}{
		{Options{By: []string{"category"}, Output: "a.json"}, stage.Records},
		{Options{Attributes: true, Output: "a.json"}, stage.XML},
	} {
		sig := mustBuild(t, &tt.opts).Signature()
		if sig.In != tt.in || sig.Out != stage.None || !sig.Terminal {
			t.Errorf("%+v: signature %+v", tt.opts, sig)
		}
	}
}

// run counts records with the stage split over several accumulators,
// merged as the runner merges them, and returns the committed output.
func run(t *testing.T, o Options, records []stage.Record, workers int) []byte {
	t.Helper()
	o.Output = filepath.Join(t.TempDir(), "sub", "dir", filepath.Base(o.Output))
	s := mustBuild(t, &o)
	ctx := context.Background()
	if err := s.Setup(ctx, stage.Env{}); err != nil {
		t.Fatal(err)
	}
	accs := make([]stage.Accumulator, workers)
	for i := range accs {
		accs[i] = s.NewAccumulator()
	}
	for i := range records {
		if err := accs[i%workers].Add(ctx, &records[i]); err != nil {
			t.Fatalf("Add: %v", err)
		}
	}
	for _, a := range accs[1:] {
		if err := accs[0].Merge(a); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Finish(ctx, accs[0], &stagetest.Emitter{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(o.Output); !os.IsNotExist(err) {
		t.Fatalf("output exists before Commit (%v)", err)
	}
	if err := engine.Commit(ctx, s); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(o.Output)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := mode(t, o.Output), mode(t, created(t)); got != want {
		t.Errorf("output mode %v, want %v as os.Create gives", got, want)
	}
	outs := s.Outputs()
	if len(outs) != 1 || outs[0].Path != o.Output || outs[0].Bytes != int64(len(data)) {
		t.Errorf("Outputs() = %+v, want the file and its %d bytes", outs, len(data))
	}
	entries, _ := os.ReadDir(filepath.Dir(o.Output))
	if len(entries) != 1 {
		t.Errorf("output directory holds %d files, want only the output", len(entries))
	}
	return data
}

// TestAttributesAgainstReference counts a generated catalogue's attributes
// with four merged accumulators and compares with an independent
// encoding/xml walk over the whole document.
func TestAttributesAgainstReference(t *testing.T) {
	doc := catalogtest.Document(300, 11)
	records := catalogtest.Records(t, doc, "cat.xml")
	wantAttrs, wantRecords := referenceCounts(t, doc)

	t.Run("all records", func(t *testing.T) {
		out := run(t, Options{Attributes: true, Output: "a.json"}, records, 4)
		var got struct {
			Records    int64
			Attributes map[string]map[string]map[string]int64
		}
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatal(err)
		}
		if got.Records != int64(len(records)) {
			t.Errorf("records = %d, want %d", got.Records, len(records))
		}
		total := int64(0)
		for _, n := range wantRecords {
			total += n
		}
		if total != got.Records {
			t.Errorf("reference counted %d records, stage %d", total, got.Records)
		}
		if diff := cmp.Diff(sum(wantAttrs), got.Attributes); diff != "" {
			t.Errorf("attribute counts (-reference +stage):\n%s", diff)
		}
		for _, name := range []string{"{" + catalogtest.X + "}flag", "{http://www.w3.org/XML/1998/namespace}lang", "{" + catalogtest.DC + "}kind"} {
			if !strings.Contains(string(out), name) {
				t.Errorf("no %s in the output: the corpus does not exercise it", name)
			}
		}
		if strings.Contains(string(out), `"xmlns`) {
			t.Error("a namespace declaration was counted as an attribute")
		}
	})
	// exclude and only leave attributes out of the counts as the
	// reference, filtered by name after the fact, does.
	for _, tt := range []struct {
		name          string
		exclude, only []string
		keep          func(e, a string) bool
	}{
		{"exclude", []string{"id", "subject", "author@key"}, nil, func(e, a string) bool {
			return a != "id" && e != "subject" && !(e == "author" && a == "key")
		}},
		{"only", nil, []string{"subject", "role", "record@lang"}, func(e, a string) bool {
			return e == "subject" || a == "role" || e == "record" && a == "lang"
		}},
		{"only and exclude", []string{"code"}, []string{"subject"}, func(e, a string) bool {
			return e == "subject" && a != "code"
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out := run(t, Options{Attributes: true, Exclude: tt.exclude, Only: tt.only, Output: "a.json"}, records, 3)
			var got struct {
				Records    int64
				Attributes map[string]map[string]map[string]int64
			}
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatal(err)
			}
			want := attrCounts{}
			for e, attrs := range sum(wantAttrs) {
				for a, vals := range attrs {
					if tt.keep(e, a) {
						if want[e] == nil {
							want[e] = map[string]map[string]int64{}
						}
						want[e][a] = vals
					}
				}
			}
			if len(want) == 0 || got.Records != int64(len(records)) {
				t.Fatalf("reference keeps nothing (%d elements) or records = %d", len(want), got.Records)
			}
			if diff := cmp.Diff(want, got.Attributes); diff != "" {
				t.Errorf("attribute counts (-reference +stage):\n%s", diff)
			}
		})
	}
	t.Run("by type", func(t *testing.T) {
		out := run(t, Options{Attributes: true, By: []string{`attr("type") ?? "unknown"`}, Output: "a.json"}, records, 3)
		var got map[string]struct {
			Records    int64
			Attributes map[string]map[string]map[string]int64
		}
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatal(err)
		}
		if len(got) != len(wantAttrs) {
			t.Errorf("%d groups, want %d", len(got), len(wantAttrs))
		}
		for typ, want := range wantAttrs {
			if got[typ].Records != wantRecords[typ] {
				t.Errorf("%s: records = %d, want %d", typ, got[typ].Records, wantRecords[typ])
			}
			if diff := cmp.Diff(want, got[typ].Attributes); diff != "" {
				t.Errorf("%s: attribute counts (-reference +stage):\n%s", typ, diff)
			}
		}
	})
}

func mode(t *testing.T, path string) os.FileMode {
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

func created(t *testing.T) string {
	f, err := os.Create(filepath.Join(t.TempDir(), "reference"))
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	return f.Name()
}

type attrCounts = map[string]map[string]map[string]int64

// referenceCounts walks the whole document with encoding/xml's own
// namespace handling and counts (element, attribute, value) in every
// record, per record type.
func referenceCounts(t *testing.T, doc []byte) (map[string]attrCounts, map[string]int64) {
	d := xml.NewDecoder(bytes.NewReader(doc))
	byType := map[string]attrCounts{}
	records := map[string]int64{}
	depth := 0
	var cur attrCounts
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return byType, records
		}
		if err != nil {
			t.Fatal(err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			depth++
			if depth == 2 && tok.Name.Local == "record" {
				typ := "unknown"
				for _, a := range tok.Attr {
					if a.Name == (xml.Name{Local: "type"}) {
						typ = a.Value
					}
				}
				records[typ]++
				if byType[typ] == nil {
					byType[typ] = attrCounts{}
				}
				cur = byType[typ]
			}
			if depth < 2 || cur == nil {
				continue
			}
			for _, a := range tok.Attr {
				if a.Name.Space == "xmlns" || a.Name == (xml.Name{Local: "xmlns"}) {
					continue
				}
				e, n := clark(tok.Name), clark(a.Name)
				if cur[e] == nil {
					cur[e] = map[string]map[string]int64{}
				}
				if cur[e][n] == nil {
					cur[e][n] = map[string]int64{}
				}
				cur[e][n][a.Value]++
			}
		case xml.EndElement:
			if depth == 2 {
				cur = nil
			}
			depth--
		}
	}
}

func clark(n xml.Name) string {
	if n.Space == "" {
		return n.Local
	}
	return "{" + n.Space + "}" + n.Local
}

func sum(by map[string]attrCounts) attrCounts {
	out := attrCounts{}
	for _, c := range by {
		for e, attrs := range c {
			if out[e] == nil {
				out[e] = map[string]map[string]int64{}
			}
			for a, vals := range attrs {
				if out[e][a] == nil {
					out[e][a] = map[string]int64{}
				}
				for v, n := range vals {
					out[e][a][v] += n
				}
			}
		}
	}
	return out
}

// goldenRecords is a small fixed input: XML with namespaces and a record
// without attributes, and awkward key values.
func goldenRecords() []stage.Record {
	xmlRec := func(cat, data string) stage.Record {
		return stage.Record{Type: stage.XML, Category: cat, Data: []byte(data)}
	}
	return []stage.Record{
		xmlRec("book/plain", `<record type="book" lang="en"><title xml:lang="en">A</title></record>`),
		xmlRec("book/plain", `<record type="book" lang="en"><title>B</title></record>`),
		xmlRec("book/plain", `<record type="book" lang="fr"><title>C</title></record>`),
		xmlRec("book/numbered", `<record xmlns:dc="http://purl.org/dc/elements/1.1/" type="book" lang="de"><dc:rights dc:kind="cc">x</dc:rights></record>`),
		xmlRec("map/plain", `<record type="map" lang="en"><a k="1"/><a k="1"/><a k="2"/></record>`),
		xmlRec("map/plain", `<record type="map" lang="ja"><a k="3"/></record>`),
		xmlRec(`odd "quoted", key`, `<record type="a&quot;b" lang="en,fr"/>`),
		xmlRec("bare", `<record/>`),
	}
}

func TestGolden(t *testing.T) {
	by2 := []string{"category", `attr("lang") ?? "none"`}
	tests := []struct {
		name string
		opts Options
	}{
		{"keyed.json", Options{By: by2}},
		{"keyed.csv", Options{By: by2, Names: []string{"category", "lang"}}},
		{"keyed_top1.json", Options{By: by2, Top: 1}},
		{"keyed_one_top2.csv", Options{By: []string{"category"}, Top: 2}},
		{"attributes.json", Options{Attributes: true}},
		{"attributes.csv", Options{Attributes: true}},
		{"attributes_by.json", Options{Attributes: true, By: []string{"category"}}},
		{"attributes_by_top1.csv", Options{Attributes: true, By: []string{"category"}, Top: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Output = tt.name
			got := run(t, tt.opts, goldenRecords(), 3)
			golden := filepath.Join("testdata", tt.name+".golden")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("output differs from %s (-want +got):\n%s", golden, diff)
			}
			if strings.HasSuffix(tt.name, ".json") && !json.Valid(got) {
				t.Error("output is not valid JSON")
			}
		})
	}
}

func TestTopTies(t *testing.T) {
	c := newCounter()
	add := func(n int64, parts ...string) {
		var b []byte
		for _, p := range parts {
			b = appendPart(b, p)
		}
		c.add(b, n)
	}
	add(5, "g1", "b")
	add(5, "g1", "a")
	add(5, "g1", "c")
	add(9, "g1", "z")
	add(1, "g1", "y")
	add(2, "g0", "x")
	add(2, "g0", "w")
	add(7, "g2", "only")
	tests := []struct {
		top  int
		want []string
	}{
		{0, []string{"g0 w 2", "g0 x 2", "g1 a 5", "g1 b 5", "g1 c 5", "g1 y 1", "g1 z 9", "g2 only 7"}},
		{1, []string{"g0 w 2", "g1 z 9", "g2 only 7"}},
		{2, []string{"g0 w 2", "g0 x 2", "g1 z 9", "g1 a 5", "g2 only 7"}},
		{3, []string{"g0 w 2", "g0 x 2", "g1 z 9", "g1 a 5", "g1 b 5", "g2 only 7"}},
		{10, []string{"g0 w 2", "g0 x 2", "g1 z 9", "g1 a 5", "g1 b 5", "g1 c 5", "g1 y 1", "g2 only 7"}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint("top ", tt.top), func(t *testing.T) {
			var got []string
			for _, off := range sortedEntries(&c, tt.top) {
				parts, n := c.entry(off, nil)
				got = append(got, fmt.Sprintf("%s %s %d", parts[0], parts[1], n))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestRecordErrors(t *testing.T) {
	pos := stage.Position{File: "c.xml", Line: 9, Ordinal: 4, Offset: 300}
	good := stage.Record{Type: stage.XML, Data: []byte(`<r type="t" a="1" k="v"/>`)}
	tests := []struct {
		name string
		opts Options
		bad  stage.Record
		want string
	}{
		{"nil key", Options{By: []string{`attr("k")`}},
			stage.Record{Type: stage.XML, Source: pos, Data: []byte(`<r/>`)},
			`record c.xml:9 (record 4, byte 300): by[0]: evaluated to nil (a missing attribute, label or JSON value); give a default with ??, as in attr("type") ?? "unknown"`},
		{"malformed", Options{Attributes: true, By: []string{`attr("type") ?? "none"`}},
			stage.Record{Type: stage.XML, Source: pos, Data: []byte("<r type=\"t\" a=\"2\">\n<x></r>")},
			"record c.xml:9 (record 4, byte 300): attributes: malformed XML at file line 10 (line 2, byte 22 of the record): element <x> closed by </r>"},
		// A record split checked skips the character checks, not the rest.
		{"malformed, checked", Options{Attributes: true, By: []string{`attr("type") ?? "none"`}},
			stage.Record{Type: stage.XML, Checked: true, Source: pos, Data: []byte("<r type=\"t\" a=\"2\">\n<x></r>")},
			"record c.xml:9 (record 4, byte 300): attributes: malformed XML at file line 10 (line 2, byte 22 of the record): element <x> closed by </r>"},
		// A record that did not come from split is checked in full.
		{"illegal character", Options{Attributes: true},
			stage.Record{Type: stage.XML, Source: pos, Data: []byte("<r type=\"t\" a=\"2\">\x01</r>")},
			"record c.xml:9 (record 4, byte 300): attributes: malformed XML at file line 9 (line 1, byte 18 of the record): illegal character code U+0001"},
		{"not xml", Options{Attributes: true},
			stage.Record{Type: stage.CSV, Source: pos},
			"record c.xml:9 (record 4, byte 300): attributes: reads xml records, and this is a csv record"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Output = filepath.Join(t.TempDir(), "c.csv")
			s := mustBuild(t, &tt.opts)
			res, err := stagetest.Run(context.Background(), s, []stage.Record{good, tt.bad, good}, stagetest.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Rejected) != 1 {
				t.Fatalf("rejected %d records, want 1", len(res.Rejected))
			}
			rej := res.Rejected[0]
			if got := rej.Err.Error(); got != tt.want {
				t.Errorf("error\n%s\nwant\n%s", got, tt.want)
			}
			var ee *recexpr.Error
			if !errors.As(rej.Err, &ee) || stage.IsFatal(rej.Err) {
				t.Errorf("error %#v: want a per-record *recexpr.Error", rej.Err)
			}
			out, err := os.ReadFile(tt.opts.Output)
			if err != nil {
				t.Fatal(err)
			}
			// Only the two good records are counted: the bad one added
			// nothing, not even its group's record count.
			if !strings.Contains(string(out), ",2\n") || strings.Contains(string(out), ",3\n") || strings.Contains(string(out), "\"2\"") {
				t.Errorf("output counts the rejected record:\n%s", out)
			}
			if note := s.Outputs()[0].Note; !strings.HasSuffix(note, " from 2 records") {
				t.Errorf("Outputs().Note = %q, want it to end in \" from 2 records\"", note)
			}

			_, err = stagetest.Run(context.Background(), mustBuild(t, &tt.opts), []stage.Record{tt.bad}, stagetest.Options{FailOnReject: true})
			if err == nil {
				t.Error("fail policy: the run succeeded")
			}
		})
	}
}

func TestAbort(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "c.json")
	s := mustBuild(t, &Options{By: []string{"category"}, Output: out})
	_, err := stagetest.Run(context.Background(), s, []stage.Record{{Type: stage.Line, Category: "a"}}, stagetest.Options{NoCommit: true})
	if err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Errorf("after Abort the directory holds %v", entries)
	}
	if s.Outputs() != nil {
		t.Errorf("Outputs() = %v after Abort", s.Outputs())
	}
}

func TestSetupFails(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	s := mustBuild(t, &Options{By: []string{"category"}, Output: filepath.Join(blocker, "c.json")})
	err := s.Setup(context.Background(), stage.Env{})
	if err == nil || !strings.Contains(err.Error(), "c.json") {
		t.Errorf("Setup = %v, want an error naming the output", err)
	}
}

func TestEmptyInput(t *testing.T) {
	for name, want := range map[string]string{
		"keyed.json":      "{}\n",
		"keyed.csv":       "category,count\n",
		"attributes.json": "{\n  \"records\": 0,\n  \"attributes\": {}\n}\n",
	} {
		t.Run(name, func(t *testing.T) {
			o := Options{Output: name}
			if strings.HasPrefix(name, "keyed") {
				o.By = []string{"category"}
			} else {
				o.Attributes = true
			}
			if got := string(run(t, o, nil, 2)); got != want {
				t.Errorf("got %q, want %q", got, want)
			}
		})
	}
}

func TestMergeOtherStage(t *testing.T) {
	a := mustBuild(t, &Options{By: []string{"category"}, Output: "a.json"})
	b := mustBuild(t, &Options{By: []string{"category"}, Output: "b.json"})
	if err := a.NewAccumulator().Merge(b.NewAccumulator()); err == nil {
		t.Error("merged accumulators of two stages")
	}
}

// TestExistingKeysDoNotAllocate checks the hot path: counting a record
// whose keys are all known allocates nothing in the map update.
func TestExistingKeysDoNotAllocate(t *testing.T) {
	s := mustBuild(t, &Options{Attributes: true, By: []string{"category"}, Output: "a.json"})
	a := s.NewAccumulator().(*accumulator)
	r := catalogtest.Records(t, catalogtest.Document(1, 1), "c.xml")[0]
	if err := a.Add(context.Background(), &r); err != nil {
		t.Fatal(err)
	}
	a.ev.Reset(&r)
	tree, err := a.ev.Tree("attributes")
	if err != nil {
		t.Fatal(err)
	}
	a.buf = appendPart(a.buf[:0], "cat")
	a.addTree(len(a.buf), tree)
	allocs := testing.AllocsPerRun(100, func() {
		a.groups.add(a.buf, 1)
		a.addTree(len(a.buf), tree)
	})
	if allocs != 0 {
		t.Errorf("counting known keys allocates %v times per record, want 0", allocs)
	}
}

func TestJSONString(t *testing.T) {
	for _, s := range []string{"plain", `q"uo\te`, "tab\tnl\nret\r", "\x00\x1f\x7f", "é東京", "bad\xffutf8", "\u2028"} {
		b := appendJSONString(nil, s)
		var back string
		if err := json.Unmarshal(b, &back); err != nil {
			t.Errorf("%q encodes to invalid JSON %s: %v", s, b, err)
			continue
		}
		if want := string([]rune(s)); back != want { // one U+FFFD per invalid byte
			t.Errorf("%q round-trips to %q", s, back)
		}
	}
}

func FuzzJSONString(f *testing.F) {
	for _, s := range []string{"", "a", `"\`, "\x00", "é", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := appendJSONString(nil, s)
		var back string
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("%q encodes to invalid JSON %s: %v", s, b, err)
		}
		if want := string([]rune(s)); back != want { // one U+FFFD per invalid byte
			t.Fatalf("%q round-trips to %q", s, back)
		}
	})
}

func TestKeyEncoding(t *testing.T) {
	parts := []string{"", "a", strings.Repeat("x", 300), "\x00\xff", "{u}l", "\x00", "a\x00\x01b\x00"}
	var b []byte
	for _, p := range parts {
		b = appendPart(b, p)
	}
	got := splitParts(string(b), make([]string, 0, len(parts)))
	if diff := cmp.Diff(parts, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestKeyOrder checks that encoded keys compare byte by byte as their
// tuples compare part by part, which the output's sort relies on, and
// that counts of equal keys add up whatever the table's growth.
func TestKeyOrder(t *testing.T) {
	alphabet := []string{"", "\x00", "\x01", "\xff", "a", "ab", "a\x00", "b", "\x00\x01"}
	var tuples [][]string
	for _, a := range alphabet {
		for _, b := range alphabet {
			tuples = append(tuples, []string{a, b})
		}
	}
	enc := func(tu []string) []byte {
		var b []byte
		for _, p := range tu {
			b = appendPart(b, p)
		}
		return b
	}
	for _, x := range tuples {
		for _, y := range tuples {
			want := slices.Compare(x, y)
			if got := bytes.Compare(enc(x), enc(y)); got != want {
				t.Fatalf("%q vs %q: encoded keys compare %d, tuples %d", x, y, got, want)
			}
		}
		if k := enc(x); !bytes.Equal(k[:lastPart(k)], enc(x[:1])) {
			t.Fatalf("%q: lastPart gives %q, want the first part's encoding", x, k[:lastPart(k)])
		}
	}
	var c counter
	for round := range 3 {
		for i := range 5000 {
			c.add(enc([]string{"k", strconv.Itoa(i)}), int64(round+1))
		}
	}
	if c.len() != 5000 {
		t.Fatalf("%d distinct keys, want 5000", c.len())
	}
	for _, off := range c.offsets() {
		if n := c.countAt(off); n != 6 {
			t.Fatalf("key %q counted %d, want 6", c.keyAt(off), n)
		}
	}
}

// TestSortedOffsetsLarge sorts a counter large enough to be sorted in
// pieces on several goroutines, with keys that share their first 16 bytes
// (compared in the arena) and keys that differ there (compared as
// integers).
func TestSortedOffsetsLarge(t *testing.T) {
	smallPieces(t)
	var c counter
	var keys []string
	for i := range 20*minRun + 7 {
		k := fmt.Sprintf("%d", i*7919%100003)
		if i%3 == 0 {
			k = "a-long-shared-prefix/" + k
		}
		c.add([]byte(k), 1)
		keys = append(keys, k)
	}
	slices.Sort(keys)
	offs := c.sortedOffsets()
	if len(offs) != len(keys) {
		t.Fatalf("%d offsets for %d keys", len(offs), len(keys))
	}
	for i, off := range offs {
		if got := string(c.keyAt(off)); got != keys[i] {
			t.Fatalf("key %d is %q, want %q", i, got, keys[i])
		}
	}
}
