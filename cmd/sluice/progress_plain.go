package main

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/sluicehq/sluice/engine"
)

// plainDisplay logs one progress line every interval, and a last one when
// the run ends: for output that is not a terminal (CI logs, nohup), where
// a redrawn display would be noise. The lines are info-level log records,
// so they follow --log-format (logfmt text or JSON) and --log-level.
type plainDisplay struct {
	mon    *engine.Monitor
	log    *slog.Logger
	cancel context.CancelFunc
	wg     sync.WaitGroup
	t      tracker // touched by the loop goroutine, then by stop after it returned
}

func startPlain(mon *engine.Monitor, log *slog.Logger, interval time.Duration) *plainDisplay {
	ctx, cancel := context.WithCancel(context.Background())
	d := &plainDisplay{mon: mon, log: log, cancel: cancel}
	d.wg.Go(func() { d.loop(ctx, interval) })
	return d
}

func (d *plainDisplay) loop(ctx context.Context, interval time.Duration) {
	sample := time.NewTicker(min(sampleEvery, interval))
	defer sample.Stop()
	next := time.Now().Add(interval)
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-sample.C:
			s := d.mon.Snapshot()
			if s.Phase < engine.PhaseRunning {
				continue
			}
			v := d.t.update(s)
			if !now.Before(next) {
				d.print(v, false)
				next = now.Add(interval)
			}
		}
	}
}

// stop prints the last line: 100% when the run succeeded (every input was
// handled, even a file that failed under on_error skip before its end).
func (d *plainDisplay) stop(rep *engine.Report) {
	d.cancel()
	d.wg.Wait()
	v := d.t.update(d.mon.Snapshot())
	v.final(rep)
	if v.status != engine.StatusOK && v.empty() {
		return // nothing ran (setup failed): the error says it all
	}
	d.print(v, true)
}

// print logs v as one line. Its attributes are stable, for tools that read
// CI logs: percent (when the total is known), bytes, total_bytes, speed,
// bytes_per_s, records, records_per_s, eta (a duration, "unknown" before
// the rate is, "finishing" once the input is read), elapsed, file and
// bottleneck (when there is one); the last line has status instead of file
// and bottleneck.
func (d *plainDisplay) print(v *view, final bool) {
	attrs := make([]slog.Attr, 0, 14)
	if v.known {
		attrs = append(attrs, slog.Float64("percent", roundTo(100*v.fraction, 1)))
	}
	attrs = append(attrs,
		slog.Int64("bytes", v.snap.ReadBytes),
		slog.Int64("total_bytes", v.snap.TotalBytes),
		slog.String("speed", humanRate(v.bytesPerSec)),
		slog.Int64("bytes_per_s", int64(v.bytesPerSec)),
		slog.Int64("records", v.records),
		slog.Int64("records_per_s", int64(v.recordsPerSec)),
	)
	switch {
	case final:
		attrs = append(attrs, slog.String("eta", "0s"))
	case v.etaOK:
		attrs = append(attrs, slog.String("eta", formatETA(v.eta)))
	case v.known && v.snap.ReadBytes >= v.snap.TotalBytes:
		attrs = append(attrs, slog.String("eta", "finishing")) // input read; the stages drain
	default:
		attrs = append(attrs, slog.String("eta", "unknown"))
	}
	attrs = append(attrs, slog.String("elapsed", v.snap.Elapsed.Round(time.Second).String()))
	if v.snap.File != "" && !final {
		attrs = append(attrs, slog.String("file", v.snap.File))
	}
	if v.bottleneck != "" && !final {
		attrs = append(attrs, slog.String("bottleneck", v.bottleneck))
	}
	msg := "progress"
	if final {
		attrs = append(attrs, slog.String("status", v.status))
		msg = "progress: end of run"
	}
	d.log.LogAttrs(context.Background(), slog.LevelInfo, msg, attrs...)
	if d.log.Enabled(context.Background(), slog.LevelDebug) {
		for i, st := range v.snap.Stages {
			sv := v.stages[i]
			d.log.LogAttrs(context.Background(), slog.LevelDebug, "stage progress",
				slog.String("stage", st.Name), slog.Int64("in", st.In), slog.Int64("out", st.Out),
				slog.Int64("records_per_s", int64(sv.rate)), slog.Float64("busy", roundTo(sv.busy, 2)),
				slog.Int("queued", st.Queued), slog.Int("queue_cap", st.QueueCap), slog.Bool("done", st.Done))
		}
	}
}

func roundTo(x float64, digits int) float64 {
	p := 1.0
	for range digits {
		p *= 10
	}
	return float64(int64(x*p+0.5)) / p
}
