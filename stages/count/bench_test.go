package count

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"testing"

	"github.com/sluicehq/sluice/stage"
	"github.com/sluicehq/sluice/stages/internal/catalogtest"
)

// BenchmarkCountAttributes counts the attributes of catalogue records.
// "add" is the whole of Add (XML parse included); "update" is the map
// update alone, on a parsed record
// whose keys are all known, and must report 0 allocs/op.
func BenchmarkCountAttributes(b *testing.B) {
	records := catalogtest.Records(b, catalogtest.Document(2000, 1), "cat.xml")
	var size int64
	for i := range records {
		size += int64(len(records[i].Data))
	}
	s := mustBuild(b, &Options{Attributes: true, By: []string{"category"}, Output: "a.json"})

	// "add-checked" is "add" on records that split marked as checked (as
	// in a pipeline), whose characters the XML view does not check again.
	checked := make([]stage.Record, len(records))
	for i, r := range records {
		r.Checked = true
		checked[i] = r
	}
	for _, bench := range []struct {
		name    string
		records []stage.Record
	}{{"add", records}, {"add-checked", checked}} {
		b.Run(bench.name, func(b *testing.B) {
			a := s.NewAccumulator()
			ctx := context.Background()
			b.SetBytes(size / int64(len(records)))
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if err := a.Add(ctx, &bench.records[i%len(records)]); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}

	b.Run("update", func(b *testing.B) {
		a := s.NewAccumulator().(*accumulator)
		r := records[0]
		a.ev.Reset(&r)
		tree, err := a.ev.Tree("attributes")
		if err != nil {
			b.Fatal(err)
		}
		a.buf = appendPart(a.buf[:0], "book/plain")
		a.addTree(len(a.buf), tree)
		b.ReportAllocs()
		for b.Loop() {
			a.groups.add(a.buf, 1)
			a.addTree(len(a.buf), tree)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	})
}

// BenchmarkFinish is the end of a run: two accumulators of n distinct
// attribute values each, half of them shared, merged and written as JSON
// (to io.Discard); ns/key is the cost per distinct key of the totals, on
// GOMAXPROCS cores.
func BenchmarkFinish(b *testing.B) {
	for _, n := range []int{1_000, 100_000, 1_000_000} {
		b.Run(fmt.Sprint(n, " keys"), func(b *testing.B) {
			s := mustBuild(b, &Options{Attributes: true, Output: "a.json"})
			fill := func(from int) *accumulator {
				a := s.NewAccumulator().(*accumulator)
				for i := from; i < from+n; i++ {
					addW1Key(a, i)
				}
				a.groups.add(nil, int64(n)) // the records
				return a
			}
			a, other := fill(0), fill(n/2)
			b.ReportAllocs()
			for b.Loop() {
				a.merged = nil
				if err := a.Merge(other); err != nil {
					b.Fatal(err)
				}
				if _, _, err := s.write(context.Background(), io.Discard, a.totals()); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n*3/2), "ns/key")
		})
	}
}

// BenchmarkDistinctKeys reports the memory an accumulator holds per
// distinct key, measured on the heap, for W1's high-cardinality key
// (element record, attribute id, a distinct value per record): the figure
// that bounds how many distinct attribute values fit in memory. The
// value's own bytes ("r00000001", 9) are part of it.
func BenchmarkDistinctKeys(b *testing.B) {
	const n = 1_000_000
	s := mustBuild(b, &Options{Attributes: true, Output: "a.json"})
	var perKey, held float64
	b.ReportAllocs()
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		a := s.NewAccumulator().(*accumulator)
		for i := range n {
			addW1Key(a, i)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		perKey = float64(after.HeapAlloc-before.HeapAlloc) / n
		held = float64(a.attrs.memory()) / n
		runtime.KeepAlive(a)
	}
	b.ReportMetric(perKey, "heap-B/key")
	b.ReportMetric(held, "held-B/key")
}

// addW1Key counts the attribute value of W1's record i, as addTree does.
func addW1Key(a *accumulator, i int) {
	a.buf = appendPart(appendPart(a.buf[:0], "record"), "id")
	var v [16]byte
	a.attrs.values(a.buf).add(fmt.Appendf(v[:0], "r%08d", i), 1)
}

var _ stage.Accumulator = (*accumulator)(nil)

// BenchmarkCountW1 counts the attributes of W1 records (the 64 records of
// ../sdk/xmlview/testdata, about 910 bytes each) with a distinct
// record id each time, as a real corpus has: "add" is the whole of Add
// (the parse included), "tree" the counting of an already parsed record.
func BenchmarkCountW1(b *testing.B) {
	doc, err := os.ReadFile("../../sdk/xmlview/testdata/w1-records.xml")
	if err != nil {
		b.Fatal(err)
	}
	var recs [][]byte
	for _, part := range bytes.SplitAfter(doc, []byte("</record>\n")) {
		if i := bytes.Index(part, []byte("<record ")); i >= 0 {
			recs = append(recs, part[i:len(bytes.TrimRight(part, "\n"))])
		}
	}
	s := mustBuild(b, &Options{Attributes: true, Output: "a.json"})
	// Each record's id attribute is id="r00000001": rewrite its digits.
	withID := func(rec []byte, id int) stage.Record {
		r := append([]byte(nil), rec...)
		i := bytes.Index(r, []byte(`id="r`)) + 5
		copy(r[i:i+8], fmt.Sprintf("%08d", id%100_000_000))
		return stage.Record{Type: stage.XML, Data: r}
	}
	const n = 1 << 16
	pre := make([]stage.Record, n)
	var size int64
	for i := range pre {
		pre[i] = withID(recs[i%len(recs)], i)
		size += int64(len(pre[i].Data))
	}
	b.Run("add", func(b *testing.B) {
		a := s.NewAccumulator()
		ctx := context.Background()
		b.SetBytes(size / n)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			r := &pre[i%n]
			if i >= n { // a new id for every record, as in a corpus
				copy(r.Data[bytes.Index(r.Data, []byte(`id="r`))+5:], fmt.Sprintf("%08d", i%100_000_000))
			}
			if err := a.Add(ctx, r); err != nil {
				b.Fatal(err)
			}
			i++
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	})
}
