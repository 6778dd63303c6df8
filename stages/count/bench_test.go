package count

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/sluicehq/sluice/core"
	"github.com/sluicehq/sluice/stages/internal/catalogtest"
)

// BenchmarkCountAttributes counts the attributes of catalogue records.
// "add" is the whole of Add (XML parse included; its allocations are
// encoding/xml's); "update" is the map update alone, on a parsed record
// whose keys are all known, and must report 0 allocs/op.
func BenchmarkCountAttributes(b *testing.B) {
	records := catalogtest.Records(b, catalogtest.Document(2000, 1), "cat.xml")
	var size int64
	for i := range records {
		size += int64(len(records[i].Data))
	}
	s := mustBuild(b, &Options{Attributes: true, By: []string{"category"}, Output: "a.json"})

	b.Run("add", func(b *testing.B) {
		a := s.NewAccumulator()
		ctx := context.Background()
		b.SetBytes(size / int64(len(records)))
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if err := a.Add(ctx, &records[i%len(records)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	})

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

// BenchmarkMerge merges two accumulators of n distinct keys each, half of
// them shared; ns/key is the cost per key of the merged accumulator.
func BenchmarkMerge(b *testing.B) {
	for _, n := range []int{1_000, 100_000} {
		b.Run(fmt.Sprint(n, " keys"), func(b *testing.B) {
			s := mustBuild(b, &Options{By: []string{"category"}, Output: "a.json"})
			fill := func(from int) *accumulator {
				a := s.NewAccumulator().(*accumulator)
				for i := from; i < from+n; i++ {
					a.attrs.add(attrKey(i), 1)
				}
				return a
			}
			other := fill(n / 2)
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				a := fill(0)
				b.StartTimer()
				if err := a.Merge(other); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/key")
		})
	}
}

// BenchmarkDistinctKeys reports the memory an accumulator holds per
// distinct key, beyond the key's own bytes: the figure that bounds how
// many distinct attribute values fit in memory.
func BenchmarkDistinctKeys(b *testing.B) {
	const n = 200_000
	s := mustBuild(b, &Options{Attributes: true, Output: "a.json"})
	var keyBytes int
	for i := range n {
		keyBytes += len(attrKey(i))
	}
	var perKey float64
	b.ReportAllocs()
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		a := s.NewAccumulator().(*accumulator)
		for i := range n {
			a.attrs.add(attrKey(i), 1)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		perKey = float64(after.HeapAlloc-before.HeapAlloc) / n
		runtime.KeepAlive(a)
	}
	b.ReportMetric(perKey, "B/key")
	b.ReportMetric(float64(keyBytes)/n, "keybytes/key")
	b.ReportMetric(perKey-float64(keyBytes)/n, "overhead-B/key")
}

// attrKey is a key like those of the W1 workload: an element, an attribute
// and a distinct value (record ids are all distinct).
func attrKey(i int) []byte {
	var b []byte
	b = appendPart(b, "record")
	b = appendPart(b, "id")
	return appendPart(b, fmt.Sprintf("r%08d", i))
}

var _ core.Accumulator = (*accumulator)(nil)
