package engine_test

import (
	"context"
	"testing"
	"time"

	"github.com/sluicehq/sluice/engine"
	"github.com/sluicehq/sluice/stage"
)

// slowSetup is a pass-through stage whose Setup takes a while, as building
// a plugin does.
type slowSetup struct{ d time.Duration }

func (s slowSetup) Signature() stage.Signature {
	return stage.Signature{In: stage.Records, Passthrough: true}
}

func (s slowSetup) Setup(context.Context, stage.Env) error { time.Sleep(s.d); return nil }

func (s slowSetup) Process(ctx context.Context, r *stage.Record, out stage.Emitter) error {
	return out.Emit(r)
}

// TestRatesLeaveSetupOut: a stage's records per second are measured over
// the time records flowed, not over a slow setup.
func TestRatesLeaveSetupOut(t *testing.T) {
	w := newWorld()
	w.reg.Register(stage.Define("slow", "Sets up slowly.", nil,
		func() *struct{} { return &struct{}{} },
		func(*struct{}) (stage.Stage, error) { return slowSetup{300 * time.Millisecond}, nil }))
	g := load(t, w, `
stages:
  a: {use: gen, with: {count: 1000}}
  s: {use: slow, from: a}
  k: {use: sink, from: s, with: {name: k}}
`)
	rep, err := engine.Run(context.Background(), g, engine.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	st := rep.Stages[1]
	if rep.Setup < 300*time.Millisecond || rep.Running() != rep.Duration-rep.Setup {
		t.Fatalf("setup %v of %v, running %v", rep.Setup, rep.Duration, rep.Running())
	}
	if want := float64(st.In) / rep.Running().Seconds(); st.RecordsPerSecond != want {
		t.Fatalf("records/s %v, want %v (In over the running time)", st.RecordsPerSecond, want)
	}
}
