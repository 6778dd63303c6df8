//go:build linux

package plugins

import (
	"log/slog"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/sluicehq/sluice/stage"
)

// TestPeakRSSIsThePluginsNotTheCompilers builds the test plugin from
// source (so the go command runs below the host, as on a first run) and
// checks that PeakRSS is the plugin's own high-water mark, read from
// /proc/PID/status (VmHWM) of every process of the instance just before
// it stops, and not the go command's, which getrusage(RUSAGE_CHILDREN)
// reports.
func TestPeakRSSIsThePluginsNotTheCompilers(t *testing.T) {
	isolateCache(t)
	cfg := testConfig(1, "", map[string]any{"prefix": "src:"})
	cfg.Command, cfg.Source, cfg.Dir = nil, "testplugin", "testdata"
	p, err := Start(t.Context(), cfg, "labelled", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer checkNoPluginLeft(t)
	if _, err := p.Classify(t.Context(), records(50, nil)); err != nil {
		t.Fatal(err)
	}
	if got := p.PeakRSS(); got != 0 {
		t.Errorf("PeakRSS() = %d before any instance exited, want 0", got)
	}
	var hwm int64 // the largest VmHWM of the guard and the processes below it
	for _, pid := range p.PIDs() {
		for _, q := range append([]int{pid}, descendants(pid)...) {
			hwm = max(hwm, vmHWM(t, q))
		}
	}
	if err := p.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	peak := p.PeakRSS()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru); err != nil {
		t.Fatal(err)
	}
	children := int64(ru.Maxrss) << 10 // the go command building the plugin, among others
	t.Logf("PeakRSS %s, VmHWM before Close %s, RUSAGE_CHILDREN %s", stage.ByteSize(peak), stage.ByteSize(hwm), stage.ByteSize(children))
	if hwm == 0 || peak < hwm || peak > hwm+hwm/2 {
		t.Errorf("PeakRSS() = %d, want the plugin's VmHWM %d (up to 50%% more for what it used while stopping)", peak, hwm)
	}
	if children <= peak {
		t.Errorf("RUSAGE_CHILDREN's %d is not above the plugin's %d: the go command was not measured, so this test shows nothing", children, peak)
	}
}

// vmHWM returns the peak resident set size of pid, in bytes, from
// /proc/PID/status; 0 for a process gone.
func vmHWM(t *testing.T, pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("/proc/%d/status: %q", pid, line)
			}
			return kb << 10
		}
	}
	return 0
}
