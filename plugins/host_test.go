package plugins

import (
	"bufio"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestHostDies runs a host process (testdata/testhost) with two plugin
// instances, signals it, and checks that no plugin process is left: at once
// after SIGKILL (the parent-death signal), and after an orderly Close on
// SIGINT.
func TestHostDies(t *testing.T) {
	tests := []struct {
		name     string
		sig      syscall.Signal
		wantExit int // -1: killed by the signal
	}{
		{"SIGKILL", syscall.SIGKILL, -1},
		{"SIGINT", syscall.SIGINT, 0},
		{"SIGTERM", syscall.SIGTERM, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			host := exec.Command(testHost, testPlugin, "2")
			// go-plugin's socket directories go to TMPDIR: none may be
			// left, even after SIGKILL.
			tmp := t.TempDir()
			host.Env = append(os.Environ(), "TMPDIR="+tmp)
			stdout, err := host.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var stderr strings.Builder
			host.Stderr = &stderr
			if err := host.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { host.Process.Kill(); host.Wait() })
			line, err := bufio.NewReader(stdout).ReadString('\n')
			if err != nil {
				t.Fatalf("reading the host's pids: %v\n%s", err, stderr.String())
			}
			var pids []int
			for _, f := range strings.Fields(strings.TrimPrefix(line, "pids ")) {
				pid, err := strconv.Atoi(f)
				if err != nil {
					t.Fatalf("bad pids line %q", line)
				}
				pids = append(pids, pid)
			}
			if len(pids) != 2 || len(waitGone(pids, 0)) != 2 {
				t.Fatalf("want two live plugin processes, got %v", pids)
			}
			if err := host.Process.Signal(tt.sig); err != nil {
				t.Fatal(err)
			}
			err = host.Wait()
			code := host.ProcessState.ExitCode()
			if code != tt.wantExit {
				t.Errorf("host exit: %v (code %d), want code %d\n%s", err, code, tt.wantExit, stderr.String())
			}
			if alive := waitGone(pids, time.Second); len(alive) > 0 {
				t.Errorf("plugin processes alive 1s after the host's %s: %v", tt.sig, alive)
			}
			if left, err := os.ReadDir(tmp); err != nil || len(left) > 0 {
				var names []string
				for _, e := range left {
					names = append(names, e.Name())
				}
				t.Errorf("left in TMPDIR after the host's %s: %v %v", tt.sig, names, err)
			}
		})
	}
}
