package classify

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"io"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sluicehq/sluice/stage"
	"github.com/sluicehq/sluice/stage/stagetest"
	"github.com/sluicehq/sluice/stages/internal/catalogtest"
	"github.com/sluicehq/sluice/stages/internal/recexpr"
)

const w1 = `(attr("type") ?? "unknown") + (text("title") matches "[0-9]" ? "/numbered" : "/plain")`

func mustBuild(t testing.TB, o *Options) *Rules {
	t.Helper()
	s, err := Kind().Build(o)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return s.(*Rules)
}

func TestBuildErrors(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want []string // every fragment must appear
	}{
		{"no rules", Options{}, []string{"rules: required"}},
		{"neither", Options{Rules: []Rule{{When: "true"}}}, []string{"rules[0]: set category (a literal) or expr"}},
		{"both", Options{Rules: []Rule{{Category: "a", Expr: `"b"`}}}, []string{"rules[0]: set category or expr, not both"}},
		{"when syntax", Options{Rules: []Rule{{Category: "a"}, {When: `attr("x") ==`, Category: "b"}}}, []string{"rules[1].when: unexpected token EOF"}},
		{"when type", Options{Rules: []Rule{{When: `text("a")`, Category: "b"}}}, []string{"rules[0].when: expression gives a string, want true or false"}},
		{"expr type", Options{Rules: []Rule{{Expr: `texts("a")`}}}, []string{"rules[0].expr: expression gives a list, want a string"}},
		{"label", Options{Rules: []Rule{{Category: "a"}}, Labels: map[string]string{"lang": `atr("lang")`}}, []string{"labels.lang: unknown name atr (did you mean attr?)"}},
		{"every error at once",
			Options{Rules: []Rule{{When: "(", Category: "a"}, {Expr: "1 +"}}, Labels: map[string]string{"a": ")", "": `"x"`}},
			[]string{"rules[0].when:", "rules[1].expr:", "labels.a:", "labels: a label needs a name"}},
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

func TestProcess(t *testing.T) {
	hdr := stage.NewHeader([]string{"id", "lang"})
	xmlRec := func(s string) stage.Record {
		return stage.Record{Type: stage.XML, Data: []byte(s), Source: stage.Position{File: "c.xml", Line: 3, Ordinal: 1}}
	}
	opts := Options{
		Rules: []Rule{
			{When: `kind == "xml" && attr("type") == "map"`, Category: "maps"},
			{When: `kind == "xml"`, Expr: w1},
			{When: `kind == "csv"`, Expr: `"csv/" + field("lang")`},
			{When: `kind == "json" && json("n") > 10`, Expr: `"big/" + json("tag")`},
			{When: `kind == "line" && line startsWith "#"`, Category: "comment"},
		},
		Default: "other",
		Labels:  map[string]string{"cat": "category", "from": `file + ":" + string(ordinal)`},
	}
	tests := []struct {
		name string
		in   stage.Record
		cat  string
	}{
		{"literal", xmlRec(`<record type="map"><title>x 1</title></record>`), "maps"},
		{"w1 numbered", xmlRec(`<record type="book"><title>Vol <i>2</i></title></record>`), "book/numbered"},
		{"w1 plain", xmlRec(`<record type="book"><title>Vol II</title></record>`), "book/plain"},
		{"w1 no type", xmlRec(`<record><title>x</title></record>`), "unknown/plain"},
		{"w1 no title", xmlRec(`<record type="a"/>`), "a/plain"},
		{"w1 non-ASCII digit", xmlRec(`<record type="a"><title>٣</title></record>`), "a/plain"},
		{"csv", stage.Record{Type: stage.CSV, Header: hdr, Fields: []string{"1", "fr"}, Source: stage.Position{File: "c.csv", Ordinal: 1}}, "csv/fr"},
		{"json", stage.Record{Type: stage.JSON, Data: []byte(`{"n": 11, "tag": "t"}`), Source: stage.Position{File: "c.json", Ordinal: 1}}, "big/t"},
		{"json default", stage.Record{Type: stage.JSON, Data: []byte(`{"n": 1}`), Source: stage.Position{File: "c.json", Ordinal: 1}}, "other"},
		{"line", stage.Record{Type: stage.Line, Data: []byte("# hi"), Source: stage.Position{File: "l.txt", Ordinal: 1}}, "comment"},
		{"line default", stage.Record{Type: stage.Line, Data: []byte("hi"), Source: stage.Position{File: "l.txt", Ordinal: 1}}, "other"},
	}
	s := mustBuild(t, &opts)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := stagetest.Run(context.Background(), s, []stage.Record{tt.in}, stagetest.Options{FailOnReject: true})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Records) != 1 {
				t.Fatalf("emitted %d records", len(res.Records))
			}
			got := res.Records[0]
			if got.Category != tt.cat {
				t.Errorf("category %q, want %q", got.Category, tt.cat)
			}
			want := map[string]string{"cat": tt.cat, "from": tt.in.Source.File + ":1"}
			if diff := cmp.Diff(want, got.Labels); diff != "" {
				t.Errorf("labels (-want +got):\n%s", diff)
			}
			if !bytes.Equal(got.Data, tt.in.Data) || got.Source != tt.in.Source || got.Type != tt.in.Type {
				t.Error("the record was not passed through unchanged")
			}
		})
	}
}

func TestInputIsNotModified(t *testing.T) {
	s := mustBuild(t, &Options{Rules: []Rule{{Category: "new"}}, Labels: map[string]string{"k": `"v"`}})
	in := stage.Record{Type: stage.Line, Data: []byte("x"), Category: "old", Labels: map[string]string{"keep": "1"}}
	res, err := stagetest.Run(context.Background(), s, []stage.Record{in}, stagetest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if in.Category != "old" || len(in.Labels) != 1 {
		t.Errorf("input changed: %+v", in)
	}
	if diff := cmp.Diff(map[string]string{"keep": "1", "k": "v"}, res.Records[0].Labels); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
}

func TestRecordErrors(t *testing.T) {
	pos := stage.Position{File: "c.xml", Line: 40, Ordinal: 12, Offset: 7000}
	tests := []struct {
		name string
		opts Options
		in   stage.Record
		want string
		good stage.Record // a record that passes, in the same run
	}{
		{"malformed", Options{Rules: []Rule{{Expr: w1}}},
			// The rule reads the record up to the end of its title (text()
			// reads no further, as attr() reads only the root tag), so
			// the malformation is in the title.
			stage.Record{Type: stage.XML, Source: pos, Data: []byte("<record type=\"a\">\n<n/>\n<title><x>1</y></title></record>")},
			"record c.xml:40 (record 12, byte 7000): rules[0].expr: malformed XML at file line 42 (line 3, byte 34 of the record): element <x> closed by </y>",
			stage.Record{Type: stage.XML, Data: []byte(`<record type="a"><title>t</title></record>`)}},
		{"wrong kind", Options{Rules: []Rule{{When: `attr("type") == "a"`, Category: "a"}}},
			stage.Record{Type: stage.CSV, Source: pos, Header: stage.NewHeader([]string{"a"}), Fields: []string{"1"}},
			`record c.xml:40 (record 12, byte 7000): rules[0].when (column 1): attr() reads xml records, and this is a csv record (guard the rule with kind == "xml")`,
			stage.Record{Type: stage.XML, Data: []byte(`<r type="a"/>`)}},
		{"no match", Options{Rules: []Rule{{When: "false", Category: "a"}}},
			stage.Record{Type: stage.Line, Source: pos},
			"record c.xml:40 (record 12, byte 7000): no rule matched, and no default is set",
			stage.Record{}},
		{"nil category", Options{Rules: []Rule{{Expr: `attr("type")`}}},
			stage.Record{Type: stage.XML, Source: pos, Data: []byte("<r/>")},
			"rules[0].expr: evaluated to nil",
			stage.Record{Type: stage.XML, Data: []byte(`<r type="x"/>`)}},
		{"empty category", Options{Rules: []Rule{{Expr: `attr("type")`}}},
			stage.Record{Type: stage.XML, Source: pos, Data: []byte(`<r type=""/>`)},
			"rules[0].expr: evaluated to the empty string, and a category cannot be empty",
			stage.Record{Type: stage.XML, Data: []byte(`<r type="x"/>`)}},
		{"label nil", Options{Rules: []Rule{{Category: "a"}}, Labels: map[string]string{"l": `label("x")`}},
			stage.Record{Type: stage.Line, Source: pos},
			"labels.l: evaluated to nil",
			stage.Record{Type: stage.Line, Labels: map[string]string{"x": "1"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustBuild(t, &tt.opts)
			in := []stage.Record{tt.in}
			if tt.good.Type != stage.None {
				in = append(in, tt.good)
			}
			res, err := stagetest.Run(context.Background(), s, in, stagetest.Options{})
			if err != nil {
				t.Fatalf("skip policy: %v", err)
			}
			if len(res.Rejected) != 1 {
				t.Fatalf("rejected %d records, want 1", len(res.Rejected))
			}
			if got := res.Rejected[0].Err.Error(); !strings.Contains(got, tt.want) {
				t.Errorf("error\n%s\nwant it to contain\n%s", got, tt.want)
			}
			if stage.IsFatal(res.Rejected[0].Err) {
				t.Error("a record error is marked fatal")
			}
			if len(res.Records) != len(in)-1 {
				t.Errorf("emitted %d records, want %d", len(res.Records), len(in)-1)
			}

			_, err = stagetest.Run(context.Background(), s, []stage.Record{tt.in}, stagetest.Options{FailOnReject: true})
			if err == nil {
				t.Error("fail policy: the run succeeded")
			}
		})
	}
}

// TestW1Catalogue classifies a generated catalogue and compares with an
// independent computation over encoding/xml tokens.
func TestW1Catalogue(t *testing.T) {
	doc := catalogtest.Document(400, 7)
	recs := catalogtest.Records(t, doc, "cat.xml")
	s := mustBuild(t, &Options{Rules: []Rule{{Expr: w1}}})
	res, err := stagetest.Run(context.Background(), s, recs, stagetest.Options{FailOnReject: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Records) != len(recs) {
		t.Fatalf("emitted %d of %d records", len(res.Records), len(recs))
	}
	seen := map[string]int{}
	for i, r := range res.Records {
		want := referenceW1(t, recs[i].Data)
		if r.Category != want {
			t.Errorf("record %d: category %q, want %q\n%s", i+1, r.Category, want, recs[i].Data)
		}
		seen[want]++
	}
	for _, c := range []string{"unknown/plain", "book/numbered", "book/plain"} {
		if seen[c] == 0 {
			t.Errorf("the corpus has no %s record: the test covers less than it claims (%v)", c, seen)
		}
	}
}

var asciiDigit = regexp.MustCompile(`[0-9]`)

// referenceW1 computes W1's category with encoding/xml's own namespace
// handling: the type attribute of the root, and the text of its first
// <title> child.
func referenceW1(t *testing.T, data []byte) string {
	d := xml.NewDecoder(bytes.NewReader(data))
	typ, title := "unknown", ""
	depth, inTitle, titleDone := 0, 0, false
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			depth++
			if depth == 1 {
				for _, a := range tok.Attr {
					if a.Name.Space == "" && a.Name.Local == "type" {
						typ = a.Value
					}
				}
			}
			if depth == 2 && tok.Name.Local == "title" && tok.Name.Space == "" && !titleDone {
				inTitle = depth
			}
		case xml.EndElement:
			if depth == inTitle {
				inTitle, titleDone = 0, true
			}
			depth--
		case xml.CharData:
			if inTitle > 0 {
				title += string(tok)
			}
		}
	}
	if asciiDigit.MatchString(title) {
		return typ + "/numbered"
	}
	return typ + "/plain"
}

// TestConcurrentFanOut runs Process from several goroutines on shared
// records, as workers after a fan-out do (meaningful under -race).
func TestConcurrentFanOut(t *testing.T) {
	recs := catalogtest.Records(t, catalogtest.Document(50, 3), "cat.xml")
	s := mustBuild(t, &Options{Rules: []Rule{{Expr: w1}}, Labels: map[string]string{"lang": `attr("lang")`}})
	want := make([]string, len(recs))
	for i := range recs {
		want[i] = referenceW1(t, recs[i].Data)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for i := range recs {
				var em stagetest.Emitter
				if err := s.Process(context.Background(), &recs[i], &em); err != nil {
					t.Error(err)
					return
				}
				if em.Records[0].Category != want[i] {
					t.Errorf("record %d: %q, want %q", i, em.Records[0].Category, want[i])
				}
			}
		})
	}
	wg.Wait()
}

// TestEmitError checks that a cancelled emit is returned as is.
func TestEmitError(t *testing.T) {
	s := mustBuild(t, &Options{Rules: []Rule{{Category: "a"}}})
	err := s.Process(context.Background(), &stage.Record{Type: stage.Line}, cancelled{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Process = %v, want context.Canceled", err)
	}
}

type cancelled struct{}

func (cancelled) Emit(*stage.Record) error                { return context.Canceled }
func (cancelled) Reject(_ *stage.Record, err error) error { return err }

func TestErrorTypes(t *testing.T) {
	s := mustBuild(t, &Options{Rules: []Rule{{Expr: `text("a")`}}})
	err := s.Process(context.Background(), &stage.Record{Type: stage.XML, Data: []byte("<a>")}, &stagetest.Emitter{})
	var ee *recexpr.Error
	var xe *recexpr.XMLError
	if !errors.As(err, &ee) || !errors.As(err, &xe) {
		t.Errorf("error %v: want a *recexpr.Error wrapping a *recexpr.XMLError", err)
	}
}

func BenchmarkClassifyW1(b *testing.B) {
	recs := catalogtest.Records(b, catalogtest.Document(2000, 1), "cat.xml")
	s := mustBuild(b, &Options{Rules: []Rule{{Expr: w1}}})
	catalogtest.BenchProcess(b, s, recs)
}

// BenchmarkClassifyW2 is W2's rule on CSV rows: three field calls and a
// regular expression per row.
func BenchmarkClassifyW2(b *testing.B) {
	h := stage.NewHeader([]string{"id", "type", "title", "year"})
	recs := make([]stage.Record, 1000)
	for i := range recs {
		f := []string{strconv.Itoa(i), []string{"book", "article", ""}[i%3], "A title " + strconv.Itoa(i%7), "2001"}
		recs[i] = stage.Record{Type: stage.CSV, Header: h, Fields: f, Data: []byte(strings.Join(f, ","))}
	}
	s := mustBuild(b, &Options{Rules: []Rule{{Expr: `(field("type") == "" ? "unknown" : field("type")) + (field("title") matches "[0-9]" ? "/numbered" : "/plain")`}}})
	catalogtest.BenchProcess(b, s, recs)
}
