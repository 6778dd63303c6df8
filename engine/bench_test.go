package engine_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/sluicehq/sluice/engine"
	"github.com/sluicehq/sluice/pipeline"
	"github.com/sluicehq/sluice/stage"
)

// The kinds of the transport benchmark: a source that emits N records
// without allocating, a stage that passes each record on unchanged, and a
// sink that counts what it receives. They cost next to nothing, so the
// benchmark measures the runner: batches, channels, pools, the ledger.

type benchSourceOptions struct {
	Count int `yaml:"count" doc:"Records to emit."`
}

type benchSource struct{ n int }

func (s *benchSource) Signature() stage.Signature { return stage.Signature{Out: stage.Line} }

func (s *benchSource) Read(ctx context.Context, out stage.Emitter) error {
	r := stage.Record{Type: stage.Line, Data: []byte("x"), Size: 1, Source: stage.Position{File: "bench"}}
	for i := range s.n {
		r.Source.Ordinal = int64(i + 1)
		if err := out.Emit(&r); err != nil {
			return err
		}
	}
	return nil
}

type benchPass struct{}

func (benchPass) Signature() stage.Signature {
	return stage.Signature{In: stage.Records, Passthrough: true}
}

func (benchPass) Process(_ context.Context, r *stage.Record, out stage.Emitter) error {
	return out.Emit(r)
}

type benchSink struct{ n *atomic.Int64 }

func (s benchSink) Signature() stage.Signature {
	return stage.Signature{In: stage.Records, Out: stage.None, Terminal: true}
}

func (s benchSink) Process(_ context.Context, _ *stage.Record, _ stage.Emitter) error {
	s.n.Add(1)
	return nil
}

type noOptions struct{}

func benchRegistry(received *atomic.Int64) *stage.Registry {
	reg := stage.NewRegistry()
	reg.Register(stage.Define("bsource", "Emits count records.", nil,
		func() *benchSourceOptions { return &benchSourceOptions{} },
		func(o *benchSourceOptions) (stage.Stage, error) { return &benchSource{n: o.Count}, nil }))
	reg.Register(stage.Define("bpass", "Passes records on.", nil,
		func() *noOptions { return &noOptions{} },
		func(*noOptions) (stage.Stage, error) { return benchPass{}, nil }))
	reg.Register(stage.Define("bsink", "Counts records.", nil,
		func() *noOptions { return &noOptions{} },
		func(*noOptions) (stage.Stage, error) { return benchSink{n: received}, nil }))
	return reg
}

// BenchmarkTransport moves records through a source and a chain of three
// stages that do nothing (pass, pass, count), for several batch sizes and
// worker counts: records/s is what the runner itself can carry, the upper
// bound of any pipeline's record rate. An op is one record.
func BenchmarkTransport(b *testing.B) {
	for _, bs := range []int{64, 512, 4096} {
		for _, workers := range []string{"1", "auto"} {
			b.Run(fmt.Sprintf("batch=%d/workers=%s", bs, workers), func(b *testing.B) {
				var received atomic.Int64
				reg := benchRegistry(&received)
				src := fmt.Sprintf(`name: transport
batch_size: %d
stages:
  src: {use: bsource, with: {count: %d}}
  a: {use: bpass, from: src, workers: %s}
  b: {use: bpass, from: a, workers: %s}
  c: {use: bsink, from: b, workers: %s}
`, bs, b.N, workers, workers, workers)
				g, err := pipeline.Load("transport.yaml", []byte(src), reg)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				b.ResetTimer()
				if _, err := engine.Run(context.Background(), g, engine.RunOptions{}); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if got := received.Load(); got != int64(b.N) {
					b.Fatalf("the sink received %d records of %d", got, b.N)
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
			})
		}
	}
}
