package sdk

import (
	"os"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// gcHeadroom is how much a plugin process may allocate between two garbage
// collections, at least: the heap may grow to its live size plus this.
//
// A plugin's live heap is often small (a few MB of state) while every
// batch allocates its request, its records and its answers anew. With Go's
// default (GOGC=100: collect when the heap has doubled, and not below
// 4 MB) such a process collects every few MB, about once per batch, and
// the collector took a sixth of a plugin's CPU time on the reference job.
// A fixed headroom makes collections rarer for small heaps, while a plugin
// that holds a large structure (a model of some GB) keeps GOGC=100's
// proportion and does not grow by a multiple of it.
//
// Measured on bench --job plugin (100 MB, two instances): 16 MiB saves
// about 9% of the job's CPU time for about 55 MB more peak RSS per
// instance (80 MB instead of 24); 8 MiB saves 7% for 24 MB; 64 MiB saves
// no more than 16 and costs 110 MB.
const gcHeadroom = 16 << 20

// gcTuner keeps the collector's target at the live heap plus gcHeadroom
// (and never below GOGC=100), re-reading the live heap after each batch:
// state built in Init or a cache that grows later are taken into account.
// It does nothing when the environment sets GOGC, which then rules.
type gcTuner struct {
	mu      sync.Mutex
	off     bool
	percent int
	sample  []metrics.Sample
}

func newGCTuner() *gcTuner {
	_, set := os.LookupEnv("GOGC")
	return &gcTuner{off: set, percent: 100, sample: []metrics.Sample{{Name: "/gc/heap/live:bytes"}}}
}

// update sets the GC percentage for the current live heap. It changes it
// only when the new value differs by more than a quarter, so that most
// calls cost one read of a runtime metric.
func (g *gcTuner) update() {
	if g == nil || g.off {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	metrics.Read(g.sample)
	if g.sample[0].Value.Kind() != metrics.KindUint64 {
		g.off = true // a runtime without the metric: leave GOGC alone
		return
	}
	live := max(g.sample[0].Value.Uint64(), 1<<20)
	percent := int(min(max(100, gcHeadroom*100/live), 6400))
	if percent*4 > g.percent*5 || percent*5 < g.percent*4 {
		g.percent = percent
		debug.SetGCPercent(percent)
	}
}
