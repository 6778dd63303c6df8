package count

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sluicehq/sluice/stage"
)

// mergeCase returns counters whose keys overlap, and the sum of their
// counts per key. Keys include ones that share their first 16 bytes (so
// that the arena decides), ones shorter than 16 bytes that differ only in
// trailing zero bytes (which the integer comparison cannot tell apart),
// and the empty key.
func mergeCase(counters, keys int) ([]*counter, map[string]int64) {
	rng := rand.New(rand.NewPCG(1, uint64(counters*1000+keys)))
	want := map[string]int64{}
	cs := make([]*counter, counters)
	for i := range cs {
		cs[i] = &counter{}
	}
	for range keys * counters {
		var k string
		x := rng.IntN(keys)
		switch x % 4 {
		case 0:
			k = fmt.Sprintf("a-prefix-of-sixteen-bytes/%d", x)
		case 1:
			k = "ab" + string(make([]byte, x%5))
		case 2:
			k = strconv.Itoa(x)
		default:
			k = fmt.Sprintf("r%08d", x)
		}
		if x == 7 {
			k = ""
		}
		n := int64(1 + rng.IntN(3))
		cs[rng.IntN(counters)].add([]byte(k), n)
		want[k] += n
	}
	return cs, want
}

type total struct {
	Key string
	N   int64
}

func sortedTotals(m map[string]int64) []total {
	var out []total
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, total{k, m[k]})
	}
	return out
}

func drain(runs []sortedRun) []total {
	var out []total
	m := newMerger(runs)
	for {
		c, off, n, ok := m.next()
		if !ok {
			return out
		}
		out = append(out, total{string(c.keyAt(off)), n})
	}
}

// TestMergeRuns merges the sorted runs of several counters that share keys,
// sorted on one goroutine or several (a counter then cut into runs), and
// checks every key once, in order, with the sum of its counts; then cuts
// the runs into pieces, which must follow each other and hold the same.
func TestMergeRuns(t *testing.T) {
	smallPieces(t)
	for _, tc := range []struct{ counters, keys, procs int }{
		{1, 0, 1}, {1, 50, 1}, {3, 50, 1}, {3, 50, 4},
		{1, 6 * minRun, 2}, {2, 2 * minRun, 2}, {4, minRun, 3},
	} {
		t.Run(fmt.Sprintf("%d counters, %d keys, %d procs", tc.counters, tc.keys, tc.procs), func(t *testing.T) {
			cs, sums := mergeCase(tc.counters, tc.keys)
			want := sortedTotals(sums)
			runs := sortRuns(cs, tc.procs)
			if tc.procs > 1 && tc.counters == 1 && entriesOf(cs) >= 3*minRun && len(runs) < 2 {
				t.Errorf("a large counter sorted as %d run on %d goroutines", len(runs), tc.procs)
			}
			if got := entries(runs); got != entriesOf(cs) {
				t.Fatalf("%d entries in the runs, want %d", got, entriesOf(cs))
			}
			if diff := cmp.Diff(want, drain(slices.Clone(runs))); diff != "" {
				t.Fatalf("merged totals (-want +got):\n%s", diff)
			}
			for _, parts := range []int{2, 7, 100} {
				var got []total
				for _, piece := range cut(slices.Clone(runs), parts) {
					got = append(got, drain(piece)...)
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Fatalf("cut in %d parts (-want +got):\n%s", parts, diff)
				}
			}
		})
	}
}

// smallPieces makes the sizes from which the output is sorted and
// formatted in pieces small, for the test.
func smallPieces(t *testing.T) {
	r, p := minRun, pieceEntries
	minRun, pieceEntries = 64, 128
	t.Cleanup(func() { minRun, pieceEntries = r, p })
}

func entriesOf(cs []*counter) int {
	n := 0
	for _, c := range cs {
		n += c.len()
	}
	return n
}

// TestLargeOutputInPieces counts, on three workers, more distinct values
// than one piece holds, half of them seen by several workers, and checks
// that the output formatted in parallel pieces is the output formatted in
// one, and that it holds the right totals, in JSON and CSV.
func TestLargeOutputInPieces(t *testing.T) {
	smallPieces(t)
	n := 7*pieceEntries + 5
	var records []stage.Record
	want := map[string]int64{}
	for i := range n + n/2 {
		id := fmt.Sprintf("r%08d", i%n) // ids below n/2 twice
		want[id]++
		records = append(records, stage.Record{Type: stage.XML, Data: fmt.Appendf(nil, `<r id="%s"/>`, id)})
	}
	outputs := map[string][]byte{}
	for _, format := range []string{"json", "csv"} {
		for _, procs := range []int{1, 4} {
			t.Run(fmt.Sprintf("%s on %d procs", format, procs), func(t *testing.T) {
				defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
				out := run(t, Options{Attributes: true, Output: "a." + format}, records, 3)
				got := map[string]int64{}
				if format == "json" {
					var doc struct {
						Records    int64
						Attributes map[string]map[string]map[string]int64
					}
					if err := json.Unmarshal(out, &doc); err != nil {
						t.Fatal(err)
					}
					if doc.Records != int64(len(records)) {
						t.Errorf("records = %d, want %d", doc.Records, len(records))
					}
					got = doc.Attributes["r"]["id"]
				} else {
					rows, err := csv.NewReader(bytes.NewReader(out)).ReadAll()
					if err != nil {
						t.Fatal(err)
					}
					var prev string
					for _, row := range rows[2:] { // the header, the records row
						if row[0] != "r" || row[1] != "id" || row[2] <= prev {
							t.Fatalf("row %q after value %q", row, prev)
						}
						prev = row[2]
						got[row[2]], _ = strconv.ParseInt(row[3], 10, 64)
					}
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("counts (-want +got):\n%s", diff)
				}
				if first, ok := outputs[format]; ok && !bytes.Equal(first, out) {
					t.Errorf("the output on %d procs differs from the output on 1", procs)
				}
				outputs[format] = out
			})
		}
	}
}

// TestCancelledFinish cancels the run before a large output is written:
// Finish returns the cancellation and leaves no file.
func TestCancelledFinish(t *testing.T) {
	smallPieces(t)
	dir := t.TempDir()
	s := mustBuild(t, &Options{Attributes: true, Output: dir + "/a.json"})
	ctx, cancel := context.WithCancel(context.Background())
	if err := s.Setup(ctx, stage.Env{}); err != nil {
		t.Fatal(err)
	}
	a := s.NewAccumulator().(*accumulator)
	for i := range 3 * pieceEntries {
		addW1Key(a, i)
	}
	cancel()
	if err := s.Finish(ctx, a, nil); err != context.Canceled {
		t.Fatalf("Finish = %v, want context.Canceled", err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("after a cancelled Finish the directory holds %v", left)
	}
}
