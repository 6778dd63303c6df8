package stages_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/sluicehq/sluice/engine"
	"github.com/sluicehq/sluice/internal/corpus"
	"github.com/sluicehq/sluice/pipeline"
	"github.com/sluicehq/sluice/stages"
)

// TestSplitByRanges runs one file of several chunks through the runner,
// split by byte ranges on two workers, and checks the written records
// against a run that splits the file whole: the same bytes in the same
// order under ordered: true, the same multiset otherwise, and a ledger
// that counts the file once.
func TestSplitByRanges(t *testing.T) {
	dir := t.TempDir()
	for _, format := range []struct {
		name, split string
		write       func(*bytes.Buffer) error
	}{
		{"xml", "xml: {element: record}", func(b *bytes.Buffer) error { return corpus.WriteXML(b, 7, 8000) }},
		{"csv", "csv: {}", func(b *bytes.Buffer) error { return corpus.WriteCSV(b, 7, 30000) }},
		{"lines", "lines: {}", func(b *bytes.Buffer) error { return corpus.WriteCSV(b, 8, 30000) }},
	} {
		t.Run(format.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := format.write(&b); err != nil {
				t.Fatal(err)
			}
			if b.Len() < 3<<20 {
				t.Fatalf("the input is %d bytes: too small for several 1 MiB ranges", b.Len())
			}
			in := filepath.Join(dir, format.name+".in")
			if err := os.WriteFile(in, b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			run := func(chunk string, ordered bool) (string, *engine.Report) {
				out := filepath.Join(dir, fmt.Sprintf("%s-%s-%v", format.name, chunk, ordered))
				src := fmt.Sprintf(`name: ranges
stages:
  files: {use: read, with: {path: %q}}
  records: {use: split, from: files, workers: 2, ordered: %v, with: {chunk: %s, %s}}
  tagged: {use: classify, from: records, workers: 1, with: {rules: [{expr: '"all"'}]}}
  files-out: {use: write, from: tagged, with: {dir: %q, by: category}}
`, in, ordered, chunk, format.split, out)
				g, err := pipeline.Load("ranges.yaml", []byte(src), stages.Registry())
				if err != nil {
					t.Fatal(err)
				}
				rep, err := engine.Run(context.Background(), g, engine.RunOptions{})
				if err != nil {
					t.Fatal(err)
				}
				entries, err := os.ReadDir(out)
				if err != nil || len(entries) != 1 {
					t.Fatalf("outputs %v: %v", entries, err)
				}
				data, err := os.ReadFile(filepath.Join(out, entries[0].Name()))
				if err != nil {
					t.Fatal(err)
				}
				return string(data), rep
			}
			want, _ := run("0", false)
			got, rep := run("1MiB", true)
			if got != want {
				t.Errorf("ordered: the output differs from the whole-file split (%d and %d bytes)", len(got), len(want))
			}
			got, rep2 := run("1MiB", false)
			if !sameLines(got, want) {
				t.Errorf("unordered: the output holds other records than the whole-file split")
			}
			for _, r := range []*engine.Report{rep, rep2} {
				st := r.Stages[1]
				if st.Name != "records" || st.In != 1 || st.Processed != 1 || st.Out == 0 {
					t.Errorf("split's ledger: %+v", st)
				}
			}
		})
	}
}

// sameLines reports whether a and b hold the same lines, in any order.
func sameLines(a, b string) bool {
	count := map[string]int{}
	for _, l := range bytes.Split([]byte(a), []byte("\n")) {
		count[string(l)]++
	}
	for _, l := range bytes.Split([]byte(b), []byte("\n")) {
		count[string(l)]--
	}
	for _, n := range count {
		if n != 0 {
			return false
		}
	}
	return true
}
