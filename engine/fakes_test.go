package engine_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicehq/sluice/stage"
)

// The fake kinds used by the engine's tests: a generator, a transformer, a
// collecting sink that commits, and a counting aggregator.

type genOptions struct {
	Count  int    `yaml:"count" doc:"Records to emit."`
	Prefix string `yaml:"prefix" doc:"Prefix of each record's data."`
	Nested struct {
		Depth int      `yaml:"depth" doc:"A nested option, for tests."`
		Tags  []string `yaml:"tags" doc:"A nested list."`
	} `yaml:"nested" doc:"Nested options."`
	Timeout stage.Duration `yaml:"timeout" doc:"A duration."`
	Size    stage.ByteSize `yaml:"size" doc:"A size."`
}

type gen struct{ opts genOptions }

func (g *gen) Signature() stage.Signature { return stage.Signature{Out: stage.Line} }

func (g *gen) Read(ctx context.Context, out stage.Emitter) error {
	for i := 1; i <= g.opts.Count; i++ {
		r := stage.Record{Type: stage.Line, Data: []byte(g.opts.Prefix + strconv.Itoa(i)),
			Source: stage.Position{File: g.opts.Prefix + ".txt", Line: int64(i), Ordinal: int64(i), Offset: int64(i * 10)}}
		if err := out.Emit(&r); err != nil {
			return err
		}
	}
	return nil
}

type mapOptions struct {
	FailOn  string         `yaml:"fail_on" doc:"Data that makes a record fail."`
	FatalOn string         `yaml:"fatal_on" doc:"Data that fails the run."`
	PanicOn string         `yaml:"panic_on" doc:"Data that panics."`
	Sleep   stage.Duration `yaml:"sleep" doc:"Pause per record whose number is odd."`
	Only    string         `yaml:"only" doc:"Accept only this kind (xml)."`
}

type mapper struct{ opts mapOptions }

func (m *mapper) Signature() stage.Signature {
	in := stage.Records
	if m.opts.Only == "xml" {
		in = stage.XML
	}
	return stage.Signature{In: in, Passthrough: true}
}

func (m *mapper) Process(ctx context.Context, r *stage.Record, out stage.Emitter) error {
	d := string(r.Data)
	switch d {
	case m.opts.FailOn:
		return fmt.Errorf("bad record %q", d)
	case m.opts.FatalOn:
		return stage.Fatal(errors.New("disk on fire"))
	case m.opts.PanicOn:
		panic("mapper exploded")
	}
	if m.opts.Sleep > 0 && r.Source.Ordinal%2 == 1 {
		time.Sleep(time.Duration(m.opts.Sleep))
	}
	r2 := *r
	r2.Category = "seen"
	return out.Emit(&r2)
}

// sink collects records and records its lifecycle; tests look it up by
// name in the sinks map.
type sink struct {
	mu        sync.Mutex
	records   []stage.Record
	committed bool
	aborted   bool
	finished  bool
	tornDown  bool
}

type sinkOptions struct {
	Name string `yaml:"name" doc:"Key in the test's sink map."`
}

func (s *sink) Signature() stage.Signature {
	return stage.Signature{In: stage.Records, Terminal: true}
}

func (s *sink) Process(ctx context.Context, r *stage.Record, out stage.Emitter) error {
	s.mu.Lock()
	s.records = append(s.records, *r)
	s.mu.Unlock()
	return nil
}

func (s *sink) Finish(ctx context.Context, out stage.Emitter) error   { s.finished = true; return nil }
func (s *sink) Prepare(ctx context.Context) (stage.CommitPlan, error) { return stage.CommitPlan{}, nil }
func (s *sink) Committed() error                                      { s.committed = true; return nil }
func (s *sink) Abort()                                                { s.aborted = true }
func (s *sink) Teardown(ctx context.Context) error                    { s.tornDown = true; return nil }

type counter struct{ total *int64 }
type countAcc struct{ n int64 }

func (c *counter) Signature() stage.Signature {
	return stage.Signature{In: stage.Records, Terminal: true}
}
func (c *counter) NewAccumulator() stage.Accumulator { return &countAcc{} }
func (c *counter) Finish(ctx context.Context, acc stage.Accumulator, out stage.Emitter) error {
	*c.total = acc.(*countAcc).n
	return nil
}
func (a *countAcc) Add(ctx context.Context, r *stage.Record) error { a.n++; return nil }
func (a *countAcc) Merge(o stage.Accumulator) error                { a.n += o.(*countAcc).n; return nil }

var (
	_ stage.Source     = (*gen)(nil)
	_ stage.Processor  = (*mapper)(nil)
	_ stage.Processor  = (*sink)(nil)
	_ stage.Committer  = (*sink)(nil)
	_ stage.Aggregator = (*counter)(nil)
)

// testWorld is a registry whose sinks and counters can be inspected.
type testWorld struct {
	emitted atomic.Int64 // by expand stages
	reg     *stage.Registry
	sinks   map[string]*sink
	totals  map[string]*int64
	mu      sync.Mutex
}

func newWorld() *testWorld {
	w := &testWorld{reg: stage.NewRegistry(), sinks: map[string]*sink{}, totals: map[string]*int64{}}
	w.reg.Register(stage.Define("gen", "Emits numbered lines.", nil,
		func() *genOptions { return &genOptions{Count: 10, Prefix: "r"} },
		func(o *genOptions) (stage.Stage, error) {
			if o.Count < 0 {
				return nil, stage.OptionError("count", "must not be negative, got %d", o.Count)
			}
			if o.Nested.Depth > 3 {
				return nil, stage.OptionError("nested.depth", "at most 3")
			}
			return &gen{*o}, nil
		}))
	w.reg.Register(stage.Define("map", "Marks records.", nil,
		func() *mapOptions { return &mapOptions{} },
		func(o *mapOptions) (stage.Stage, error) { return &mapper{*o}, nil }))
	w.reg.Register(stage.Define("sink", "Collects records.", nil,
		func() *sinkOptions { return &sinkOptions{Name: "default"} },
		func(o *sinkOptions) (stage.Stage, error) {
			w.mu.Lock()
			defer w.mu.Unlock()
			s := &sink{}
			w.sinks[o.Name] = s
			return s, nil
		}))
	w.reg.Register(stage.Define("expand", "Emits many records per record.", nil,
		func() *expandOptions { return &expandOptions{Count: 10} },
		func(o *expandOptions) (stage.Stage, error) {
			return &expander{count: o.Count, emitted: &w.emitted}, nil
		}))
	w.reg.Register(stage.Define("count", "Counts records.", nil,
		func() *sinkOptions { return &sinkOptions{Name: "default"} },
		func(o *sinkOptions) (stage.Stage, error) {
			w.mu.Lock()
			defer w.mu.Unlock()
			t := new(int64)
			w.totals[o.Name] = t
			return &counter{total: t}, nil
		}))
	return w
}

// expander emits Count records per input record, counting what it emitted,
// so a test can see how far ahead of its consumer it gets.
type expander struct {
	count   int
	emitted *atomic.Int64
}

type expandOptions struct {
	Count int `yaml:"count" doc:"Records emitted per input record."`
}

func (e *expander) Signature() stage.Signature {
	return stage.Signature{In: stage.Records, Out: stage.Line}
}

func (e *expander) Process(ctx context.Context, r *stage.Record, out stage.Emitter) error {
	for i := 0; i < e.count; i++ {
		rec := stage.Record{Type: stage.Line, Data: r.Data, Source: stage.Position{File: string(r.Data), Ordinal: int64(i + 1)}}
		if err := out.Emit(&rec); err != nil {
			return err
		}
		e.emitted.Add(1)
	}
	return nil
}
