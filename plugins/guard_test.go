//go:build linux

package plugins

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestGuardEndsWhatThePluginStarted runs plugins that each start a child
// in their group and one in a session of their own: when an instance
// crashes, its children go with it while the pool goes on, the crash is
// reported with the plugin's own exit status (not the guard's), and when
// the pool is closed nothing of it is left.
func TestGuardEndsWhatThePluginStarted(t *testing.T) {
	marker := fmt.Sprintf("SLUICE_TEST_RUN=%s-%d", t.Name(), time.Now().UnixNano())
	cfg := testConfig(2, "", map[string]any{"spawn": true})
	k, v, _ := bytes.Cut([]byte(marker), []byte("="))
	cfg.Env = map[string]string{string(k): string(v)}
	cfg.MaxRestarts = 4
	p, _ := startPool(t, cfg)
	if n := len(sleepers(marker)); n != 4 {
		t.Fatalf("%d sleep processes after start, want 4 (two per instance)", n)
	}
	before := sleepers(marker)

	recs := records(8, map[int]string{3: "POISON"})
	got, err := p.Classify(t.Context(), recs)
	if err != nil {
		t.Fatalf("Classify: %v", err)
	}
	checkResults(t, "", recs, got, map[int]error{3: ErrPoisonRecord})
	if msg := contains(got[3].Err.Error(), "crashed (exit status 2)", "panic: poison record"); msg != "" {
		t.Errorf("poison error %q: %s", got[3].Err, msg)
	}
	// Each crash (at least two: the batch's, then the record's alone)
	// replaced an instance; the children of the crashed ones are gone.
	if alive := waitGone(before, time.Second); len(alive) > 2 {
		t.Errorf("children of crashed instances still running: %v of %v", alive, before)
	}

	if err := p.Close(t.Context()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if left := waitGone(sleepers(marker), time.Second); len(left) > 0 {
		t.Errorf("processes started by the plugin still running after Close: %v", left)
	}
}

// sleepers returns the live sleep processes whose environment holds
// marker (KEY=VALUE).
func sleepers(marker string) []int {
	var out []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		comm, _ := os.ReadFile("/proc/" + e.Name() + "/comm")
		env, _ := os.ReadFile("/proc/" + e.Name() + "/environ")
		if string(bytes.TrimSpace(comm)) == "sleep" && bytes.Contains(append([]byte{0}, env...), []byte("\x00"+marker+"\x00")) && processAlive(pid) {
			out = append(out, pid)
		}
	}
	return out
}

// TestMaxMemory runs a plugin that keeps 8 MiB more each batch of 200 ms
// under plugin.max_memory 160 MiB (far enough above twice its usage a
// second after start that the warning comes first, however fast the
// machine): a warning says its memory keeps growing;
// the guard kills it when it goes over, which is handled as a crash (the
// instance is replaced and the batch retried); the message names the limit
// and the usage.
func TestMaxMemory(t *testing.T) {
	cfg := testConfig(1, "", map[string]any{"leak": 8, "sleep": "200ms"})
	cfg.MaxMemory = 160 << 20
	cfg.BatchSize = 1
	cfg.MaxRestarts = 100
	p, sink := startPool(t, cfg)
	recs := records(26, nil)
	got, err := p.Classify(t.Context(), recs)
	if err != nil {
		t.Fatalf("Classify: %v", err)
	}
	checkResults(t, "", recs, got, nil)
	if p.Restarts() == 0 {
		t.Errorf("no restart: the plugin was never killed for its memory")
	}
	r, ok := sink.find(func(r logRecord) bool {
		return strings.Contains(r.Msg, "over plugin.max_memory (160MiB)")
	})
	if !ok {
		t.Fatalf("no log record says the plugin went over plugin.max_memory")
	}
	if m := contains(r.Msg, "sluice: the plugin uses", "MiB of memory", "killed", "raise plugin.max_memory"); m != "" {
		t.Errorf("memory message %q: %s", r.Msg, m)
	}
	if _, ok := sink.find(func(r logRecord) bool {
		return strings.Contains(r.Msg, "the plugin's memory keeps growing")
	}); !ok {
		t.Errorf("no warning that the plugin's memory keeps growing")
	}
	if _, ok := sink.find(func(r logRecord) bool {
		return strings.Contains(r.Msg, "plugin instance failed") && strings.Contains(r.Attrs["failure"], "exit status 137")
	}); !ok {
		t.Errorf("the kill was not handled as a crash of the instance")
	}
}
