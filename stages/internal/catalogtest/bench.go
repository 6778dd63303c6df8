package catalogtest

import (
	"context"
	"testing"

	"github.com/sluicehq/sluice/stage"
)

// BenchProcess runs p over recs round and round on every core, with an
// Emitter that keeps nothing and fails on a rejection, and reports the
// bytes (the records' mean size) and records per second. Stages' per-record
// benchmarks share it so that their numbers compare.
func BenchProcess(b *testing.B, p stage.Processor, recs []stage.Record) {
	var size int64
	for i := range recs {
		size += int64(len(recs[i].Data))
	}
	b.SetBytes(size / int64(len(recs)))
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		em := discard{}
		i := 0
		for pb.Next() {
			if err := p.Process(context.Background(), &recs[i%len(recs)], em); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

type discard struct{}

func (discard) Emit(*stage.Record) error                { return nil }
func (discard) Reject(_ *stage.Record, err error) error { return err }
