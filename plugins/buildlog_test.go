package plugins

import (
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestBuildSourceFollowsLocalModules edits a file of a module the plugin
// reads from a local directory, once through a replace directive and once
// as a go.work member: the next build rebuilds, logs the edited file as the
// reason, and the new binary runs the new code.
func TestBuildSourceFollowsLocalModules(t *testing.T) {
	for _, how := range []string{"replace", "go.work"} {
		t.Run(how, func(t *testing.T) {
			isolateCache(t)
			if how == "replace" {
				t.Setenv("GOFLAGS", "-mod=mod")
			} else {
				t.Setenv("GOFLAGS", "") // workspace mode refuses -mod=mod
			}
			t.Setenv("GOWORK", "")
			t.Setenv("GOPROXY", "off")
			plugMod := "module example.com/p\n\ngo 1.22\n\nrequire example.com/lib v0.0.0\n"
			if how == "replace" {
				plugMod += "\nreplace example.com/lib => ../lib\n"
			}
			files := map[string]string{
				"lib/go.mod":  "module example.com/lib\n\ngo 1.22\n",
				"lib/lib.go":  "package lib\n\nfunc Say() string { return \"old\" }\n",
				"p/go.mod":    plugMod,
				"p/main.go":   "package main\n\nimport (\n\t\"fmt\"\n\n\t\"example.com/lib\"\n)\n\nfunc main() { fmt.Println(lib.Say()) }\n",
				"other/x.txt": "not read by the build\n",
			}
			if how == "go.work" {
				files["go.work"] = "go 1.22\n\nuse (\n\t./lib\n\t./p\n)\n"
			}
			root := writeModule(t, files)
			run := func(bin string) string {
				t.Helper()
				out, err := exec.Command(bin).Output()
				if err != nil {
					t.Fatalf("running %s: %v", bin, err)
				}
				return strings.TrimSpace(string(out))
			}
			sink := &logSink{}
			log := slog.New(sink)
			first, err := buildSource(t.Context(), filepath.Join(root, "p"), "p", log)
			if err != nil {
				t.Fatal(err)
			}
			if got := run(first); got != "old" {
				t.Fatalf("first build prints %q, want old", got)
			}
			if err := os.WriteFile(filepath.Join(root, "other", "x.txt"), []byte("changed\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if again, err := buildSource(t.Context(), filepath.Join(root, "p"), "p", log); err != nil || again != first {
				t.Fatalf("a file the build does not read changed: got %s, %v; want the cached %s", again, err, first)
			}
			lib := filepath.Join(root, "lib", "lib.go")
			if err := os.WriteFile(lib, []byte("package lib\n\nfunc Say() string { return \"new\" }\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			second, err := buildSource(t.Context(), filepath.Join(root, "p"), "p", log)
			if err != nil {
				t.Fatal(err)
			}
			if second == first {
				t.Fatalf("editing %s kept the cached binary %s", lib, first)
			}
			if got := run(second); got != "new" {
				t.Errorf("rebuilt binary prints %q, want new", got)
			}
			rec, ok := sink.find(func(r logRecord) bool {
				return strings.HasPrefix(r.Msg, "building plugin") && strings.Contains(r.Attrs["reason"], "changed: "+lib)
			})
			if !ok {
				t.Errorf("no log of the rebuild naming %s as changed; log: %+v", lib, sink.records)
			} else if !strings.Contains(rec.Msg, lib) {
				t.Errorf("the rebuild's message %q does not name %s", rec.Msg, lib)
			}
		})
	}
}

func TestRebuildReason(t *testing.T) {
	root := t.TempDir()
	inputs := []string{"go env go1.26", "package a", "file /a/a.go 0102", "module m@v1"}
	if got := rebuildReason(root, "/a", inputs); !strings.Contains(got, "no earlier build") {
		t.Errorf("first build: %q", got)
	}
	rememberInputs(root, "/a", inputs)
	for _, c := range []struct {
		inputs []string
		want   string
	}{
		{inputs, "the cached binary is missing"},
		{[]string{"go env go1.27", "package a", "file /a/a.go 0102", "module m@v1"}, "the Go toolchain or its settings changed"},
		{[]string{"go env go1.26", "package a", "file /a/a.go 0304", "module m@v2"}, "changed: /a/a.go, module m"},
		{[]string{"go env go1.26", "package a", "file /a/a.go 0102", "file /a/b.go 05"}, "new: /a/b.go; gone: module m"},
	} {
		if got := rebuildReason(root, "/a", c.inputs); got != c.want {
			t.Errorf("reason %q, want %q", got, c.want)
		}
	}
}
