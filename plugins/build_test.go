package plugins

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/stage"
)

// isolateCache points the user cache directory (where plugin builds are
// cached) at a temporary directory, keeping Go's own caches where they are.
func isolateCache(t *testing.T) string {
	t.Helper()
	out, err := exec.Command(goTool(), "env", "GOCACHE", "GOMODCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	t.Setenv("GOCACHE", lines[0])
	t.Setenv("GOMODCACHE", lines[1])
	dir := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", dir) // os.UserCacheDir on Linux and BSD
	if cache, err := os.UserCacheDir(); err != nil || !strings.HasPrefix(cache, dir) {
		t.Skipf("cannot redirect the user cache directory on this system (%s, %v)", cache, err)
	}
	return dir
}

func writeModule(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestSourceKey(t *testing.T) {
	isolateCache(t)
	mod := writeModule(t, map[string]string{
		"go.mod":         "module example.com/p\n\ngo 1.22\n",
		"main.go":        "package main\n\nimport \"example.com/p/lib\"\n\nfunc main() { lib.F() }\n",
		"lib/lib.go":     "package lib\n\nfunc F() {}\n",
		"other/other.go": "package other\n",
	})
	goCmd := goTool()
	key := func() string {
		t.Helper()
		k, name, _, err := sourceKey(t.Context(), goCmd, mod)
		if err != nil {
			t.Fatal(err)
		}
		if name != filepath.Base(mod) {
			t.Errorf("binary name %q, want %q", name, filepath.Base(mod))
		}
		return k
	}
	k1 := key()
	if k2 := key(); k2 != k1 {
		t.Errorf("the key changed without any change: %s, then %s", k1, k2)
	}
	if err := os.WriteFile(filepath.Join(mod, "other", "other.go"), []byte("package other\n\nvar X = 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if k := key(); k != k1 {
		t.Errorf("a package the plugin does not import changed the key")
	}
	if err := os.WriteFile(filepath.Join(mod, "lib", "lib.go"), []byte("package lib\n\nfunc F() { println() }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if k := key(); k == k1 {
		t.Errorf("a change in an imported local package kept the key")
	}

	_, _, _, err := sourceKey(t.Context(), goCmd, filepath.Join(mod, "lib"))
	if err == nil || !strings.Contains(err.Error(), "not a main package") {
		t.Errorf("key of a non-main package: got %v, want a not-a-main-package error", err)
	}
}

func TestBuildSource(t *testing.T) {
	cache := isolateCache(t)
	mod := writeModule(t, map[string]string{
		"go.mod":  "module example.com/tiny\n\ngo 1.22\n",
		"main.go": "package main\n\nfunc main() {}\n",
	})
	// What a build killed with its host left: the next build removes it.
	stale := filepath.Join(cache, "sluice", "plugins", "0123", "p.tmp-999999999-1")
	os.MkdirAll(filepath.Dir(stale), 0o755)
	if err := os.WriteFile(stale, nil, 0o755); err != nil {
		t.Fatal(err)
	}
	sink := &logSink{}
	log := slog.New(sink)
	path, err := buildSource(t.Context(), mod, "", log)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); err == nil {
		t.Errorf("a build left the stale temporary output %s", stale)
	}
	// A use of the cached binary marks it as used now.
	old := time.Now().Add(-48 * time.Hour)
	os.Chtimes(path, old, old)
	if !strings.HasPrefix(path, filepath.Join(cache, "sluice", "plugins")) {
		t.Errorf("built %s, not under the user cache directory %s", path, cache)
	}
	again, err := buildSource(t.Context(), mod, "", log)
	if err != nil || again != path {
		t.Fatalf("second build: %s, %v; want %s from the cache", again, err, path)
	}
	if _, ok := sink.find(func(r logRecord) bool { return r.Msg == "plugin binary is up to date" }); !ok {
		t.Errorf("the second build did not use the cache")
	}
	if fi, err := os.Stat(path); err != nil || time.Since(fi.ModTime()) > time.Hour {
		t.Errorf("using the cached binary did not touch it: %v %v", fi.ModTime(), err)
	}

	broken := writeModule(t, map[string]string{
		"go.mod":  "module example.com/broken\n\ngo 1.22\n",
		"main.go": "package main\n\nfunc main() { undefined() }\n",
	})
	if _, err := buildSource(t.Context(), broken, "", log); err == nil || !strings.Contains(err.Error(), "undefined") {
		t.Errorf("building broken code: got %v, want go build's error", err)
	}
	if _, err := buildSource(t.Context(), filepath.Join(mod, "missing"), "", log); err == nil || !strings.Contains(err.Error(), "no such directory") {
		t.Errorf("building a missing directory: got %v", err)
	}
}

// TestBuildSourceStopped cancels a build that takes seconds (one long
// function to compile): buildSource returns at once, as an interruption,
// and leaves no temporary output in the cache.
func TestBuildSourceStopped(t *testing.T) {
	cache := isolateCache(t)
	var src strings.Builder
	fmt.Fprintf(&src, "package main\n\nvar v [64]int\n\nfunc main() {\n\ts := %d\n", time.Now().UnixNano())
	for i := range 60000 {
		fmt.Fprintf(&src, "\tif v[%d] > %d {\n\t\ts += v[%d]\n\t}\n", i%64, i, i*7%64)
	}
	src.WriteString("\tprintln(s)\n}\n")
	mod := writeModule(t, map[string]string{"go.mod": "module example.com/slow\n\ngo 1.22\n", "main.go": src.String()})
	ctx, cancel := context.WithCancel(t.Context())
	steps := &BuildSteps{}
	ctx = WithBuildSteps(ctx, steps)
	go func() {
		for len(steps.Builds()) == 0 {
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(300 * time.Millisecond) // go build is compiling
		cancel()
	}()
	_, err := buildSource(ctx, mod, "slow", slog.New(slog.DiscardHandler))
	if !errors.Is(err, stage.ErrInterrupted) {
		t.Fatalf("cancelled build: got %v, want ErrInterrupted", err)
	}
	b := steps.Builds()
	if len(b) != 1 || !b[0].Done || !b[0].Failed || b[0].Plugin != filepath.Base(mod) || b[0].Source != "slow" {
		t.Errorf("build steps %+v", b)
	}
	if b[0].Duration > 300*time.Millisecond+time.Second {
		t.Errorf("the build took %s to stop", b[0].Duration)
	}
	if tmps, _ := filepath.Glob(filepath.Join(cache, "sluice", "plugins", "*", "*.tmp-*")); len(tmps) > 0 {
		t.Errorf("a stopped build left %v", tmps)
	}
}

// TestStartFromSource names the test plugin by its package directory.
func TestStartFromSource(t *testing.T) {
	isolateCache(t)
	cfg := testConfig(1, "", map[string]any{"prefix": "src:"})
	cfg.Command = nil
	cfg.Source = "testplugin"
	cfg.Dir = "testdata"
	p, _ := startPool(t, cfg)
	recs := records(3, nil)
	got, err := p.Classify(t.Context(), recs)
	if err != nil {
		t.Fatal(err)
	}
	checkResults(t, "src:", recs, got, nil)
	if d := p.Description(); d.Name != "testplugin" || !strings.Contains(d.Path, "sluice") {
		t.Errorf("Description() = %+v", d)
	}
	_ = stage.Records
}
