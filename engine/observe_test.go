package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/engine"
	"github.com/sluicehq/sluice/stage"
)

// fileSource emits one File record per name, then waits at its gate (if
// any) before returning, so that a test can look at the run while it is
// held.
type fileSource struct {
	names []string
	size  int64
	gate  chan struct{}
}

func (s *fileSource) Signature() stage.Signature { return stage.Signature{Out: stage.File} }
func (s *fileSource) TotalBytes() int64          { return s.size * int64(len(s.names)) }

func (s *fileSource) Read(ctx context.Context, out stage.Emitter) error {
	for _, n := range s.names {
		r := stage.Record{Type: stage.File, Source: stage.Position{File: n}, Size: s.size}
		if err := out.Emit(&r); err != nil {
			return err
		}
	}
	if s.gate != nil {
		select {
		case <-s.gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// fileSplitter turns each file into 10 lines and reports the file's bytes
// as consumed, as the split stage does; it also reports stats.
type fileSplitter struct {
	c     *stage.Counters
	calls atomic.Int64
}

func (s *fileSplitter) Signature() stage.Signature {
	return stage.Signature{In: stage.File, Out: stage.Line}
}

func (s *fileSplitter) Setup(ctx context.Context, env stage.Env) error {
	s.c = env.Counters
	return nil
}

func (s *fileSplitter) Process(ctx context.Context, r *stage.Record, out stage.Emitter) error {
	s.calls.Add(1)
	for i := range 10 {
		l := stage.Record{Type: stage.Line, Data: []byte(r.Source.File + ":" + strconv.Itoa(i))}
		if err := out.Emit(&l); err != nil {
			return err
		}
	}
	s.c.BytesIn.Add(r.Size)
	return nil
}

func (s *fileSplitter) Stats() []stage.Stat {
	return []stage.Stat{
		{Name: stage.StatPluginRestarts, Kind: stage.StatCounter, Value: 2},
		{Name: "files_seen", Kind: stage.StatGauge, Value: float64(s.calls.Load())},
	}
}

var (
	_ stage.Sizer         = (*fileSource)(nil)
	_ stage.StatsReporter = (*fileSplitter)(nil)
)

func TestMonitorSnapshots(t *testing.T) {
	w := newWorld()
	src := &fileSource{names: []string{"a.xml", "b.xml", "c.xml"}, size: 100, gate: make(chan struct{})}
	split := &fileSplitter{}
	w.reg.Register(stage.Define("files", "Emits files.", nil, func() *genOptions { return &genOptions{} },
		func(*genOptions) (stage.Stage, error) { return src, nil }))
	w.reg.Register(stage.Define("lines", "Splits files.", nil, func() *genOptions { return &genOptions{} },
		func(*genOptions) (stage.Stage, error) { return split, nil }))
	g := load(t, w, `
name: watched
batch_size: 4
stages:
  src: {use: files}
  split: {use: lines, from: src, workers: 1}
  out: {use: sink, from: split, with: {name: out}}
`)
	var mon engine.Monitor
	if s := mon.Snapshot(); s.Phase != engine.PhaseIdle || len(s.Stages) != 0 {
		t.Fatalf("snapshot before the run: %+v", s)
	}
	type result struct {
		rep *engine.Report
		err error
	}
	done := make(chan result, 1)
	go func() {
		rep, err := engine.Run(context.Background(), g, engine.RunOptions{Monitor: &mon})
		done <- result{rep, err}
	}()

	// The source holds at its gate once every file is out: the splitter
	// then has read them all, and the sink waits for more.
	var s engine.Snapshot
	deadline := time.Now().Add(30 * time.Second)
	for {
		s = mon.Snapshot()
		if len(s.Stages) == 3 && s.Stages[2].In == 30 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the sink never got 30 records: %+v", s)
		}
		time.Sleep(time.Millisecond)
	}
	if s.Phase != engine.PhaseRunning || s.Pipeline != "watched" || s.PipelineFile != "p.yaml" {
		t.Errorf("phase %v, pipeline %q, file %q", s.Phase, s.Pipeline, s.PipelineFile)
	}
	if s.TotalBytes != 300 || s.ReadBytes != 300 {
		t.Errorf("total %d, read %d; want 300, 300", s.TotalBytes, s.ReadBytes)
	}
	if f, ok := s.Fraction(); !ok || f != 1 {
		t.Errorf("fraction %v, %v", f, ok)
	}
	if s.File != "c.xml" || s.Stages[1].File != "c.xml" || s.Stages[1].Files != 3 {
		t.Errorf("current file %q, splitter's %q after %d files; want c.xml after 3", s.File, s.Stages[1].File, s.Stages[1].Files)
	}
	sp := s.Stages[1]
	if sp.QueueCap != 8 || sp.Queued != 0 || s.Stages[0].QueueCap != 0 {
		t.Errorf("queues: splitter %d/%d, source cap %d", sp.Queued, sp.QueueCap, s.Stages[0].QueueCap)
	}
	if sp.Latency.Count != 3 || sp.Batches != 3 || len(sp.Latency.Counts) != len(sp.Latency.Bounds)+1 {
		t.Errorf("splitter latency: %d batches, %d counted, %d buckets for %d bounds", sp.Latency.Count, sp.Batches, len(sp.Latency.Counts), len(sp.Latency.Bounds))
	}
	if v, ok := sp.Stats.Get("files_seen"); !ok || v != 3 {
		t.Errorf("splitter stats %+v, want files_seen 3", sp.Stats)
	}
	for _, st := range s.Stages {
		if st.Done {
			t.Errorf("stage %s done while its input is open", st.Name)
		}
	}
	if sp.Outputs[0] != "out" || s.Stages[0].Outputs[0] != "split" || len(s.Stages[2].Outputs) != 0 {
		t.Errorf("outputs: %v %v %v", s.Stages[0].Outputs, sp.Outputs, s.Stages[2].Outputs)
	}

	close(src.gate)
	res := <-done
	if res.err != nil {
		t.Fatal(res.err)
	}
	s = mon.Snapshot()
	if s.Phase != engine.PhaseDone || s.Elapsed != res.rep.Duration {
		t.Errorf("after the run: phase %v, elapsed %v, report's duration %v", s.Phase, s.Elapsed, res.rep.Duration)
	}
	for _, st := range s.Stages {
		if !st.Done {
			t.Errorf("stage %s not done after the run", st.Name)
		}
	}

	rep := res.rep
	if rep.Version != engine.ReportVersion || rep.Status != engine.StatusOK || rep.Error != "" {
		t.Errorf("report version %d, status %q, error %q", rep.Version, rep.Status, rep.Error)
	}
	if rep.InputBytes != 300 || rep.ReadBytes != 300 || rep.Totals.Records != 30 {
		t.Errorf("input %d, read %d, records %d; want 300, 300, 30", rep.InputBytes, rep.ReadBytes, rep.Totals.Records)
	}
	if rep.PeakRSS <= 0 {
		t.Errorf("peak RSS %d", rep.PeakRSS)
	}
	if r := rep.Stages[1]; r.Files != 3 || r.Batches != 3 || r.RecordsPerSecond != float64(r.Out)/rep.Running().Seconds() {
		t.Errorf("splitter report: files %d, batches %d, rate %v; want the records it made (%d) per second", r.Files, r.Batches, r.RecordsPerSecond, r.Out)
	}
	b, err := json.Marshal(rep.Stages[1])
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		Stats engine.Stats `json:"stats"`
	}
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if v, _ := back.Stats.Get(stage.StatPluginRestarts); v != 2 || len(back.Stats) != 2 {
		t.Errorf("stats through JSON: %s → %+v", b, back.Stats)
	}
}

func TestReportStatus(t *testing.T) {
	w := newWorld()
	g := load(t, w, `
stages:
  a: {use: gen, with: {count: 100}}
  m: {use: map, from: a, with: {fail_on: r50}}
  s: {use: sink, from: m, with: {name: s}}
`)
	rep, err := engine.Run(context.Background(), g, engine.RunOptions{})
	if err == nil || rep.Status != engine.StatusFailed || rep.Error != err.Error() {
		t.Errorf("failed run: err %v, status %q, error %q", err, rep.Status, rep.Error)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rep, err = engine.Run(ctx, g, engine.RunOptions{})
	if !errors.Is(err, stage.ErrInterrupted) || rep.Status != engine.StatusInterrupted {
		t.Errorf("interrupted run: err %v, status %q", err, rep.Status)
	}
}

func TestValidStatName(t *testing.T) {
	for name, want := range map[string]bool{
		"plugin_restarts": true, "a1": true, "": false, "Restarts": false, "1a": false,
		"plugin-restarts": false, "plugin restarts": false, "é": false,
	} {
		if got := stage.ValidStatName(name); got != want {
			t.Errorf("ValidStatName(%q) = %v", name, got)
		}
	}
}
