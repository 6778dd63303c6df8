package filter_test

import (
	"context"
	"testing"

	"github.com/sluicehq/sluice/core"
	"github.com/sluicehq/sluice/stages/filter"
	"github.com/sluicehq/sluice/stages/internal/catalogtest"
)

// discard is an Emitter that keeps nothing.
type discard struct{}

func (discard) Emit(*core.Record) error          { return nil }
func (discard) Reject(*core.Record, error) error { return nil }

// BenchmarkFilter is the cost of a filter per W1 record, on every core,
// with a condition of the shape of W1's classify rule (an attribute and a
// regular expression over the title's text): compare it with
// BenchmarkClassifyW1 in stages/classify.
func BenchmarkFilter(b *testing.B) {
	recs := catalogtest.Records(b, catalogtest.Document(2000, 1), "cat.xml")
	st, err := filter.Kind().Build(&filter.Options{Keep: `attr("type") != nil && text("title") matches "[0-9]"`})
	if err != nil {
		b.Fatal(err)
	}
	s := st.(*filter.Stage)
	var size int64
	for i := range recs {
		size += int64(len(recs[i].Data))
	}
	b.SetBytes(size / int64(len(recs)))
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if err := s.Process(context.Background(), &recs[i%len(recs)], discard{}); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}
