package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/core"
	"github.com/sluicehq/sluice/internal/corpus"
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
	t.Setenv("W1_INPUT", input)
	t.Setenv("W1_OUT", out)
	g, err := core.Load(file, src, stages.Registry())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := core.Run(ctx, g, core.RunOptions{}); err != nil {
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
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "2TB", "-3", "0"} {
		if _, err := parseSize(in); err == nil {
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
