package main

import (
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"sync"
	"time"

	"github.com/mattn/go-isatty"

	"github.com/sluicehq/sluice/engine"
	"github.com/sluicehq/sluice/plugins"
)

// Progress modes, as --progress takes them (auto resolves to one of the
// others).
const (
	progressAuto  = "auto"
	progressTTY   = "tty"
	progressPlain = "plain"
	progressNone  = "none"
)

// resolveProgress turns --progress into tty, plain or none: auto draws the
// live display when stderr is a terminal (and TERM is not "dumb"), and
// prints plain lines otherwise (CI logs, nohup).
func resolveProgress(mode string, stderr io.Writer) (string, error) {
	switch mode {
	case progressTTY, progressPlain, progressNone:
		return mode, nil
	case progressAuto:
		if f, ok := stderr.(*os.File); ok && isatty.IsTerminal(f.Fd()) && os.Getenv("TERM") != "dumb" {
			return progressTTY, nil
		}
		return progressPlain, nil
	}
	return "", fmt.Errorf("--progress: expected auto, tty, plain or none, got %q", mode)
}

// display shows a run's progress until stop is called with the run's
// report; stop leaves the terminal (or log) ready for the summary.
type display interface {
	stop(rep *engine.Report)
}

type noDisplay struct{}

func (noDisplay) stop(*engine.Report) {}

// startDisplay starts the display for mode. The tty display takes over
// stderr: while it runs, whatever is written to sink (the logger's
// output) is printed above it.
func startDisplay(mode string, stderr io.Writer, sink *switchWriter, mon *engine.Monitor, builds *plugins.BuildSteps, log *slog.Logger, interval time.Duration) display {
	switch mode {
	case progressTTY:
		return startTTY(stderr, sink, mon, builds)
	case progressPlain:
		return startPlain(mon, log, interval)
	}
	return noDisplay{}
}

// switchWriter is an io.Writer whose destination can change while others
// write to it: the logger writes through it, to stderr (base), or above
// the live display while that runs. A write the display refuses (it has
// stopped, or its terminal went away) goes to base, so no line is lost.
type switchWriter struct {
	mu   sync.Mutex
	base io.Writer
	w    io.Writer // nil: base
}

func (s *switchWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.w != nil {
		if n, err := s.w.Write(p); err == nil {
			return n, nil
		}
	}
	return s.base.Write(p)
}

// set makes w the destination; nil means base.
func (s *switchWriter) set(w io.Writer) {
	s.mu.Lock()
	s.w = w
	s.mu.Unlock()
}

// smoothing is the time constant of the displayed rates: a rate follows a
// change of speed within a few seconds, without jumping at every batch.
const smoothing = 3 * time.Second

// ewma is an exponentially weighted moving average over time: each sample
// weighs 1-exp(-dt/tau), so the average does not depend on how often it is
// sampled.
type ewma struct {
	v  float64
	ok bool
}

func (e *ewma) add(x float64, dt, tau time.Duration) {
	if !e.ok {
		e.v, e.ok = x, true
		return
	}
	e.v += (x - e.v) * (1 - math.Exp(-dt.Seconds()/tau.Seconds()))
}

// view is what the displays show: a snapshot plus smoothed rates, the ETA
// and the bottleneck. A tracker makes one per snapshot.
type view struct {
	snap engine.Snapshot
	// fraction is ReadBytes/TotalBytes; known is false without a total.
	fraction float64
	known    bool
	// records is the number of records made from input files so far (what
	// the stages that take File records emitted).
	records int64
	// bytesPerSec and recordsPerSec are smoothed.
	bytesPerSec, recordsPerSec float64
	// eta is the time left at the smoothed byte rate; etaOK is false until
	// there is a total and a rate.
	eta   time.Duration
	etaOK bool
	// stages are in the snapshot's order.
	stages []stageView
	// bottleneck names the stage holding the pipeline back, "" when none
	// stands out.
	bottleneck string
	// status is the run's outcome (engine.StatusOK...) in the last view, ""
	// before.
	status string
}

// stageView is one stage's smoothed numbers.
type stageView struct {
	rate  float64 // records per second: received, or emitted by a stage that reads files
	busy  float64 // busy time per worker per second, 0 to 1
	queue float64 // smoothed fill of the input queue, 0 to 1
}

// stageCount is what a stage's rate counts: the records it received, or
// for a stage that takes files (a splitter) the records it made of them.
func stageCount(st *engine.StageSnapshot) int64 {
	if st.Files > 0 {
		return st.Out
	}
	return st.In
}

// tracker turns successive snapshots of one run into views. Its clock is
// the snapshots' Elapsed, so it can be driven by made-up snapshots in
// tests. It is not safe for concurrent use.
type tracker struct {
	prev    *engine.Snapshot
	bytes   ewma
	records ewma
	stages  []struct{ in, busy, queue ewma }
}

// splitterRecords sums the output of the stages that took File records:
// the records made from input files.
func splitterRecords(s *engine.Snapshot) int64 {
	var n int64
	for _, st := range s.Stages {
		if st.Files > 0 {
			n += st.Out
		}
	}
	return n
}

func (t *tracker) update(s engine.Snapshot) *view {
	v := &view{snap: s, records: splitterRecords(&s)}
	v.fraction, v.known = s.Fraction()
	if len(t.stages) != len(s.Stages) {
		t.stages = make([]struct{ in, busy, queue ewma }, len(s.Stages))
	}
	dt := time.Duration(0)
	if t.prev != nil {
		dt = s.Elapsed - t.prev.Elapsed
	}
	for i, st := range s.Stages {
		sm := &t.stages[i]
		var q float64
		if st.QueueCap > 0 {
			q = float64(st.Queued) / float64(st.QueueCap)
		}
		switch {
		case dt > 0 && t.prev != nil && len(t.prev.Stages) == len(s.Stages):
			p := t.prev.Stages[i]
			sm.in.add(float64(stageCount(&st)-stageCount(&p))/dt.Seconds(), dt, smoothing)
			if st.Workers > 0 {
				sm.busy.add(float64(st.Busy-p.Busy)/float64(dt)/float64(st.Workers), dt, smoothing)
			}
			sm.queue.add(q, dt, smoothing)
		case t.prev == nil:
			sm.queue.add(q, 0, smoothing)
		}
		v.stages = append(v.stages, stageView{rate: sm.in.v, busy: min(sm.busy.v, 1), queue: sm.queue.v})
	}
	if dt > 0 {
		t.bytes.add(float64(s.ReadBytes-t.prev.ReadBytes)/dt.Seconds(), dt, smoothing)
		t.records.add(float64(v.records-splitterRecords(t.prev))/dt.Seconds(), dt, smoothing)
	}
	v.bytesPerSec, v.recordsPerSec = t.bytes.v, t.records.v
	if v.known && v.bytesPerSec > 0 && s.ReadBytes < s.TotalBytes {
		v.eta = time.Duration(float64(s.TotalBytes-s.ReadBytes) / v.bytesPerSec * float64(time.Second))
		v.etaOK = true
	}
	v.bottleneck = bottleneck(&s, v.stages)
	if t.prev == nil || dt > 0 {
		t.prev = &s
	}
	return v
}

// final turns v, the view of a finished run, into its last frame: the
// rates become averages over the whole run, as the summary gives them, and
// a run that succeeded has read all its input (even a file that failed
// under on_error skip counts as handled).
func (v *view) final(rep *engine.Report) {
	secs := v.snap.Elapsed.Seconds()
	v.status = engine.StatusFailed
	if rep != nil {
		v.status = rep.Status
	}
	if v.status == engine.StatusOK && v.known {
		v.fraction = 1
	}
	v.etaOK, v.eta = false, 0
	if secs <= 0 {
		return
	}
	v.bytesPerSec = float64(v.snap.ReadBytes) / secs
	v.recordsPerSec = float64(v.records) / secs
	for i := range v.stages {
		st := &v.snap.Stages[i]
		v.stages[i].rate = float64(stageCount(st)) / secs
		if st.Workers > 0 {
			v.stages[i].busy = min(st.Busy.Seconds()/secs/float64(st.Workers), 1)
		}
		v.stages[i].queue = 0
	}
	v.bottleneck = ""
}

// empty reports whether nothing happened in the run: no input read, no
// record moved (its setup failed, or it was stopped at once).
func (v *view) empty() bool {
	if v.snap.ReadBytes > 0 {
		return false
	}
	for _, st := range v.snap.Stages {
		if st.In > 0 || st.Out > 0 {
			return false
		}
	}
	return true
}

// bottleneck returns the stage holding the pipeline back: of the running
// stages whose input queue stays mostly full (so their producers wait on
// them) while the queues they feed do not (so they are not waiting on
// someone else), the busiest. It returns "" when no stage's queue is
// full: the pipeline then keeps up with its input.
func bottleneck(s *engine.Snapshot, views []stageView) string {
	index := map[string]int{}
	for i, st := range s.Stages {
		index[st.Name] = i
	}
	best, bestBusy := "", -1.0
	for i, st := range s.Stages {
		if st.QueueCap == 0 || st.Done || views[i].queue < 0.75 {
			continue
		}
		blocked := false
		for _, o := range st.Outputs {
			if j, ok := index[o]; ok && views[j].queue >= 0.5 {
				blocked = true
			}
		}
		if !blocked && views[i].busy > bestBusy {
			best, bestBusy = st.Name, views[i].busy
		}
	}
	return best
}

// sampleEvery is how often the displays take a snapshot: often enough for
// a live display, rare enough to cost nothing (a snapshot is a few atomic
// loads per stage).
const sampleEvery = 200 * time.Millisecond

// formatCount shortens a count: 999, 12.3k, 1.20M, 3.40G.
func formatCount(n float64) string {
	switch a := math.Abs(n); {
	case a < 1000:
		return fmt.Sprintf("%.0f", n)
	case a < 1e6:
		return fmt.Sprintf("%.1fk", n/1e3)
	case a < 1e9:
		return fmt.Sprintf("%.2fM", n/1e6)
	}
	return fmt.Sprintf("%.2fG", n/1e9)
}

// formatETA writes a duration left as 45s, 12m05s or 3h04m (rounded to
// the unit shown last).
func formatETA(d time.Duration) string {
	if d >= time.Hour {
		d = d.Round(time.Minute)
	} else {
		d = d.Round(time.Second)
	}
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 1000*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return "a long time"
}

// humanRate writes a byte rate as humanBytes does sizes.
func humanRate(bps float64) string {
	return humanBytes(int64(bps)) + "/s"
}
