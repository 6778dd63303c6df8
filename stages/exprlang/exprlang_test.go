package exprlang

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/xml"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sluicehq/sluice/stage"
	"github.com/sluicehq/sluice/stages/internal/recexpr"
)

var update = flag.Bool("update", false, "rewrite docs/expressions.md from the code")

// TestReferenceFile keeps docs/expressions.md equal to the reference the
// code generates.
func TestReferenceFile(t *testing.T) {
	var b bytes.Buffer
	WriteMarkdown(&b)
	path := filepath.Join("..", "..", "docs", "expressions.md")
	if *update {
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(b.String(), string(got)); d != "" {
		t.Errorf("%s is stale; run go test ./stages/exprlang -run TestReferenceFile -update (- code, + file):\n%s", path, d)
	}
}

// sampleInput is how Eval splits a reference sample.
func sampleInput(s recexpr.Sample) Input {
	kind := map[stage.Type]string{stage.XML: "xml", stage.CSV: "csv", stage.Line: "lines", stage.JSON: "jsonl"}[s.Kind]
	return Input{Kind: kind, Element: s.Element}
}

// TestReferenceExamples evaluates every example of the reference on the
// first record that the split stage cuts from the sample file of its kind,
// and checks the documented result.
func TestReferenceExamples(t *testing.T) {
	t.Chdir(t.TempDir()) // file gives the path as read names it: the bare name
	samples := map[stage.Type]recexpr.Sample{}
	for _, s := range recexpr.Samples() {
		samples[s.Kind] = s
		if err := os.WriteFile(s.File, []byte(s.Data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var examples []recexpr.Example
	for _, f := range recexpr.Functions() {
		if len(f.Examples) == 0 {
			t.Errorf("function %s has no example", f.Name)
		}
		for _, e := range f.Examples {
			if f.Kind != stage.Records && e.Kind != f.Kind {
				t.Errorf("example %s of %s runs on a %v record, and %s reads %v records", e.Expr, f.Name, e.Kind, f.Name, f.Kind)
			}
		}
		examples = append(examples, f.Examples...)
	}
	for _, v := range recexpr.Variables() {
		if len(v.Examples) == 0 {
			t.Errorf("variable %s has no example", v.Name)
		}
		examples = append(examples, v.Examples...)
	}
	for _, e := range examples {
		t.Run(e.Kind.String()+"/"+e.Expr, func(t *testing.T) {
			s, ok := samples[e.Kind]
			if !ok {
				t.Fatalf("no sample of kind %v", e.Kind)
			}
			var got []Result
			err := Eval(context.Background(), e.Expr, s.File, Options{Input: sampleInput(s), Limit: 1}, func(r Result) error {
				got = append(got, r)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0].Err != nil {
				t.Fatalf("got %+v, want one value", got)
			}
			if f := Format(got[0].Value); f != e.Result {
				t.Errorf("%s = %s, the reference says %s", e.Expr, f, e.Result)
			}
		})
	}
}

// collect runs Eval and returns its results formatted, one a line.
func collect(t *testing.T, src, path string, opts Options) ([]string, error) {
	t.Helper()
	var out []string
	err := Eval(context.Background(), src, path, opts, func(r Result) error {
		if r.Err != nil {
			out = append(out, fmt.Sprintf("%d:%d error: %v", r.Source.Line, r.Source.Ordinal, r.Err))
		} else {
			out = append(out, fmt.Sprintf("%d:%d %s", r.Source.Line, r.Source.Ordinal, Format(r.Value)))
		}
		return nil
	})
	return out, err
}

// TestEvalCSV checks field() on generated rows (quotes, delimiters and
// line ends inside fields) against encoding/csv.
func TestEvalCSV(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"a", "b", ",", `"`, "\n", "\r\n", " ", "é", ";"}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Write([]string{"id", "b", "c"})
	for i := range 300 {
		var b strings.Builder
		for range rng.IntN(6) {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		w.Write([]string{fmt.Sprint(i), b.String(), "x"})
	}
	w.Flush()
	path := filepath.Join(t.TempDir(), "gen.csv")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(buf.Bytes())).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var got, want []string
	err = Eval(context.Background(), `field("id") + "|" + field("b")`, path, Options{Want: String}, func(r Result) error {
		if r.Err != nil {
			return r.Err
		}
		got = append(got, r.Value.(string))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range rows[1:] {
		// encoding/csv turns \r\n inside a quoted field into \n; split keeps
		// the bytes as written. Compare both without carriage returns.
		want = append(want, row[0]+"|"+row[1])
	}
	for i := range got {
		got[i] = strings.ReplaceAll(got[i], "\r", "")
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("field() differs from encoding/csv (- want, + got):\n%s", d)
	}
}

// TestEvalXML checks attr and text on generated records against
// encoding/xml.
func TestEvalXML(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	texts := []string{"a", "&amp;", "&lt;b&gt;", "<![CDATA[<x>]]>", " ", "é", "&#65;"}
	var doc strings.Builder
	doc.WriteString("<root>\n")
	for i := range 200 {
		fmt.Fprintf(&doc, "<rec n=\"%d\"", i)
		if rng.IntN(2) == 0 {
			fmt.Fprintf(&doc, " alt='%s'", texts[rng.IntN(3)])
		}
		doc.WriteString("><t>")
		for range rng.IntN(4) {
			doc.WriteString(texts[rng.IntN(len(texts))])
		}
		doc.WriteString("</t>")
		if rng.IntN(2) == 0 {
			doc.WriteString("<alt/>")
		}
		doc.WriteString("</rec>\n")
	}
	doc.WriteString("</root>\n")
	path := filepath.Join(t.TempDir(), "gen.xml")
	if err := os.WriteFile(path, []byte(doc.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	var parsed struct {
		Recs []struct {
			N   string    `xml:"n,attr"`
			Alt *string   `xml:"alt,attr"`
			T   string    `xml:"t"`
			El  *struct{} `xml:"alt"`
		} `xml:"rec"`
	}
	if err := xml.Unmarshal([]byte(doc.String()), &parsed); err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, r := range parsed.Recs {
		alt := "nil"
		if r.Alt != nil {
			alt = fmt.Sprintf("%q", *r.Alt)
		}
		want = append(want, fmt.Sprintf(`[%q, %s, %t, %t, %q]`, r.N, alt, r.Alt != nil, r.El != nil, r.T))
	}
	got, err := collect(t, `[attr("n"), attr("alt"), hasattr("alt"), has("alt"), text("t")]`, path, Options{Input: Input{Element: "rec"}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range got {
		_, got[i], _ = strings.Cut(got[i], " ")
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("attr/hasattr/has/text differ from encoding/xml (- want, + got):\n%s", d)
	}
}

// TestEvalErrors: a failing expression and a rejected record are results
// with their positions; the scan goes on. Malformed XML ends it.
func TestEvalErrors(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	jl := "e.jsonl"
	os.WriteFile(jl, []byte("{\"a\": 1}\n{\"a\": \n{\"b\": 2}\n{\"a\": \"x\"}\n"), 0o644)
	got, err := collect(t, `json("a") + 1`, jl, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"1:1 2",
		"2:2 error: e.jsonl:2:6: invalid JSON: unexpected end of JSON input",
		"3:3 error: column 11 of the expression: invalid operation: <nil> + int",
		"4:4 error: column 11 of the expression: invalid operation: string + int",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("results differ (- want, + got):\n%s", d)
	}

	got, err = collect(t, `json("a")`, jl, Options{Limit: 2})
	if err != nil || len(got) != 2 {
		t.Errorf("Limit 2: got %q, %v", got, err)
	}

	x := "bad.xml"
	os.WriteFile(x, []byte("<r>\n<rec a='1'/>\n<rec a='2'>\n<oops></rec>\n</r>\n"), 0o644)
	got, err = collect(t, `attr("a")`, x, Options{Input: Input{Element: "rec"}})
	if err == nil || !strings.Contains(err.Error(), "bad.xml:4") || len(got) != 1 || got[0] != `2:1 "1"` {
		t.Errorf("malformed XML: got %q, %v; want the first record, then an error at line 4", got, err)
	}
}

// TestEvalOptions: bad flags and expressions are errors that say what to do.
func TestEvalOptions(t *testing.T) {
	dir := t.TempDir()
	x := filepath.Join(dir, "a.xml")
	os.WriteFile(x, []byte("<r><rec/></r>"), 0o644)
	odd := filepath.Join(dir, "a.dat")
	os.WriteFile(odd, []byte("x\n"), 0o644)
	tests := []struct {
		src, path string
		opts      Options
		wantErr   string
	}{
		{`name()`, x, Options{}, "--element: name the element"},
		{`line`, odd, Options{}, "give --kind xml, csv, lines or jsonl"},
		{`line`, odd, Options{Input: Input{Kind: "yaml"}}, `--kind: expected xml, csv, lines or jsonl, got "yaml"`},
		{`line`, odd, Options{Input: Input{Kind: "lines", Element: "r"}}, "--element: only for xml records"},
		{`name(`, x, Options{Input: Input{Element: "rec"}}, "expression: unexpected token EOF"},
		{`has("@alt")`, x, Options{Input: Input{Element: "rec"}}, `test the root's attribute with hasattr("alt")`},
		{`line`, odd, Options{Input: Input{Kind: "lines"}, Want: "number"}, `--as: expected any, bool or string`},
		{`name()`, x, Options{Input: Input{Element: "rec["}}, "split options: xml.element"},
		{`line`, filepath.Join(dir, "none.txt"), Options{}, "no such file"},
	}
	for _, tt := range tests {
		_, err := collect(t, tt.src, tt.path, tt.opts)
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%s on %s: got %v, want an error containing %q", tt.src, tt.path, err, tt.wantErr)
		}
	}
}
