package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mattn/go-runewidth"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/sluicehq/sluice/engine"
	"github.com/sluicehq/sluice/plugins"
)

// ttyDisplay is the live display on a terminal, drawn by mpb: a bar of the
// input read with percent, sizes, smoothed rates and ETA; the file being
// read; and one line per stage with its counts, rate, how busy its workers
// are and how full its input queue is, the bottleneck marked.
//
// A sampler goroutine takes a snapshot every sampleEvery and publishes a
// view; mpb's own goroutine redraws from the latest view. Neither touches
// the run: the cost to the pipeline is the snapshot's atomic loads.
type ttyDisplay struct {
	mon    *engine.Monitor
	builds *plugins.BuildSteps // plugins built from source during setup
	sink   *switchWriter
	p      *mpb.Progress
	main   *mpb.Bar
	rows   []*mpb.Bar
	cur    atomic.Pointer[view]
	cancel context.CancelFunc
	wg     sync.WaitGroup
	t      tracker
}

// stage rows are named with this width at most; longer names are cut.
const maxNameWidth = 24

func startTTY(stderr io.Writer, sink *switchWriter, mon *engine.Monitor, builds *plugins.BuildSteps) *ttyDisplay {
	ctx, cancel := context.WithCancel(context.Background())
	d := &ttyDisplay{mon: mon, builds: builds, sink: sink, cancel: cancel}
	d.cur.Store(d.t.update(mon.Snapshot()))
	d.p = mpb.New(mpb.WithOutput(stderr), mpb.WithAutoRefresh(), mpb.WithRefreshRate(sampleEvery))

	d.main = d.p.New(0, mpb.BarStyle().Lbound("▕").Rbound("▏").Filler("█").Tip("▌").Padding("░").Refiller("█"),
		mpb.BarWidth(30),
		mpb.PrependDecorators(decor.Any(func(decor.Statistics) string {
			if name := d.cur.Load().snap.Pipeline; name != "" {
				return name
			}
			return "pipeline"
		}, decor.WC{C: decor.DindentRight | decor.DextraSpace})),
		mpb.AppendDecorators(decor.Any(func(decor.Statistics) string { return d.headline() })),
	)
	d.rows = append(d.rows, d.p.New(0, mpb.NopStyle(), mpb.BarFillerTrim(),
		mpb.PrependDecorators(decor.Any(func(s decor.Statistics) string {
			return d.fileLine(s.AvailableWidth)
		}))))

	// One row per stage; the set of stages is fixed by the graph, so the
	// snapshot taken now (the run may not have started) names them all,
	// once Run has attached the Monitor. Rows are added when first seen.
	d.addStageRows(d.cur.Load())
	d.wg.Go(func() { d.loop(ctx) })
	sink.set(d.p)
	return d
}

// addStageRows adds a header row and a row per stage, if not added yet.
func (d *ttyDisplay) addStageRows(v *view) {
	if len(d.rows) > 1 || len(v.snap.Stages) == 0 {
		return
	}
	header := []string{"  stage", "kind", "in", "out", "rate/s", "busy", "", ""}
	d.addRow(func(*view) []string { return header }, mpb.BarFillerFunc(func(w io.Writer, s decor.Statistics) error {
		if s.AvailableWidth < queueCells+2 {
			return nil
		}
		_, err := io.WriteString(w, runewidth.FillRight(" queue", queueCells+2))
		return err
	}))
	for i := range v.snap.Stages {
		d.addRow(func(v *view) []string {
			if i >= len(v.snap.Stages) {
				return nil
			}
			return stageCells(v, i)
		}, d.queueFiller(i))
	}
}

// The columns of a stage row: name, kind, in, out and rate, busy before
// the queue gauge; then the queue count and a mark after it.
const (
	colsBefore = 6
	colsAfter  = 2
	queueCells = 8
)

// stageCells are the columns of stage i's row.
func stageCells(v *view, i int) []string {
	st, sv := &v.snap.Stages[i], v.stages[i]
	c := []string{"  " + runewidth.Truncate(st.Name, maxNameWidth, "…"), st.Kind,
		formatCount(float64(st.In)), formatCount(float64(st.Out)), "", "", "", ""}
	if st.QueueCap > 0 {
		c[1] = fmt.Sprintf("%s ×%d", st.Kind, st.Workers)
		c[4] = formatCount(sv.rate)
		c[5] = fmt.Sprintf("%.0f%%", 100*sv.busy)
		c[6] = fmt.Sprintf("%d/%d", st.Queued, st.QueueCap)
	}
	switch {
	case st.Done:
		c[7] = "✓"
	case v.bottleneck == st.Name:
		c[7] = "◀ bottleneck"
	}
	return c
}

// addRow adds a bar whose columns cells gives from the current view, the
// filler between colsBefore and colsAfter columns. Columns line up across
// rows (mpb's width sync); the name and kind are left-aligned, numbers
// right-aligned.
func (d *ttyDisplay) addRow(cells func(*view) []string, filler mpb.BarFiller) {
	col := func(j int, wc decor.WC) decor.Decorator {
		return decor.Any(func(decor.Statistics) string {
			c := cells(d.cur.Load())
			if j >= len(c) {
				return ""
			}
			return c[j]
		}, wc)
	}
	var before, after []decor.Decorator
	for j := range colsBefore {
		wc := decor.WCSyncSpace
		if j < 2 {
			wc = decor.WCSyncSpaceR
		}
		before = append(before, col(j, wc))
	}
	after = append(after, col(colsBefore, decor.WCSyncWidth), col(colsBefore+1, decor.WC{C: decor.DextraSpace}))
	d.rows = append(d.rows, d.p.MustAdd(0, filler, mpb.PrependDecorators(before...), mpb.AppendDecorators(after...)))
}

// queueFiller draws how full stage i's input queue is, in queueCells
// cells; a source, which has no queue, gets blanks.
func (d *ttyDisplay) queueFiller(i int) mpb.BarFiller {
	inner := mpb.BarStyle().Lbound("▕").Rbound("▏").Filler("█").Tip("█").Padding(" ").Build()
	return mpb.BarFillerFunc(func(w io.Writer, s decor.Statistics) error {
		if s.AvailableWidth < queueCells+2 {
			return nil
		}
		v := d.cur.Load()
		if i >= len(v.snap.Stages) || v.snap.Stages[i].QueueCap == 0 {
			_, err := io.WriteString(w, strings.Repeat(" ", queueCells+2))
			return err
		}
		st := v.snap.Stages[i]
		s.AvailableWidth, s.RequestedWidth = queueCells+2, queueCells+2
		s.Total, s.Current = int64(st.QueueCap), int64(st.Queued)
		return inner.Fill(w, s)
	})
}

// headline is the text after the main bar: percent, sizes, rates, ETA.
func (d *ttyDisplay) headline() string {
	v := d.cur.Load()
	s := &v.snap
	var b strings.Builder
	switch s.Phase {
	case engine.PhaseIdle, engine.PhaseSetup:
		// A plugin build is a step of its own: it can take seconds.
		for _, b := range d.builds.Builds() {
			if !b.Done {
				return fmt.Sprintf("building plugin %s from %s (cached after the first run)  %s", b.Plugin, b.Source, b.Duration.Round(100*time.Millisecond))
			}
		}
		return "setting up…"
	}
	if v.known {
		fmt.Fprintf(&b, "%5.1f%%  %s / %s", 100*v.fraction, humanBytes(s.ReadBytes), humanBytes(s.TotalBytes))
	} else {
		fmt.Fprintf(&b, "%s read", humanBytes(s.ReadBytes))
	}
	fmt.Fprintf(&b, "  %s  %s records  %s/s", humanRate(v.bytesPerSec), formatCount(float64(v.records)), formatCount(v.recordsPerSec))
	switch {
	case v.status == engine.StatusOK:
		fmt.Fprintf(&b, "  done in %s", s.Elapsed.Round(time.Millisecond))
	case v.status != "":
		fmt.Fprintf(&b, "  %s after %s", v.status, s.Elapsed.Round(time.Millisecond))
	case s.Phase == engine.PhaseCommitting:
		b.WriteString("  committing outputs…")
	case v.etaOK:
		b.WriteString("  ETA " + formatETA(v.eta))
	case v.known && s.ReadBytes >= s.TotalBytes:
		b.WriteString("  input read, finishing…")
	default:
		b.WriteString("  ETA –")
	}
	return b.String()
}

// fileLine names the file being read, cut from the left to fit.
func (d *ttyDisplay) fileLine(width int) string {
	v := d.cur.Load()
	if v.snap.File == "" || v.snap.Phase >= engine.PhaseCommitting {
		return ""
	}
	line := "  reading " + v.snap.File
	if width > 0 && runewidth.StringWidth(line) > width {
		path := []rune(v.snap.File)
		for len(path) > 1 && runewidth.StringWidth("  reading …"+string(path)) > width {
			path = path[1:]
		}
		line = "  reading …" + string(path)
	}
	return line
}

func (d *ttyDisplay) loop(ctx context.Context) {
	tick := time.NewTicker(sampleEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			d.publish(d.t.update(d.mon.Snapshot()), false)
		}
	}
}

// publish makes v the view the display draws, and moves the main bar.
func (d *ttyDisplay) publish(v *view, final bool) {
	d.cur.Store(v)
	d.addStageRows(v)
	if v.known {
		d.main.SetTotal(v.snap.TotalBytes, false)
		cur := v.snap.ReadBytes
		if final {
			cur = int64(v.fraction * float64(v.snap.TotalBytes))
		}
		d.main.SetCurrent(cur)
	}
}

// stop draws the final frame and returns the terminal: on success every
// bar completes (100%, every stage ticked); on failure or interrupt the
// bars are left as they were, or removed when nothing ran at all. The cursor is left below the display, where
// the summary goes, and the logger writes to stderr again.
func (d *ttyDisplay) stop(rep *engine.Report) {
	d.cancel()
	d.wg.Wait()
	v := d.t.update(d.mon.Snapshot())
	v.final(rep)
	ok := v.status == engine.StatusOK
	drop := !ok && v.empty() // nothing ran (setup failed): leave the error alone
	d.publish(v, true)
	for _, b := range append([]*mpb.Bar{d.main}, d.rows...) {
		if ok {
			b.SetTotal(-1, true)
		} else {
			b.Abort(drop)
		}
	}
	d.p.Wait()
	d.sink.set(nil)
}
