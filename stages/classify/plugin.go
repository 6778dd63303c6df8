package classify

import (
	"context"
	"errors"
	"maps"
	"sync/atomic"

	"github.com/sluicehq/sluice/plugins"
	"github.com/sluicehq/sluice/stage"
)

// Plugin is a classify stage that asks a classifier plugin: a pool of
// supervised subprocesses started at Setup (package plugins). Records go
// to the plugin a batch per call, so the cost of a round trip is paid per
// batch; ProcessBatch is safe for concurrent use by the stage's workers,
// which keep several batches in flight across the pool's instances.
type Plugin struct {
	cfg  *plugins.Config
	pool atomic.Pointer[plugins.Pool] // set by Setup; read by Stats from observers
}

var (
	_ stage.BatchProcessor = (*Plugin)(nil)
	_ stage.Setupper       = (*Plugin)(nil)
	_ stage.Teardowner     = (*Plugin)(nil)
	_ stage.StatsReporter  = (*Plugin)(nil)
)

// Signature implements stage.Stage: any record kind in, the same kinds out.
// Kinds the plugin does not accept (it says which in Describe) are
// per-record errors handled by on_error.
func (p *Plugin) Signature() stage.Signature {
	return stage.Signature{In: stage.Records, Passthrough: true}
}

// Setup builds the plugin if it is named by source, starts its instances
// and initialises each with its config. An error names the plugin and
// says what failed (a missing binary, a checksum mismatch, a failing Init).
func (p *Plugin) Setup(ctx context.Context, env stage.Env) error {
	pool, err := plugins.Start(ctx, p.cfg, env.Stage, env.Log)
	if err != nil {
		return err
	}
	p.pool.Store(pool)
	return nil
}

// ProcessBatch classifies records with the plugin and emits each with the
// plugin's category, and its labels added to the record's. A record the
// plugin rejects, or that crashed it (isolated by bisection), goes to
// on_error; an error that is not about a record (the restart budget is
// spent) fails the run.
func (p *Plugin) ProcessBatch(ctx context.Context, records []stage.Record, out stage.Emitter) error {
	results, err := p.pool.Load().Classify(ctx, records)
	if err != nil {
		return err
	}
	for i := range records {
		res := &results[i]
		if res.Err != nil {
			if err := out.Reject(&records[i], res.Err); err != nil {
				return err
			}
			continue
		}
		r := records[i]
		r.Category = res.Category
		switch {
		case len(res.Labels) == 0:
		case len(r.Labels) == 0:
			r.Labels = res.Labels // read-only, like every record's labels
		default:
			labels := make(map[string]string, len(r.Labels)+len(res.Labels))
			maps.Copy(labels, r.Labels)
			maps.Copy(labels, res.Labels)
			r.Labels = labels
		}
		if err := out.Emit(&r); err != nil {
			return err
		}
	}
	return nil
}

// Stats implements stage.StatsReporter: the plugin's restarts so far, the
// batches in flight now, and the peak memory of its largest process among
// the instances stopped so far. It is safe for concurrent use, also before
// Setup and after Teardown (the pool keeps its final counts).
func (p *Plugin) Stats() []stage.Stat {
	restarts, inflight, peak := 0, 0, int64(0)
	if pool := p.pool.Load(); pool != nil {
		restarts, inflight, peak = pool.Restarts(), pool.InFlight(), pool.PeakRSS()
	}
	return []stage.Stat{
		{Name: stage.StatPluginRestarts, Help: "Plugin instances replaced after a crash or a hung call.", Kind: stage.StatCounter, Value: float64(restarts)},
		{Name: stage.StatPluginInFlight, Help: "Batches sent to plugin instances and not answered yet.", Kind: stage.StatGauge, Value: float64(inflight)},
		{Name: stage.StatPluginPeakRSS, Help: "Peak resident set size of the largest process of the plugin's instances stopped so far.", Kind: stage.StatGauge, Value: float64(peak)},
	}
}

// Teardown stops every plugin process (Shutdown, then a kill of its process
// group under a timeout).
func (p *Plugin) Teardown(ctx context.Context) error {
	pool := p.pool.Load()
	if pool == nil {
		return nil
	}
	err := pool.Close(ctx)
	if errors.Is(err, plugins.ErrClosed) {
		return nil
	}
	return err
}
