package plugins

import (
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/core"
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
		k, name, err := sourceKey(t.Context(), goCmd, mod)
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

	_, _, err := sourceKey(t.Context(), goCmd, filepath.Join(mod, "lib"))
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
	sink := &logSink{}
	log := slog.New(sink)
	path, err := buildSource(t.Context(), mod, "", log)
	if err != nil {
		t.Fatal(err)
	}
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
	_ = core.Records
}
