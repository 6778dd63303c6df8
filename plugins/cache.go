package plugins

import (
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The plugin cache (os.UserCacheDir()/sluice/plugins) holds one directory
// per build key with the binary in it. Every use of a binary, built or
// found, sets its modification time to now, so that time is its last use.
// After each build, pruneCache removes every other build that was last used
// more than cacheMaxAge ago, and of the rest keeps the cacheKeep most
// recently used; a build used within cacheInUse is always kept, since a
// running pipeline may start it again.
const (
	cacheKeep   = 5
	cacheMaxAge = 7 * 24 * time.Hour
	cacheInUse  = time.Hour
	// staleTemp is the age past which a temporary build output is removed
	// even though a process with the pid in its name exists (the pid may
	// have been reused).
	staleTemp = 24 * time.Hour
)

// touch marks the binary at path as used now. A cache that cannot be
// written to is still usable, so errors are ignored.
func touch(path string) {
	now := time.Now()
	_ = os.Chtimes(path, now, now)
}

// removeStale removes the temporary outputs (NAME.tmp-PID-*) that builds
// stopped without cleaning up left in the cache under root: those whose
// host process is gone, or older than staleTemp.
func removeStale(root string, now time.Time, log *slog.Logger) {
	tmps, _ := filepath.Glob(filepath.Join(root, "*", "*.tmp-*"))
	for _, tmp := range tmps {
		fi, err := os.Lstat(tmp)
		if err != nil {
			continue
		}
		if pid := tempOwner(filepath.Base(tmp)); pid > 0 && processAlive(pid) && now.Sub(fi.ModTime()) < staleTemp {
			continue // a build that is running
		}
		if os.Remove(tmp) == nil {
			log.Debug("removed a stale plugin build output", "file", tmp)
		}
	}
}

// tempOwner returns the pid in a temporary output's name, or 0.
func tempOwner(name string) int {
	_, rest, ok := strings.Cut(name, ".tmp-")
	if !ok {
		return 0
	}
	pid, _, _ := strings.Cut(rest, "-")
	n, err := strconv.Atoi(pid)
	if err != nil {
		return 0
	}
	return n
}

// pruneCache removes the cached builds under root that the rule above does
// not keep. keep is the key of the build just made, which always stays.
func pruneCache(root, keep string, now time.Time, log *slog.Logger) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return
	}
	type build struct {
		dir     string
		lastUse time.Time
	}
	var builds []build
	for _, e := range entries {
		if !e.IsDir() || e.Name() == keep || e.Name() == inputsDir {
			continue
		}
		dir := filepath.Join(root, e.Name())
		files, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		var last time.Time
		for _, f := range files {
			if strings.Contains(f.Name(), ".tmp-") {
				continue
			}
			if fi, err := f.Info(); err == nil && fi.Mode().IsRegular() && fi.ModTime().After(last) {
				last = fi.ModTime()
			}
		}
		if last.IsZero() {
			// No binary: a build that failed, or is running. Remove the
			// directory only if it is empty and not new.
			if fi, err := os.Stat(dir); err == nil && now.Sub(fi.ModTime()) > cacheInUse {
				os.Remove(dir)
			}
			continue
		}
		builds = append(builds, build{dir, last})
	}
	sort.Slice(builds, func(i, j int) bool { return builds[i].lastUse.After(builds[j].lastUse) })
	for i, b := range builds {
		age := now.Sub(b.lastUse)
		// The build just made counts as one of the cacheKeep.
		if age <= cacheInUse || (age <= cacheMaxAge && i+1 < cacheKeep) {
			continue
		}
		if err := os.RemoveAll(b.dir); err == nil {
			log.Debug("pruned a plugin build from the cache", "dir", b.dir, "last_used", b.lastUse)
		}
	}
}
