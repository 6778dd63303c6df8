package engine

import (
	"github.com/sluicehq/sluice/stage"
	"sync/atomic"
	"time"
)

// Phase is where a run is in its life.
type Phase int32

// The phases of a run, in order.
const (
	// PhaseIdle: no run has been attached to the Monitor yet.
	PhaseIdle Phase = iota
	// PhaseSetup: stages are being set up (files listed, plugins started).
	PhaseSetup
	// PhaseRunning: records flow.
	PhaseRunning
	// PhaseCommitting: every stage has finished; outputs are being made
	// final.
	PhaseCommitting
	// PhaseDone: Run has returned.
	PhaseDone
)

// String returns the phase's name in lower case ("running").
func (p Phase) String() string {
	switch p {
	case PhaseSetup:
		return "setup"
	case PhaseRunning:
		return "running"
	case PhaseCommitting:
		return "committing"
	case PhaseDone:
		return "done"
	}
	return "idle"
}

// Monitor observes a run while it goes, for progress displays and metrics.
// Pass it in RunOptions; Snapshot may then be called from any goroutine,
// before, during and after the run. The zero value is ready to use. A
// Monitor shows the last run it was given.
//
// Observation costs the run nothing per record: the runner keeps its
// counters whether or not anyone looks (atomic adds once per batch), and a
// Snapshot only reads them.
type Monitor struct {
	r atomic.Pointer[runner]
}

func (m *Monitor) attach(r *runner) {
	if m != nil {
		m.r.Store(r)
	}
}

// Interrupt stops the run by calling cancel (which must cancel the run's
// context), unless the run is committing its outputs: a commit is never
// left half done, so it goes on, cancel is not called, and the run ends as
// it would have. It returns the phase the run was in, so that the caller
// can say what happens: PhaseDone once the outputs are committed (only
// teardown is left; cancel is not called); PhaseIdle (no run attached
// yet) also cancels.
func (m *Monitor) Interrupt(cancel func()) Phase {
	var r *runner
	if m != nil {
		r = m.r.Load()
	}
	if r == nil {
		cancel()
		return PhaseIdle
	}
	return r.interrupt(cancel)
}

// Snapshot returns the run's state now. Its cost is a few atomic loads per
// stage, plus the Stats calls of stages that implement StatsReporter, and
// a few small allocations; taking one every 100ms is harmless.
//
// The counters are loaded one by one while records flow, so a snapshot of
// a running pipeline may be off by the batches moving between two loads:
// the ledger adds up only once the run is done.
func (m *Monitor) Snapshot() Snapshot {
	var r *runner
	if m != nil {
		r = m.r.Load()
	}
	if r == nil {
		return Snapshot{}
	}
	return r.snapshot()
}

// Snapshot is a run's state at one moment.
type Snapshot struct {
	// Pipeline is the pipeline's name and PipelineFile the file it came
	// from.
	Pipeline     string
	PipelineFile string
	Phase        Phase
	Started      time.Time
	// Elapsed is the time since the run started, or the run's duration
	// once it is done.
	Elapsed time.Duration
	// TotalBytes is the input size known up front: the size on disk of the
	// files of every source that implements Sizer; 0 while unknown (before
	// Setup, or when no source knows its size).
	TotalBytes int64
	// ReadBytes is how much input has been consumed, in the same unit
	// (bytes on disk, compressed bytes for compressed files); see
	// ReadBytes in Report for how it is counted. It never exceeds
	// TotalBytes when that is known.
	ReadBytes int64
	// File is the input file most recently taken up by any stage (the last
	// File record a worker started on), "" before the first.
	File string
	// Stages are in the graph's topological order.
	Stages []StageSnapshot
}

// Fraction returns ReadBytes/TotalBytes, between 0 and 1, and false when
// the total is not known.
func (s *Snapshot) Fraction() (float64, bool) {
	if s.TotalBytes <= 0 {
		return 0, false
	}
	return float64(s.ReadBytes) / float64(s.TotalBytes), true
}

// StageSnapshot is one stage's state: its ledger so far and what it is
// doing now.
type StageSnapshot struct {
	StageReport
	// Outputs names the stages this one feeds.
	Outputs []string
	// Queued is the number of batches waiting in the stage's input channel
	// and QueueCap its capacity (the pipeline's queue setting); both are 0
	// for sources. A queue that stays full while the queues of the
	// stage's consumers do not marks the stage as the bottleneck.
	Queued, QueueCap int
	// File is the last File record this stage took up, "" if none.
	File string
	// Done is set once the stage has returned: its input is exhausted and
	// its Finish has run.
	Done bool
	// Latency is the stage's batch latency histogram.
	Latency Histogram
}

// snapshot builds a Snapshot from the runner's counters.
func (r *runner) snapshot() Snapshot {
	phase := Phase(r.phase.Load())
	s := Snapshot{Pipeline: r.g.Name, PipelineFile: r.g.File, Phase: phase, Started: r.started}
	if end := r.ended.Load(); end != 0 {
		s.Elapsed = time.Duration(end - r.started.UnixNano())
	} else {
		s.Elapsed = time.Since(r.started)
	}
	if f := r.lastFile.Load(); f != nil {
		s.File = *f
	}
	s.TotalBytes = r.totalBytes.Load()
	s.ReadBytes = r.readBytes(s.TotalBytes)
	for _, sr := range r.stages {
		st := StageSnapshot{
			StageReport: sr.ledger(),
			Done:        sr.done.Load(),
			Latency:     sr.lat.snapshot(),
		}
		st.Batches = int64(st.Latency.Count)
		st.RecordsPerSecond = recordRate(sr.node, st.StageReport, s.Elapsed)
		for _, o := range sr.outs {
			st.Outputs = append(st.Outputs, o.node.Name)
		}
		if sr.in != nil {
			st.Queued, st.QueueCap = len(sr.in), cap(sr.in)
		}
		if f := sr.file.Load(); f != nil {
			st.File = *f
		}
		if phase >= PhaseRunning {
			st.Stats = sr.stats()
		}
		s.Stages = append(s.Stages, st)
	}
	return s
}

// readBytes is the input consumed so far: for each source, the most that
// any of its direct consumers (or the source itself) reports in BytesIn.
// Taking the most rather than the sum counts a fan-out of the same files to
// two splitters once, and ignores consumers that do not report bytes.
func (r *runner) readBytes(total int64) int64 {
	var n int64
	for _, sr := range r.stages {
		if sr.in != nil {
			continue
		}
		most := sr.c.BytesIn.Load()
		for _, o := range sr.outs {
			most = max(most, o.c.BytesIn.Load())
		}
		n += most
	}
	if total > 0 && n > total {
		n = total // a file that grew after it was listed
	}
	return n
}

// stats returns the stage's own numbers, if it reports any.
func (sr *stageRun) stats() Stats {
	rep, ok := sr.node.Stage.(stage.StatsReporter)
	if !ok {
		return nil
	}
	var out Stats
	_ = sr.protect(func() error { out = rep.Stats(); return nil })
	return out
}

// noteFile records that the stage took up a File record; it is called
// once per batch, and File records travel one per batch.
func (sr *stageRun) noteFile(b *batch) {
	if len(b.Records) == 0 || b.Records[0].Type != stage.File {
		return
	}
	f := b.Records[0].Source.File
	p := &f
	sr.file.Store(p)
	sr.files.Add(1)
	sr.r.lastFile.Store(p)
}
