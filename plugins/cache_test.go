package plugins

import (
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// TestRemoveStale checks that a build removes the temporary outputs that
// stopped builds left, and not one a running build is writing.
func TestRemoveStale(t *testing.T) {
	root := t.TempDir()
	now := time.Now()
	files := map[string]time.Time{
		"k1/p.tmp-999999999-1": now, // its process is gone
		"k1/p.tmp-123":         now, // an older form, no pid
		"k2/p.tmp-" + strconv.Itoa(os.Getpid()) + "-2": now.Add(-2 * staleTemp), // pid reused, long ago
		"k2/p.tmp-" + strconv.Itoa(os.Getpid()) + "-3": now,                     // a running build
		"k2/p": now,
	}
	for name, mtime := range files {
		path := filepath.Join(root, name)
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, nil, 0o755); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(path, mtime, mtime)
	}
	removeStale(root, now, slog.New(slog.DiscardHandler))
	for name := range files {
		_, err := os.Stat(filepath.Join(root, name))
		want := name == "k2/p" || name == "k2/p.tmp-"+strconv.Itoa(os.Getpid())+"-3"
		if got := err == nil; got != want {
			t.Errorf("%s: exists %v, want %v", name, got, want)
		}
	}
}

// TestPruneCache checks the rule: builds not used for cacheMaxAge go, of
// the rest the cacheKeep most recently used stay (the one just built among
// them), and one used within cacheInUse always stays. Here the five most
// recently used are new, live1, live2, r1 and r2.
func TestPruneCache(t *testing.T) {
	root := t.TempDir()
	now := time.Now()
	used := map[string]time.Duration{ // key: time since last use
		"new":   0, // just built
		"r1":    2 * time.Hour,
		"r2":    3 * time.Hour,
		"r3":    4 * time.Hour,
		"r4":    5 * time.Hour,
		"r5":    6 * time.Hour, // sixth most recent: past cacheKeep
		"old":   cacheMaxAge + time.Hour,
		"live1": 10 * time.Minute, // within cacheInUse: kept beyond cacheKeep
		"live2": 20 * time.Minute,
		// The inputs of the last builds (rebuildReason) are not a build:
		// never pruned, however old.
		inputsDir: cacheMaxAge + 2*time.Hour,
	}
	for key, ago := range used {
		path := filepath.Join(root, key, "plugin")
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, nil, 0o755); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(path, now.Add(-ago), now.Add(-ago))
	}
	// A directory with no binary (a failed build), old: removed.
	os.Mkdir(filepath.Join(root, "failed"), 0o755)
	os.Chtimes(filepath.Join(root, "failed"), now.Add(-2*cacheInUse), now.Add(-2*cacheInUse))

	pruneCache(root, "new", now, slog.New(slog.DiscardHandler))
	want := map[string]bool{"new": true, "live1": true, "live2": true, "r1": true, "r2": true, "r3": false, "r4": false, "r5": false, "old": false, "failed": false, inputsDir: true}
	for key, keep := range want {
		_, err := os.Stat(filepath.Join(root, key))
		if got := err == nil; got != keep {
			t.Errorf("%s: kept %v, want %v", key, got, keep)
		}
	}
}
