package write_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/engine"
	"github.com/sluicehq/sluice/internal/corpus"
)

// runFormat runs pipeline (DIR replaced by dir) and fails the test on any
// error; it returns the run's error text for pipelines expected to fail.
func runFormat(t *testing.T, dir, pipeline string) error {
	t.Helper()
	eng := sluice.New()
	g, err := eng.Load("pipeline.yaml", []byte(strings.ReplaceAll(pipeline, "DIR", dir)))
	if err != nil {
		t.Fatal(err)
	}
	_, err = eng.Run(context.Background(), g, engine.RunOptions{})
	return err
}

func writeCorpus(t *testing.T, dir string, n int) {
	t.Helper()
	for name, write := range map[string]func(*os.File) error{
		"cat.xml": func(f *os.File) error { return corpus.WriteXML(f, 9, n) },
		"cat.csv": func(f *os.File) error { return corpus.WriteCSV(f, 9, n) },
	} {
		f, err := os.Create(filepath.Join(dir, name))
		if err == nil {
			err = write(f)
			f.Close()
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// readCSV reads a whole CSV file with encoding/csv.
func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return rows
}

// TestXMLToCSV is issue 18's third job: XML records turned into a CSV of
// picked attributes and text (map, then write format: csv), checked with
// encoding/csv against the generator's own records.
func TestXMLToCSV(t *testing.T) {
	const n = 800
	dir := t.TempDir()
	writeCorpus(t, dir, n)
	err := runFormat(t, dir, `name: xml-to-csv
stages:
  in: {use: read, with: {path: DIR/cat.xml}}
  recs: {use: split, from: in, ordered: true, with: {xml: {element: record}}}
  rows:
    use: map
    from: recs
    ordered: true
    with:
      fields: {id: 'attr("id")', year: 'int(attr("year") ?? "0")', title: 'text("title")', authors: 'texts("authors/author")', type: 'attr("type")'}
  out: {use: write, from: rows, with: {dir: DIR/out, format: csv, fields: [id, type, title, authors]}}
`)
	if err != nil {
		t.Fatal(err)
	}
	rows := readCSV(t, filepath.Join(dir, "out", "uncategorised.csv"))
	if len(rows) != n+1 || strings.Join(rows[0], ",") != "id,type,title,authors" {
		t.Fatalf("%d rows, header %v", len(rows), rows[0])
	}
	for i, row := range rows[1:] {
		r := corpus.Make(9, i+1)
		var authors []string
		for _, a := range r.Authors {
			authors = append(authors, a.Name)
		}
		wantAuthors, _ := json.Marshal(authors)
		if row[0] != r.ID || row[1] != r.Type || row[2] != r.Title || row[3] != string(wantAuthors) {
			t.Fatalf("row %d: %q, want %s %q %q %s (null type as an empty cell, a list as JSON)", i+1, row, r.ID, r.Type, r.Title, wantAuthors)
		}
	}
}

// TestCSVToJSONL is issue 18's second job: a CSV converted to JSON lines
// with chosen fields, and with all of them; values checked with encoding/csv
// reading the input.
func TestCSVToJSONL(t *testing.T) {
	const n = 700
	dir := t.TempDir()
	writeCorpus(t, dir, n)
	for _, tc := range []struct{ name, fields string }{{"chosen", "[note, id, year]"}, {"all", "[]"}} {
		t.Run(tc.name, func(t *testing.T) {
			os.RemoveAll(filepath.Join(dir, "out"))
			err := runFormat(t, dir, `name: csv-to-jsonl
stages:
  in: {use: read, with: {path: DIR/cat.csv}}
  rows: {use: split, from: in, ordered: true, with: {csv: {}}}
  out: {use: write, from: rows, with: {dir: DIR/out, format: jsonl, fields: `+tc.fields+`}}
`)
			if err != nil {
				t.Fatal(err)
			}
			in := readCSV(t, filepath.Join(dir, "cat.csv"))
			header := in[0]
			cols := header
			if tc.name == "chosen" {
				cols = []string{"note", "id", "year"}
			}
			data, err := os.ReadFile(filepath.Join(dir, "out", "uncategorised.jsonl"))
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
			if len(lines) != n {
				t.Fatalf("%d lines, want %d", len(lines), n)
			}
			for i, line := range lines {
				dec := json.NewDecoder(strings.NewReader(line))
				var keys []string
				obj := map[string]string{}
				dec.Token() // {
				for dec.More() {
					k, _ := dec.Token()
					var v string
					if err := dec.Decode(&v); err != nil {
						t.Fatalf("line %d: %v: %s", i+1, err, line)
					}
					keys = append(keys, k.(string))
					obj[k.(string)] = v
				}
				if strings.Join(keys, ",") != strings.Join(cols, ",") {
					t.Fatalf("line %d: keys %v, want %v in order", i+1, keys, cols)
				}
				for _, c := range cols {
					if want := in[i+1][slices.Index(header, c)]; obj[c] != want {
						t.Fatalf("line %d: %s = %q, want %q", i+1, c, obj[c], want)
					}
				}
			}
		})
	}
}

// TestFormatErrors: what a format cannot write is an error about the record,
// naming what to do; bad options are refused at their position.
func TestFormatErrors(t *testing.T) {
	dir := t.TempDir()
	writeCorpus(t, dir, 5)
	err := runFormat(t, dir, `name: xml-as-csv
stages:
  in: {use: read, with: {path: DIR/cat.xml}}
  recs: {use: split, from: in, with: {xml: {element: record}}}
  out: {use: write, from: recs, with: {dir: DIR/out, format: csv, fields: [id]}}
`)
	if err == nil || !strings.Contains(err.Error(), "format: csv does not take xml records; give them the fields to write with a map stage first") {
		t.Errorf("xml as csv: %v", err)
	}
	for _, tc := range []struct{ with, want string }{
		{"format: parquet", `p.yaml:5:58: stage "out": format: expected one of native, jsonl, csv, got "parquet"`},
		{"format: csv, fields: [a, a]", `stage "out": fields[1]: a column needs a name, given once, got "a"`},
		{"fields: [a]", `stage "out": fields: fields choose columns for format: csv or jsonl`},
	} {
		_, err = sluice.New().Load("p.yaml", []byte(`name: bad
stages:
  in: {use: read, with: {path: x}}
  recs: {use: split, from: in, with: {lines: {}}}
  out: {use: write, from: recs, with: {dir: out, `+tc.with+`}}
`))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.with, err, tc.want)
		}
	}
}
