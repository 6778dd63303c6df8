package plugins

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// The inputs of the last build of each source directory are kept in the
// plugin cache (root/inputs/HASH-OF-DIR), so that a rebuild can say what
// changed. They are a log, not part of the key: losing them costs only the
// reason's detail.

// inputsDir is the directory of the cache that holds the inputs; it is not
// a build, so pruneCache leaves it alone.
const inputsDir = "inputs"

// inputsFile is where the inputs of dir's last build are kept.
func inputsFile(root, dir string) string {
	sum := sha256.Sum256([]byte(dir))
	return filepath.Join(root, inputsDir, hex.EncodeToString(sum[:8]))
}

// rememberInputs records the inputs of a build of dir that succeeded.
// Errors are ignored: the record only explains the next rebuild.
func rememberInputs(root, dir string, inputs []string) {
	f := inputsFile(root, dir)
	if os.MkdirAll(filepath.Dir(f), 0o755) != nil {
		return
	}
	tmp := fmt.Sprintf("%s.tmp-%d", f, os.Getpid())
	if os.WriteFile(tmp, []byte(strings.Join(inputs, "\n")+"\n"), 0o644) == nil {
		os.Rename(tmp, f)
	}
}

// rebuildReason says why dir is built now, comparing inputs with those of
// its last build: "first build", or what changed ("changed: FILE, …",
// "the Go toolchain or its settings changed", …), naming at most three
// inputs.
func rebuildReason(root, dir string, inputs []string) string {
	b, err := os.ReadFile(inputsFile(root, dir))
	if err != nil {
		return "no earlier build of this source in the cache"
	}
	old := map[string]bool{}
	for _, l := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		old[l] = true
	}
	oldByName := map[string]bool{}
	for l := range old {
		oldByName[inputName(l)] = true
	}
	var changed, added []string
	env := false
	seen := map[string]bool{}
	for _, l := range inputs {
		seen[inputName(l)] = true
		switch {
		case old[l]:
		case strings.HasPrefix(l, "go env "):
			env = true
		case oldByName[inputName(l)]:
			changed = append(changed, inputName(l))
		default:
			added = append(added, inputName(l))
		}
	}
	var removed []string
	for l := range old {
		if n := inputName(l); !seen[n] && !strings.HasPrefix(l, "go env ") {
			removed = append(removed, n)
		}
	}
	var parts []string
	if env {
		parts = append(parts, "the Go toolchain or its settings changed")
	}
	for _, g := range []struct {
		what  string
		names []string
	}{{"changed", changed}, {"new", added}, {"gone", removed}} {
		if len(g.names) > 0 {
			parts = append(parts, g.what+": "+listSome(g.names, 3))
		}
	}
	if len(parts) == 0 {
		return "the cached binary is missing"
	}
	return strings.Join(parts, "; ")
}

// inputName is what an input line is about: a file's path, a package's or
// module's name, without the hash or version.
func inputName(line string) string {
	if rest, ok := strings.CutPrefix(line, "file "); ok {
		if i := strings.LastIndexByte(rest, ' '); i >= 0 {
			return rest[:i]
		}
	}
	if rest, ok := strings.CutPrefix(line, "module "); ok {
		if i := strings.IndexByte(rest, '@'); i >= 0 {
			return "module " + rest[:i]
		}
	}
	return line
}

// listSome joins up to n of names, and says how many more there are.
func listSome(names []string, n int) string {
	if len(names) <= n {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:n], ", "), len(names)-n)
}
