package engine_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/sluicehq/sluice/engine"
	"github.com/sluicehq/sluice/stage"
)

// parter cuts each input record into Parts parts; part i of record r
// waits until part i-1 of r has finished (as split's ranges wait for their
// handoff), then emits Per records "r/i/j". FailOn names parts ("r3/2")
// that fail instead.
type parter struct {
	o parterOptions
}

type parterOptions struct {
	Idle   time.Duration `yaml:"idle" doc:"How long each part waits in core.Idle."`
	Parts  int           `yaml:"parts" doc:"Parts per record."`
	Per    int           `yaml:"per" doc:"Records per part."`
	FailOn []string      `yaml:"fail_on" doc:"Parts that fail."`
}

func (p *parter) Signature() stage.Signature {
	return stage.Signature{In: stage.Records, Out: stage.Line}
}

func (p *parter) Process(ctx context.Context, r *stage.Record, out stage.Emitter) error {
	return errors.New("Process called on a Partitioner")
}

func (p *parter) Partition(ctx context.Context, r *stage.Record) ([]stage.Part, error) {
	name := string(r.Data)
	done := make([]chan struct{}, p.o.Parts)
	for i := range done {
		done[i] = make(chan struct{})
	}
	parts := make([]stage.Part, p.o.Parts)
	for i := range parts {
		parts[i] = func(ctx context.Context, out stage.Emitter) error {
			defer close(done[i])
			if i > 0 {
				stage.Idle(out, func() {
					select {
					case <-done[i-1]:
					case <-ctx.Done():
					}
				})
				if ctx.Err() != nil {
					return ctx.Err()
				}
			}
			if p.o.Idle > 0 {
				stage.Idle(out, func() { time.Sleep(p.o.Idle) })
			}
			id := name + "/" + strconv.Itoa(i)
			for _, f := range p.o.FailOn {
				if f == id {
					return fmt.Errorf("part %s failed", id)
				}
			}
			time.Sleep(time.Duration(rand.IntN(200)) * time.Microsecond)
			for j := range p.o.Per {
				rec := stage.Record{Type: stage.Line, Data: []byte(id + "/" + strconv.Itoa(j))}
				if err := out.Emit(&rec); err != nil {
					return err
				}
			}
			return nil
		}
	}
	return parts, nil
}

var _ stage.Partitioner = (*parter)(nil)

func partWorld() *testWorld {
	w := newWorld()
	w.reg.Register(stage.Define("parts", "Cuts records into parts.", nil,
		func() *parterOptions { return &parterOptions{Parts: 3, Per: 2} },
		func(o *parterOptions) (stage.Stage, error) { return &parter{*o}, nil }))
	return w
}

func TestRunPartitionerOrdered(t *testing.T) {
	w := partWorld()
	g := load(t, w, `
stages:
  a: {use: gen, with: {count: 20}}
  p: {use: parts, from: a, workers: 3, ordered: true, with: {parts: 7, per: 3}}
  s: {use: sink, from: p, workers: 1, with: {name: s}}
`)
	rep, err := engine.Run(context.Background(), g, engine.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for r := 1; r <= 20; r++ {
		for i := range 7 {
			for j := range 3 {
				want = append(want, fmt.Sprintf("r%d/%d/%d", r, i, j))
			}
		}
	}
	got := data(w.sinks["s"].records)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("order not kept:\ngot  %v\nwant %v", got, want)
	}
	if p := rep.Stages[1]; p.In != 20 || p.Processed != 20 || p.Out != 420 {
		t.Fatalf("ledger: %+v", p)
	}
}

func TestRunPartitionerFailure(t *testing.T) {
	w := partWorld()
	g := load(t, w, `
stages:
  a: {use: gen, with: {count: 10}}
  p: {use: parts, from: a, workers: 2, on_error: skip, with: {parts: 4, per: 1, fail_on: [r3/1, r3/2, r7/3]}}
  s: {use: sink, from: p, with: {name: s}}
`)
	rep, err := engine.Run(context.Background(), g, engine.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p := rep.Stages[1]
	if p.In != 10 || p.Processed != 8 || p.Skipped != 2 || p.Errored != 0 {
		t.Fatalf("ledger: each record counts once: %+v", p)
	}
	if n := len(w.sinks["s"].records); n != 10*4-3 {
		t.Fatalf("sink got %d records, want %d", n, 10*4-3)
	}

	w = partWorld()
	g = load(t, w, `
stages:
  a: {use: gen, with: {count: 10}}
  p: {use: parts, from: a, workers: 2, with: {parts: 4, per: 1, fail_on: [r5/2]}}
  s: {use: sink, from: p, with: {name: s}}
`)
	_, err = engine.Run(context.Background(), g, engine.RunOptions{})
	var re *engine.RecordError
	if !errors.As(err, &re) || re.Err.Error() != "part r5/2 failed" || re.Source.File != "r.txt" {
		t.Fatalf("got %v, want the record's error", err)
	}
}

// TestRunPartitionerIdle: time a part spends in stage.Idle is not counted
// as the stage's busy time.
func TestRunPartitionerIdle(t *testing.T) {
	w := partWorld()
	g := load(t, w, `
stages:
  a: {use: gen, with: {count: 2}}
  p: {use: parts, from: a, workers: 2, with: {parts: 5, per: 1, idle: 30ms}}
  s: {use: sink, from: p, with: {name: s}}
`)
	rep, err := engine.Run(context.Background(), g, engine.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Ten parts idled 30 ms each: 300 ms in all, none of it busy. (The
	// parts' own work, a record each, takes microseconds.)
	if busy := rep.Stages[1].Busy; busy >= 150*time.Millisecond {
		t.Fatalf("busy %v: idle time was counted", busy)
	}
}
