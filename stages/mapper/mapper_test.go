package mapper_test

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/engine"
	"github.com/sluicehq/sluice/internal/corpus"
	"github.com/sluicehq/sluice/stage"
	"github.com/sluicehq/sluice/stages/mapper"
)

func TestBuildErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts mapper.Options
		want string
	}{
		{"nothing", mapper.Options{}, "fields: required"},
		{"field syntax", mapper.Options{Fields: stage.Pairs{{Key: "id", Value: `attr("id") +`}}}, "fields.id: unexpected token EOF"},
		{"category type", mapper.Options{Category: `texts("a")`}, "category: expression gives a list, want a string"},
		{"label name", mapper.Options{Labels: map[string]string{"": `"x"`}}, "labels: a label needs a name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := mapper.Kind().Build(&tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestFieldErrorPositions: a bad field expression and a field given twice
// are reported at their own line and column of the pipeline file.
func TestFieldErrorPositions(t *testing.T) {
	const head = `name: p
stages:
  in: {use: read, with: {path: x.xml}}
  recs: {use: split, from: in, with: {xml: {element: r}}}
  rows:
    use: map
    from: recs
    with:
      fields:
        id: 'attr("id")'
`
	for _, tc := range []struct{ fields, want string }{
		{"        title: 'txt(\"title\")'\n", `p.yaml:11:16: stage "rows": fields.title: unknown name txt (did you mean text?)`},
		{"        id: 'attr(\"id\")'\n", `p.yaml:11:9: stage "rows": fields: "id" is given twice`},
		{"        tags: [a, b]\n", `p.yaml:11:15: stage "rows": fields.tags: expected a string, got a list`},
	} {
		_, err := sluice.New().Load("p.yaml", []byte(head+tc.fields))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want %q", err, tc.want)
		}
	}
}

// run runs pipeline (with %s for dir) and returns the JSON objects written
// to dir/out/uncategorised.jsonl, in order.
func run(t *testing.T, dir, pipeline string) []map[string]any {
	t.Helper()
	eng := sluice.New()
	g, err := eng.Load("pipeline.yaml", []byte(strings.ReplaceAll(pipeline, "DIR", dir)))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := eng.Run(context.Background(), g, engine.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := rep.Check(); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, "out", "uncategorised.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var objs []map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %d is not a JSON object: %v: %s", len(objs)+1, err, sc.Text())
		}
		objs = append(objs, m)
	}
	return objs
}

// TestXMLAndCSVToJSON converts the same generated catalogue, once as XML
// and once as CSV, into JSON lines of chosen fields, and checks every
// object against the generator's own records (internal/corpus.Make):
// values, their order in the line, null for a missing type, and a list.
func TestXMLAndCSVToJSON(t *testing.T) {
	const n, seed = 1500, 5
	dir := t.TempDir()
	for name, write := range map[string]func(*os.File) error{
		"cat.xml": func(f *os.File) error { return corpus.WriteXML(f, seed, n) },
		"cat.csv": func(f *os.File) error { return corpus.WriteCSV(f, seed, n) },
	} {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := write(f); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	xmlObjs := run(t, dir, `name: xml-to-json
stages:
  in: {use: read, with: {path: DIR/cat.xml}}
  recs: {use: split, from: in, ordered: true, with: {xml: {element: record}, chunk: 1MiB}}
  rows:
    use: map
    from: recs
    workers: 2
    ordered: true
    with:
      fields:
        id: 'attr("id")'
        type: 'attr("type")'
        title: 'text("title")'
        authors: 'texts("authors/author")'
  out: {use: write, from: rows, with: {dir: DIR/out}}
`)
	os.RemoveAll(filepath.Join(dir, "out"))
	csvObjs := run(t, dir, `name: csv-to-json
stages:
  in: {use: read, with: {path: DIR/cat.csv}}
  recs: {use: split, from: in, ordered: true, with: {csv: {}, chunk: 1MiB}}
  rows:
    use: map
    from: recs
    workers: 2
    ordered: true
    with:
      fields:
        id: 'field("id")'
        type: 'field("type") == "" ? nil : field("type")'
        title: 'field("title")'
        year: 'int(field("year"))'
  out: {use: write, from: rows, with: {dir: DIR/out}}
`)
	if len(xmlObjs) != n || len(csvObjs) != n {
		t.Fatalf("%d XML and %d CSV objects, want %d each", len(xmlObjs), len(csvObjs), n)
	}
	for i := range n {
		r := corpus.Make(seed, i+1)
		var typ any
		if r.Type != "" {
			typ = r.Type
		}
		x, c := xmlObjs[i], csvObjs[i]
		if x["id"] != r.ID || x["type"] != typ || x["title"] != r.Title || c["id"] != r.ID || c["type"] != typ || c["title"] != r.Title || c["year"] != float64(r.Year) {
			t.Fatalf("record %d: xml %v, csv %v; want id %s type %v title %q year %d", i+1, x, c, r.ID, typ, r.Title, r.Year)
		}
		if authors, _ := x["authors"].([]any); len(authors) != len(r.Authors) || authors[0] != r.Authors[0].Name {
			t.Fatalf("record %d: authors %v, want %v", i+1, x["authors"], r.Authors)
		}
		if len(x) != 4 || len(c) != 4 {
			t.Fatalf("record %d: fields %v / %v", i+1, x, c)
		}
	}
}
