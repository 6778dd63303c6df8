package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/engine"
	"github.com/sluicehq/sluice/internal/corpus"
	"github.com/sluicehq/sluice/pipeline"
	"github.com/sluicehq/sluice/stages"
)

// writeCorpus writes a generated catalogue of n records (a few hundred
// bytes each) and returns its path.
func writeCorpus(t *testing.T, n int, seed uint64) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "catalogue.xml")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := corpus.WriteXML(f, seed, n); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// runJob runs one of bench's pipeline files in process, as the harness's
// sluice binary would, and returns its output folder.
func runJob(t *testing.T, file, input string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "out")
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"W1", "W2"} { // w2.yaml reads W2_INPUT and W2_OUT
		t.Setenv(v+"_INPUT", input)
		t.Setenv(v+"_OUT", out)
	}
	g, err := pipeline.Load(file, src, stages.Registry())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := engine.Run(ctx, g, engine.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestW1MatchesEncodingXML runs W1 through w1.yaml, on every core, over a
// generated corpus of a few MB, and compares every output with the
// independent encoding/xml computation: records per category, every
// (element, attribute, value) count, and each category file as a multiset
// of records. A fast path that breaks correctness fails here.
func TestW1MatchesEncodingXML(t *testing.T) {
	input := writeCorpus(t, 6000, 7)
	want, err := expected(input)
	if err != nil {
		t.Fatal(err)
	}
	if want.Records != 6000 || len(want.Categories) < 10 || len(want.Attributes) < 1000 {
		t.Fatalf("the reference found %d records, %d categories, %d attribute values: the corpus is not W1-shaped",
			want.Records, len(want.Categories), len(want.Attributes))
	}
	out := runJob(t, "w1.yaml", input)
	got, err := readSluice(out, true, 2)
	if err != nil {
		t.Fatal(err)
	}
	if d := diff(want, got); len(d) > 0 {
		t.Fatalf("W1's outputs differ from encoding/xml's:\n%s", strings.Join(d, "\n"))
	}
	if got.Attributes == nil || got.Files == nil {
		t.Fatal("the attribute counts or the category files were not read")
	}
}

// TestSortMatchesEncodingXML runs sort.yaml (W1 without attribute counts).
func TestSortMatchesEncodingXML(t *testing.T) {
	input := writeCorpus(t, 2000, 8)
	want, err := expected(input)
	if err != nil {
		t.Fatal(err)
	}
	want.Attributes = nil
	got, err := readSluice(runJob(t, "sort.yaml", input), true, 2)
	if err != nil {
		t.Fatal(err)
	}
	if got.Attributes != nil {
		t.Error("sort.yaml counted attributes")
	}
	if d := diff(want, got); len(d) > 0 {
		t.Fatalf("outputs differ from encoding/xml's:\n%s", strings.Join(d, "\n"))
	}
}

// TestCheckFindsDifferences makes sure the check can fail: a record moved
// to another category file, a changed attribute count, and a peer's flat
// counts.json that disagrees are all reported.
func TestCheckFindsDifferences(t *testing.T) {
	input := writeCorpus(t, 800, 9)
	want, err := expected(input)
	if err != nil {
		t.Fatal(err)
	}
	out := runJob(t, "w1.yaml", input)

	// Move the last record of one category file into another.
	sorted := filepath.Join(out, "sorted")
	names, _ := filepath.Glob(filepath.Join(sorted, "*.xml"))
	if len(names) < 2 {
		t.Fatalf("only %d category files", len(names))
	}
	a, _ := os.ReadFile(names[0])
	b, _ := os.ReadFile(names[1])
	i := bytes.LastIndex(a, []byte("<record "))
	j := bytes.LastIndex(a, []byte("</records>"))
	rec := a[i:j]
	a = append(append([]byte{}, a[:i]...), a[j:]...)
	k := bytes.LastIndex(b, []byte("</records>"))
	b = append(append(append([]byte{}, b[:k]...), rec...), b[k:]...)
	os.WriteFile(names[0], a, 0o644)
	os.WriteFile(names[1], b, 0o644)
	got, err := readSluice(out, true, 2)
	if err != nil {
		t.Fatal(err)
	}
	d := strings.Join(diff(want, got), "\n")
	for _, f := range names[:2] {
		if !strings.Contains(d, filepath.Base(f)) {
			t.Errorf("moving a record is not reported for %s:\n%s", filepath.Base(f), d)
		}
	}

	// A peer-format counts.json with one count off by one.
	peer := t.TempDir()
	var rows [][4]any
	for k, n := range want.Attributes {
		rows = append(rows, [4]any{k.Elem, k.Attr, k.Value, n})
	}
	rows[0][3] = rows[0][3].(int64) + 1
	doc := map[string]any{"records": want.Records, "categories": want.Categories,
		"distinct_attribute_values": len(rows), "attributes": rows}
	js, _ := json.Marshal(doc)
	os.WriteFile(filepath.Join(peer, "counts.json"), js, 0o644)
	p, err := readPeer(peer, false, 1)
	if err != nil {
		t.Fatal(err)
	}
	if d := diff(want, p); len(d) != 1 || !strings.Contains(d[0], "count of") {
		t.Errorf("an attribute count off by one: diff %q", d)
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int{"100MB": 110_000, "1gb": 1_100_000, "4GB": 4_400_000, "2500": 2500} {
		if got, err := parseSize(in, "xml"); err != nil || got != want {
			t.Errorf("parseSize(%q, xml) = %d, %v; want %d", in, got, err, want)
		}
	}
	for in, want := range map[string]int{"100MB": 320_000, "1gb": 3_200_000, "2500": 2500} {
		if got, err := parseSize(in, "csv"); err != nil || got != want {
			t.Errorf("parseSize(%q, csv) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "2TB", "-3", "0"} {
		if _, err := parseSize(in, "xml"); err == nil {
			t.Errorf("parseSize(%q) succeeded", in)
		}
	}
}

func TestMedian(t *testing.T) {
	runs := []measurement{{Wall: 3}, {Wall: 1}, {Wall: 2}}
	if m := median(runs); m.Wall != 2 {
		t.Errorf("median of 3, 1, 2 = %v", m.Wall)
	}
	if m := median(runs[:2]); m.Wall != 1 {
		t.Errorf("median of 3, 1 = %v, want the lower middle", m.Wall)
	}
}

// writeCSVCorpus writes a generated CSV catalogue of n rows (with empty
// types, quotes and line breaks in fields) and returns its path.
func writeCSVCorpus(t *testing.T, n int, seed uint64) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "catalogue.csv")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := corpus.WriteCSV(f, seed, n); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestW2MatchesEncodingCSV runs W2 through w2.yaml, on every core, over a
// generated CSV corpus, and compares its outputs with the independent
// encoding/csv computation: rows per category, and each category file's
// header and rows as a multiset.
func TestW2MatchesEncodingCSV(t *testing.T) {
	input := writeCSVCorpus(t, 5000, 7)
	want, err := expectedCSV(input)
	if err != nil {
		t.Fatal(err)
	}
	if want.Records != 5000 || len(want.Categories) < 10 || want.Categories["unknown/plain"] == 0 {
		t.Fatalf("the reference found %d rows in %d categories (%v): the corpus is not W2-shaped", want.Records, len(want.Categories), want.Categories)
	}
	got, err := readCSVOutputs(runJob(t, "w2.yaml", input), true, 2)
	if err != nil {
		t.Fatal(err)
	}
	if got.Digests == nil {
		t.Fatal("the category files were not read")
	}
	if d := diff(want, got); len(d) > 0 {
		t.Fatalf("W2's outputs differ from encoding/csv's:\n%s", strings.Join(d, "\n"))
	}
}

// quoteAll writes rows with every field quoted and CRLF line ends, as no
// runner does: the check must not depend on quoting.
func quoteAll(rows [][]string) []byte {
	var b bytes.Buffer
	for _, r := range rows {
		for i, f := range r {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(`"` + strings.ReplaceAll(f, `"`, `""`) + `"`)
		}
		b.WriteString("\r\n")
	}
	return b.Bytes()
}

// TestW2CheckReadsDuckDBLayout checks W2's outputs rewritten the way
// DuckDB lays them out (sorted/category=book%2Fplain/data_N.csv, one
// category in two files, rows in another order, other quoting, counts in
// another order) compare equal, and that one changed field, a missing
// header and a wrong count are reported.
func TestW2CheckReadsDuckDBLayout(t *testing.T) {
	input := writeCSVCorpus(t, 1500, 8)
	want, err := expectedCSV(input)
	if err != nil {
		t.Fatal(err)
	}
	out := runJob(t, "w2.yaml", input)
	duck := t.TempDir()
	names, _ := filepath.Glob(filepath.Join(out, "sorted", "*.csv"))
	if len(names) < 10 {
		t.Fatalf("only %d category files", len(names))
	}
	var first string
	for _, n := range names {
		f, _ := os.Open(n)
		rows, err := csv.NewReader(f).ReadAll()
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		cat := strings.ReplaceAll(strings.TrimSuffix(filepath.Base(n), ".csv"), "__", "/")
		dir := filepath.Join(duck, "sorted", "category="+url.PathEscape(cat))
		os.MkdirAll(dir, 0o755)
		body := rows[1:]
		slices.Reverse(body)
		half := len(body) / 2
		os.WriteFile(filepath.Join(dir, "data_0.csv"), quoteAll(append([][]string{rows[0]}, body[:half]...)), 0o644)
		os.WriteFile(filepath.Join(dir, "data_1.csv"), quoteAll(append([][]string{rows[0]}, body[half:]...)), 0o644)
		if first == "" {
			first = filepath.Join(dir, "data_1.csv")
		}
	}
	counts := "category,count\n"
	for _, c := range slices.Backward(slices.Sorted(maps.Keys(want.Categories))) {
		counts += fmt.Sprintf("%s,%d\n", c, want.Categories[c])
	}
	os.WriteFile(filepath.Join(duck, "counts.csv"), []byte(counts), 0o644)
	got, err := readCSVOutputs(duck, true, 2)
	if err != nil {
		t.Fatal(err)
	}
	if d := diff(want, got); len(d) > 0 {
		t.Fatalf("DuckDB's layout of the same outputs differs:\n%s", strings.Join(d, "\n"))
	}

	// One field changed in one row.
	b, _ := os.ReadFile(first)
	i := bytes.LastIndex(b, []byte(`"r0`))
	b[i+2] = '9'
	os.WriteFile(first, b, 0o644)
	got, err = readCSVOutputs(duck, true, 2)
	if err != nil {
		t.Fatal(err)
	}
	d := diff(want, got)
	if len(d) != 1 || !strings.Contains(d[0], "rows differ as multisets") {
		t.Errorf("a changed field: diff %q", d)
	}

	// A flat file without its header, and a count off by one.
	flat := t.TempDir()
	os.MkdirAll(filepath.Join(flat, "sorted"), 0o755)
	for _, n := range names {
		b, _ := os.ReadFile(n)
		os.WriteFile(filepath.Join(flat, "sorted", filepath.Base(n)), b, 0o644)
	}
	b, _ = os.ReadFile(names[0])
	_, rest, _ := bytes.Cut(b, []byte("\n"))
	os.WriteFile(filepath.Join(flat, "sorted", filepath.Base(names[0])), rest, 0o644)
	header, rows, _ := strings.Cut(counts, "\n")
	os.WriteFile(filepath.Join(flat, "counts.csv"), []byte(header+"\n"+strings.Replace(rows, ",", ",1", 1)), 0o644)
	got, err = readCSVOutputs(flat, true, 2)
	if err != nil {
		t.Fatal(err)
	}
	d = diff(want, got)
	joined := strings.Join(d, "\n")
	if !strings.Contains(joined, "header") || !strings.Contains(joined, "records of category") || !strings.Contains(joined, filepath.Base(names[0])) {
		t.Errorf("a missing header and a wrong count:\n%s", joined)
	}
}
