package plugins

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/stage"
)

// buildSource builds the Go main package in dir and returns the path of the
// executable; source is how the pipeline names the package, for messages.
// Builds are cached under the user cache directory
// (os.UserCacheDir()/sluice/plugins), keyed by a hash of everything that
// goes into the binary (sourceKey): the Go toolchain, its settings and the
// target; the go.work file in effect; and for every non-standard package it
// depends on, its files' contents when they are in a local directory (the
// plugin's own module, a module replaced by a directory, a go.work member,
// a vendor directory: anything outside the read-only module cache) or its
// module version otherwise. So an edit to the plugin, or to a local package
// it imports such as the sdk, triggers a rebuild, which is logged with what
// changed (rebuildReason), and nothing else does.
//
// go list and go build run under a guard (goCommand), so that they and what
// they start end with the host, even one killed with SIGKILL, and at once
// when ctx is done; go build writes to a temporary file in the cache that
// the guard removes if the build is stopped. Each use of a cached binary
// touches its modification time, and each build removes what earlier
// crashes left (removeStale) and prunes the cache (pruneCache).
func buildSource(ctx context.Context, dir, source string, log *slog.Logger) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	// Build where the package really is, so that go finds its module even
	// when dir is reached through a symbolic link.
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real
	}
	if fi, err := os.Stat(dir); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("no such directory: %s", dir)
		}
		return "", err
	} else if !fi.IsDir() {
		return "", fmt.Errorf("%s is not a directory (source names a Go package directory; to run a binary, use command:)", dir)
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		return "", errors.New("building a plugin from source needs the go command in PATH; install Go, or build the plugin yourself and name the binary with command:")
	}
	key, name, inputs, err := sourceKey(ctx, goCmd, dir)
	if err != nil {
		return "", interrupted(ctx, err)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache directory to build the plugin into: %w", err)
	}
	root := filepath.Join(cache, "sluice", "plugins")
	outDir := filepath.Join(root, key)
	out := filepath.Join(outDir, name)
	if fi, err := os.Stat(out); err == nil && fi.Mode().IsRegular() {
		touch(out)
		log.Debug("plugin binary is up to date", "source", dir, "binary", out)
		return out, nil
	}
	removeStale(root, time.Now(), log)
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return "", err
	}
	// The temporary name carries the host's pid, so that removeStale can
	// tell a file left by a crash from one a running build is writing.
	tmp, err := os.CreateTemp(outDir, name+".tmp-"+strconv.Itoa(os.Getpid())+"-*")
	if err != nil {
		return "", err
	}
	tmpName := tmp.Name()
	tmp.Close()
	defer os.Remove(tmpName)
	if source == "" {
		source = dir
	}
	reason := rebuildReason(root, dir, inputs)
	log.Info(fmt.Sprintf("building plugin %s from %s (cached after the first run): %s", name, source, reason), "source", dir, "reason", reason)
	step := buildStepsFrom(ctx).begin(name, source)
	cmd := goCommand(ctx, tmpName, dir, goCmd, "build", "-buildvcs=false", "-o", tmpName, ".")
	b, err := cmd.CombinedOutput()
	took := step.end(err)
	if err != nil {
		if ctx.Err() != nil {
			return "", interrupted(ctx, fmt.Errorf("go build stopped after %s: %w", took.Round(time.Millisecond), ctx.Err()))
		}
		return "", fmt.Errorf("go build failed: %w\n%s", err, indent(string(b)))
	}
	if err := os.Rename(tmpName, out); err != nil {
		return "", err
	}
	touch(out)
	rememberInputs(root, dir, inputs)
	log.Info(fmt.Sprintf("built plugin %s in %s", name, took.Round(time.Millisecond)), "source", dir, "binary", out, "took", took.Round(time.Millisecond))
	pruneCache(root, key, time.Now(), log)
	return out, nil
}

// interrupted marks err as the run's interruption when ctx was cancelled,
// so that a build stopped by SIGINT ends the run as interrupted, not as
// failed.
func interrupted(ctx context.Context, err error) error {
	if errors.Is(ctx.Err(), context.Canceled) && !errors.Is(err, stage.ErrInterrupted) {
		return fmt.Errorf("%w: %w", stage.ErrInterrupted, err)
	}
	return err
}

// listedPackage is the part of `go list -json` that sourceKey reads.
type listedPackage struct {
	ImportPath string
	Name       string
	Dir        string
	Standard   bool
	Module     *struct {
		Path    string
		Version string
		Main    bool
		GoMod   string
		Replace *struct {
			Path    string
			Version string
		}
	}
	GoFiles, CgoFiles, CFiles, CXXFiles, HFiles, SFiles, SysoFiles, EmbedFiles []string
	Error                                                                      *struct{ Err string }
}

// sourceKey hashes what the binary built from dir depends on, and returns
// the key, the binary's file name and the inputs the key was made of, one
// line each (see rebuildReason). A package counts as local, and its files'
// contents are hashed, when its directory is outside the module cache
// (GOMODCACHE, which Go keeps read-only and verified); otherwise its module
// path and version stand for its contents.
func sourceKey(ctx context.Context, goCmd, dir string) (key, name string, inputs []string, err error) {
	env := goCommandAlone(ctx, dir, goCmd, "env", "GOVERSION", "GOOS", "GOARCH", "CGO_ENABLED", "GOFLAGS", "GOEXPERIMENT", "GOAMD64", "GOARM64",
		"GOWORK", "GOMODCACHE", "CC", "CXX", "CGO_CFLAGS", "CGO_CPPFLAGS", "CGO_CXXFLAGS", "CGO_LDFLAGS")
	b, err := env.Output()
	if err != nil {
		return "", "", nil, fmt.Errorf("go env: %w%s", err, stderrOf(err))
	}
	envLines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(envLines) < 10 {
		return "", "", nil, fmt.Errorf("go env printed %d lines, want 16:\n%s", len(envLines), indent(string(b)))
	}
	for _, l := range envLines {
		inputs = append(inputs, "go env "+l)
	}
	work, modCache := envLines[8], envLines[9]
	if work != "" && work != "off" {
		for _, f := range []string{work, work + ".sum"} {
			line, err := fileInput(f)
			if errors.Is(err, fs.ErrNotExist) && f != work {
				continue
			}
			if err != nil {
				return "", "", nil, err
			}
			inputs = append(inputs, line)
		}
	}

	// -json=fields makes go list compute only what the key needs: a
	// third of the time of a full -json listing, paid on every run.
	list := goCommand(ctx, "", dir, goCmd, "list", "-deps",
		"-json=ImportPath,Name,Dir,Standard,Module,GoFiles,CgoFiles,CFiles,CXXFiles,HFiles,SFiles,SysoFiles,EmbedFiles,Error", ".")
	b, err = list.Output()
	if err != nil {
		return "", "", nil, fmt.Errorf("go list: %w%s", err, stderrOf(err))
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	var main *listedPackage
	for {
		var p listedPackage
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			return "", "", nil, fmt.Errorf("go list output: %w", err)
		}
		if p.Error != nil {
			return "", "", nil, fmt.Errorf("package %s: %s", p.ImportPath, p.Error.Err)
		}
		main = &p
		if p.Standard {
			continue
		}
		pkg, err := packageInputs(&p, modCache)
		if err != nil {
			return "", "", nil, err
		}
		inputs = append(inputs, pkg...)
	}
	// go list prints dependencies before the packages that import them, so
	// the package named on the command line comes last.
	if main == nil || main.Name != "main" {
		got := "nothing"
		if main != nil {
			got = "package " + main.Name
		}
		return "", "", nil, fmt.Errorf("%s holds %s, not a main package: a plugin's package must be main and call sdk.Serve", dir, got)
	}
	h := sha256.New()
	for _, l := range inputs {
		fmt.Fprintln(h, l)
	}
	return hex.EncodeToString(h.Sum(nil))[:32], filepath.Base(main.Dir), inputs, nil
}

// packageInputs returns the input lines of one non-standard package: its
// module version when it comes from the module cache, else each of its files
// (and its module's go.mod and go.sum) with a hash of the contents.
func packageInputs(p *listedPackage, modCache string) ([]string, error) {
	lines := []string{"package " + p.ImportPath}
	if p.Module != nil && modCache != "" && inside(p.Dir, modCache) {
		line := fmt.Sprintf("module %s@%s", p.Module.Path, p.Module.Version)
		if r := p.Module.Replace; r != nil {
			line += fmt.Sprintf(" replaced by %s@%s", r.Path, r.Version)
		}
		return append(lines, line), nil
	}
	var files []string
	for _, group := range [][]string{p.GoFiles, p.CgoFiles, p.CFiles, p.CXXFiles, p.HFiles, p.SFiles, p.SysoFiles, p.EmbedFiles} {
		for _, f := range group {
			if !filepath.IsAbs(f) {
				f = filepath.Join(p.Dir, f)
			}
			files = append(files, f)
		}
	}
	if p.Module != nil && p.Module.GoMod != "" && !inside(p.Module.GoMod, modCache) {
		files = append(files, p.Module.GoMod, strings.TrimSuffix(p.Module.GoMod, ".mod")+".sum")
	}
	for _, f := range files {
		line, err := fileInput(f)
		if errors.Is(err, fs.ErrNotExist) && strings.HasSuffix(f, ".sum") {
			continue // a module without dependencies has no go.sum
		}
		if err != nil {
			return nil, err
		}
		lines = append(lines, line)
	}
	return lines, nil
}

// fileInput is the input line of one file: its path and a hash of its
// contents.
func fileInput(path string) (string, error) {
	content, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(content)
	return "file " + path + " " + hex.EncodeToString(sum[:16]), nil
}

// inside reports whether path is dir or below it.
func inside(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

func stderrOf(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) && len(ee.Stderr) > 0 {
		return "\n" + indent(string(ee.Stderr))
	}
	return ""
}

func indent(s string) string {
	s = strings.TrimRight(s, "\n")
	return "    " + strings.ReplaceAll(s, "\n", "\n    ")
}
