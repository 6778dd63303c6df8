package sdk

import (
	"runtime"
	"runtime/debug"
	"testing"
)

func TestGCTuner(t *testing.T) {
	old := debug.SetGCPercent(100)
	defer debug.SetGCPercent(old)

	t.Setenv("GOGC", "50")
	newGCTuner().update()
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("with GOGC set, the tuner changed the GC percentage to %d", got)
	}

	g := &gcTuner{percent: 100}
	g.sample = newGCTuner().sample
	runtime.GC() // a known live heap: this test's, a few MB
	g.update()
	got := debug.SetGCPercent(100)
	if got < 100 || got > 6400 {
		t.Errorf("GC percentage %d for a small live heap, want a headroom of about %d MiB", got, gcHeadroom>>20)
	}
	if got != g.percent {
		t.Errorf("tuner says %d, runtime has %d", g.percent, got)
	}
}
