package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The tests in this file stop `sluice run` while it builds a plugin named
// by source, in a fresh plugin cache, so that go build really runs. The
// plugin is a main package of one function long enough that compiling it
// takes seconds (a new constant in it each time defeats Go's build cache),
// so go build's compile process is still at work when sluice is stopped:
// the issue was that go build's children (compile, link) outlived sluice.
// It is never started, since sluice is stopped while it builds.

// buildWorkspace writes a pipeline whose classify stage names that plugin
// by source, and returns its directory, the plugin cache directory, and
// the environment that gives sluice an empty plugin cache.
func buildWorkspace(t *testing.T) (dir, cache string, env []string) {
	t.Helper()
	dir = t.TempDir()
	cache = t.TempDir()
	var slow strings.Builder
	fmt.Fprintf(&slow, "package main\n\nimport \"fmt\"\n\nvar v [64]int\n\nfunc main() {\n\ts := %d\n", time.Now().UnixNano())
	for i := range 60000 {
		fmt.Fprintf(&slow, "\tif v[%d] > %d {\n\t\ts += v[%d]\n\t}\n", i%64, i, i*7%64)
	}
	slow.WriteString("\tfmt.Println(s)\n}\n")
	files := map[string]string{
		"slow/go.mod":  "module example.com/slow\n\ngo 1.22\n",
		"slow/main.go": slow.String(),
		"in.txt":       "a\nb\nc\n",
		"p.yaml":       buildPipeline("slow"),
	}
	for name, content := range files {
		path := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Go's build cache stays where it is (so only the plugin's package is
	// compiled), though it moves with XDG_CACHE_HOME when GOCACHE is unset.
	gocache, err := exec.Command("go", "env", "GOCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	env = append(os.Environ(),
		"XDG_CACHE_HOME="+cache, // os.UserCacheDir: the plugin cache
		"GOCACHE="+strings.TrimSpace(string(gocache)),
		"GOTOOLCHAIN=local", "GOFLAGS=")
	return dir, cache, env
}

// buildPipeline classifies the lines of in.txt with the plugin built from
// source.
func buildPipeline(source string) string {
	return fmt.Sprintf(`name: build
stages:
  files: {use: read, with: {path: in.txt}}
  lines: {use: split, from: files, with: {lines: {}}}
  labelled:
    use: classify
    from: lines
    with:
      plugin: {source: %q, instances: 1}
  sorted: {use: write, from: labelled, with: {dir: out/sorted}}
`, source)
}

// proc is what /proc/PID/stat says of a process.
type proc struct {
	pid, ppid, pgid int
	comm            string
}

// processes returns the live (not zombie) processes.
func processes() map[int]proc {
	entries, _ := os.ReadDir("/proc")
	out := map[int]proc{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(b, ')')
		j := bytes.IndexByte(b, '(')
		f := strings.Fields(string(b[i+1:]))
		if i < 0 || j < 0 || len(f) < 3 || f[0] == "Z" || f[0] == "X" {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		pgid, _ := strconv.Atoi(f[2])
		out[pid] = proc{pid, ppid, pgid, string(b[j+1 : i])}
	}
	return out
}

// descendants returns the live processes below pid.
func descendants(pid int) []proc {
	all := processes()
	below := map[int]bool{pid: true}
	var out []proc
	for changed := true; changed; {
		changed = false
		for _, p := range all {
			if below[p.ppid] && !below[p.pid] {
				below[p.pid] = true
				out = append(out, p)
				changed = true
			}
		}
	}
	return out
}

// startBuilding starts `sluice run` in dir and returns once go build has
// started compiling the plugin's package, with the processes below sluice.
func startBuilding(t *testing.T, dir string, env []string) (*exec.Cmd, *bytes.Buffer, []proc) {
	t.Helper()
	cmd := exec.Command(sluiceBin, "run", "--progress", "plain", "--report", "run.json", "p.yaml")
	cmd.Dir, cmd.Env = dir, env
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		procs := descendants(cmd.Process.Pid)
		for _, p := range procs {
			if p.comm != "compile" {
				continue
			}
			if args, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(p.pid), "cmdline")); bytes.Contains(args, []byte("\x00-p\x00main\x00")) {
				return cmd, &stderr, procs
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("go build never started compiling the plugin; processes below sluice: %v\n%s", procs, stderr.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// checkBuildGone fails the test unless, within a second, no process is
// left of those in procs or in their process groups (what go build starts
// stays in its group), and no temporary build output is in the cache.
func checkBuildGone(t *testing.T, procs []proc, cache string) {
	t.Helper()
	pids, groups := map[int]bool{}, map[int]bool{}
	for _, p := range procs {
		pids[p.pid], groups[p.pgid] = true, true
	}
	deadline := time.Now().Add(time.Second)
	for {
		var left []proc
		for _, p := range processes() {
			if pids[p.pid] || groups[p.pgid] {
				left = append(left, p)
			}
		}
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			for _, p := range left {
				syscall.Kill(p.pid, syscall.SIGKILL)
			}
			t.Fatalf("build processes still running 1s after sluice stopped: %v", left)
		}
		time.Sleep(10 * time.Millisecond)
	}
	tmps, _ := filepath.Glob(filepath.Join(cache, "sluice", "plugins", "*", "*.tmp-*"))
	if len(tmps) > 0 {
		t.Errorf("temporary build outputs left in the plugin cache: %v", tmps)
	}
}

// TestKillingSluiceStopsPluginBuild SIGKILLs sluice while it builds a
// plugin: go build, and its compile processes, must be gone within a
// second, and its temporary output removed from the cache.
func TestKillingSluiceStopsPluginBuild(t *testing.T) {
	dir, cache, env := buildWorkspace(t)
	cmd, stderr, procs := startBuilding(t, dir, env)
	tmps, _ := filepath.Glob(filepath.Join(cache, "sluice", "plugins", "*", "slow.tmp-*"))
	if len(tmps) != 1 {
		t.Fatalf("want go build's temporary output in the cache while it builds, got %v", tmps)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	checkBuildGone(t, procs, cache)
	if t.Failed() {
		t.Log(stderr.String())
	}
}

// TestInterruptingPluginBuild sends SIGINT to sluice while it builds a
// plugin: the build stops at once and sluice exits 130 within a second,
// leaving neither processes nor temporary files.
func TestInterruptingPluginBuild(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			dir, cache, env := buildWorkspace(t)
			cmd, stderr, procs := startBuilding(t, dir, env)
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			select {
			case <-exited:
			case <-time.After(time.Second):
				cmd.Process.Kill()
				<-exited
				t.Fatalf("sluice still running 1s after %v during a plugin build\n%s", sig, stderr)
			}
			if code := cmd.ProcessState.ExitCode(); code != exitInterrupted {
				t.Errorf("exit code %d after %v during a plugin build, want %d\n%s", code, sig, exitInterrupted, stderr)
			}
			checkBuildGone(t, procs, cache)
			if want := "building plugin slow from slow (cached after the first run)"; !strings.Contains(stderr.String(), want) {
				t.Errorf("the log does not say %q:\n%s", want, stderr)
			}
			if !strings.Contains(stderr.String(), "interrupted") || !strings.Contains(stderr.String(), "plugin slow: build from slow failed or stopped after") {
				t.Errorf("the summary does not say interrupted, or that the build stopped:\n%s", stderr)
			}
			rep := validateReport(t, filepath.Join(dir, "run.json"))
			builds, _ := rep["plugin_builds"].([]any)
			if rep["status"] != "interrupted" || len(builds) != 1 || builds[0].(map[string]any)["failed"] != true {
				t.Errorf("report: status %v, plugin_builds %v; want interrupted, one failed build", rep["status"], builds)
			}
		})
	}
}

// TestPluginBuildStep runs a pipeline whose plugin is named by source, in
// an empty plugin cache, twice: the first run builds it, and its log,
// summary and report show the build as a step of its own with its
// duration; the second finds it in the cache and builds nothing.
func TestPluginBuildStep(t *testing.T) {
	dir, _, env := buildWorkspace(t)
	src, err := filepath.Abs("../../plugins/testdata/testplugin")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "p.yaml"), []byte(buildPipeline(src)), 0o644); err != nil {
		t.Fatal(err)
	}
	for run, wantBuild := range []bool{true, false} {
		cmd := exec.Command(sluiceBin, "run", "--progress", "plain", "--report", "run.json", "p.yaml")
		cmd.Dir, cmd.Env = dir, env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("run %d: %v\n%s", run+1, err, out)
		}
		rep := validateReport(t, filepath.Join(dir, "run.json"))
		builds, _ := rep["plugin_builds"].([]any)
		logLine := fmt.Sprintf("building plugin testplugin from %s (cached after the first run)", src)
		summary := fmt.Sprintf("plugin testplugin built from %s in ", src)
		if !wantBuild {
			if len(builds) > 0 || strings.Contains(string(out), logLine) || strings.Contains(string(out), summary) {
				t.Errorf("run %d built the plugin again: report %v\n%s", run+1, builds, out)
			}
			continue
		}
		if !strings.Contains(string(out), logLine) || !strings.Contains(string(out), summary) {
			t.Errorf("run %d: want the log line %q and the summary line %q:\n%s", run+1, logLine, summary, out)
		}
		if len(builds) != 1 {
			t.Fatalf("run %d: report plugin_builds %v, want one build", run+1, builds)
		}
		checkPluginPeak(t, rep, cmd.ProcessState, string(out))
		b := builds[0].(map[string]any)
		if b["plugin"] != "testplugin" || b["source"] != src || b["done"] != true || b["failed"] != nil ||
			b["duration_ns"].(float64) <= 0 || b["duration_ns"].(float64) > rep["setup_ns"].(float64) {
			t.Errorf("run %d: report plugin_builds[0] = %v (setup_ns %v)", run+1, b, rep["setup_ns"])
		}
	}
}

// checkPluginPeak checks that a run that built its plugin reports the
// plugin's memory, not the go command's: peak_child_rss_bytes is the
// classify stage's plugin_peak_rss_bytes, above 0, and below the peak of
// the largest process below sluice (the go command's, from wait4's
// rusage of sluice), which the summary used to report.
func checkPluginPeak(t *testing.T, rep map[string]any, st *os.ProcessState, out string) {
	t.Helper()
	ru, ok := st.SysUsage().(*syscall.Rusage)
	if !ok {
		return
	}
	tree := int64(ru.Maxrss) << 10 // max of sluice and every process below it
	peak, _ := rep["peak_child_rss_bytes"].(float64)
	var stat float64
	for _, s := range rep["stages"].([]any) {
		if s := s.(map[string]any); s["name"] == "labelled" {
			stat, _ = s["stats"].(map[string]any)["plugin_peak_rss_bytes"].(float64)
		}
	}
	if peak <= 0 || peak != stat || int64(peak) >= tree {
		t.Errorf("peak_child_rss_bytes %v, the stage's plugin_peak_rss_bytes %v, largest process below sluice %d: want the plugin's, above 0 and below the go command's", peak, stat, tree)
	}
	if !strings.Contains(out, "(largest plugin process ") {
		t.Errorf("the summary does not name the largest plugin process:\n%s", out)
	}
}
