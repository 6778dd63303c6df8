package sluice_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestDocsWritingPlugins follows docs/writing-plugins.md as a plugin author
// would: in a new directory holding the guide's files and a clone of sluice
// in sluice/ (a link to this repository), it runs every command of the
// guide in order, which builds an out-of-tree Go plugin module against the
// sdk module, installs the Python sdk with pip into a virtualenv, and runs
// both plugins in a pipeline, and checks that each prints what the guide
// says. Then it checks that the Go plugin links no engine package and that
// the Python plugin imported the installed sdk, not the clone's.
func TestDocsWritingPlugins(t *testing.T) {
	if testing.Short() {
		t.Skip("builds sluice and a plugin, and installs the Python sdk")
	}
	if err := exec.Command("/usr/bin/python3", "-c", "import grpc, google.protobuf, venv, setuptools").Run(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("the guide needs /usr/bin/python3 with grpcio, protobuf, venv and setuptools: %v", err)
		}
		t.Skipf("no /usr/bin/python3 with grpcio, protobuf, venv and setuptools: %v", err)
	}
	blocks := docBlocks(t, "docs/writing-plugins.md")
	dir := t.TempDir()
	files := 0
	for _, b := range blocks {
		if b.kind != "file" {
			continue
		}
		files++
		path := filepath.Join(dir, filepath.FromSlash(b.name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(b.text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if files < 6 {
		t.Fatalf("the guide has %d file blocks", files)
	}
	repo, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(repo, filepath.Join(dir, "sluice")); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "bin")
	if out, err := exec.Command("go", "build", "-o", filepath.Join(bin, "sluice"), "./cmd/sluice").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	// The plugin builds go to a cache of the test's own; Go's caches stay.
	out, err := exec.Command("go", "env", "GOCACHE", "GOMODCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	caches := strings.Fields(string(out))
	t.Setenv("GOCACHE", caches[0])
	t.Setenv("GOMODCACHE", caches[1])
	t.Setenv("XDG_CACHE_HOME", filepath.Join(dir, "cache"))
	t.Setenv("GOWORK", "off")
	// This machine may reach the module proxy but not the checksum
	// database; every module the guide needs is in the module cache.
	t.Setenv("GOSUMDB", "off")
	// pip must install from the directory alone, without an index.
	t.Setenv("PIP_NO_INDEX", "1")
	path := bin + string(os.PathListSeparator) + os.Getenv("PATH")

	if runs := runDocBlocks(t, dir, path, blocks); runs < 4 {
		t.Fatalf("%d run blocks in the guide", runs)
	}

	deps := goListDeps(t, filepath.Join(dir, "myplugin"), ".")
	if !slices.Contains(deps, "github.com/sluicehq/sluice/sdk") {
		t.Fatalf("the guide's plugin does not link the sdk: %v", deps)
	}
	checkNoEngine(t, "the guide's Go plugin", deps)

	py := exec.Command(filepath.Join(dir, ".venv", "bin", "python"), "-c", "import sluice_plugin; print(sluice_plugin.__file__)")
	py.Dir = t.TempDir() // not dir: the clone's sdk/python must not be on the path
	where, err := py.Output()
	if err != nil {
		t.Fatalf("the virtualenv cannot import sluice_plugin: %v", err)
	}
	if !strings.Contains(string(where), filepath.Join(".venv", "lib")) {
		t.Errorf("sluice_plugin imported from %s, not from the virtualenv's site-packages", where)
	}
}

// runDocBlocks runs a guide's run blocks in order with runDocBlock, checks
// that each prints what the output block after it (if any) says, and
// returns how many it ran.
func runDocBlocks(t *testing.T, dir, path string, blocks []docBlock) int {
	t.Helper()
	runs := 0
	for i, b := range blocks {
		if b.kind != "run" {
			continue
		}
		runs++
		got := runDocBlock(t, dir, path, b.text)
		if i+1 < len(blocks) && blocks[i+1].kind == "output" {
			if want := blocks[i+1].text; got != want {
				t.Errorf("commands:\n%s\nprinted:\n%s\nthe guide says:\n%s", b.text, got, want)
			}
		}
	}
	return runs
}
