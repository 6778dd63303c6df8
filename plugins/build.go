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

	"github.com/sluicehq/sluice/core"
)

// buildSource builds the Go main package in dir and returns the path of the
// executable; source is how the pipeline names the package, for messages.
// Builds are cached under the user cache directory
// (os.UserCacheDir()/sluice/plugins), keyed by a hash of everything that
// goes into the binary: the Go toolchain and target, and for every
// non-standard package it depends on, its files' contents when it is part of
// a local module (the plugin's own, or one replaced by a directory) or its
// module version otherwise. So an edit to the plugin, or to a local package
// it imports such as the sdk, triggers a rebuild, and nothing else does.
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
	key, name, err := sourceKey(ctx, goCmd, dir)
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
	log.Info(fmt.Sprintf("building plugin %s from %s (cached after the first run)", name, source), "source", dir)
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
	log.Info(fmt.Sprintf("built plugin %s in %s", name, took.Round(time.Millisecond)), "source", dir, "binary", out, "took", took.Round(time.Millisecond))
	pruneCache(root, key, time.Now(), log)
	return out, nil
}

// interrupted marks err as the run's interruption when ctx was cancelled,
// so that a build stopped by SIGINT ends the run as interrupted, not as
// failed.
func interrupted(ctx context.Context, err error) error {
	if errors.Is(ctx.Err(), context.Canceled) && !errors.Is(err, core.ErrInterrupted) {
		return fmt.Errorf("%w: %w", core.ErrInterrupted, err)
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
// the key and the binary's file name.
func sourceKey(ctx context.Context, goCmd, dir string) (key, name string, err error) {
	h := sha256.New()
	env := goCommandAlone(ctx, dir, goCmd, "env", "GOVERSION", "GOOS", "GOARCH", "CGO_ENABLED", "GOFLAGS", "GOEXPERIMENT", "GOAMD64", "GOARM64")
	b, err := env.Output()
	if err != nil {
		return "", "", fmt.Errorf("go env: %w%s", err, stderrOf(err))
	}
	h.Write(b)

	// -json=fields makes go list compute only what the key needs: a
	// third of the time of a full -json listing, paid on every run.
	list := goCommand(ctx, "", dir, goCmd, "list", "-deps",
		"-json=ImportPath,Name,Dir,Standard,Module,GoFiles,CgoFiles,CFiles,CXXFiles,HFiles,SFiles,SysoFiles,EmbedFiles,Error", ".")
	b, err = list.Output()
	if err != nil {
		return "", "", fmt.Errorf("go list: %w%s", err, stderrOf(err))
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	var main *listedPackage
	for {
		var p listedPackage
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			return "", "", fmt.Errorf("go list output: %w", err)
		}
		if p.Error != nil {
			return "", "", fmt.Errorf("package %s: %s", p.ImportPath, p.Error.Err)
		}
		main = &p
		if p.Standard {
			continue
		}
		fmt.Fprintf(h, "package %s\n", p.ImportPath)
		local := p.Module == nil || p.Module.Main || (p.Module.Replace != nil && p.Module.Replace.Version == "")
		if !local {
			fmt.Fprintf(h, "module %s@%s\n", p.Module.Path, p.Module.Version)
			if r := p.Module.Replace; r != nil {
				fmt.Fprintf(h, "replaced by %s@%s\n", r.Path, r.Version)
			}
			continue
		}
		var files []string
		for _, group := range [][]string{p.GoFiles, p.CgoFiles, p.CFiles, p.CXXFiles, p.HFiles, p.SFiles, p.SysoFiles, p.EmbedFiles} {
			files = append(files, group...)
		}
		if p.Module != nil && p.Module.GoMod != "" {
			files = append(files, p.Module.GoMod, strings.TrimSuffix(p.Module.GoMod, ".mod")+".sum")
		}
		for _, f := range files {
			path := f
			if !filepath.IsAbs(path) {
				path = filepath.Join(p.Dir, f)
			}
			content, err := os.ReadFile(path)
			if errors.Is(err, fs.ErrNotExist) && strings.HasSuffix(path, ".sum") {
				continue // a module without dependencies has no go.sum
			}
			if err != nil {
				return "", "", err
			}
			fmt.Fprintf(h, "file %s %d\n", f, len(content))
			h.Write(content)
		}
	}
	// go list prints dependencies before the packages that import them, so
	// the package named on the command line comes last.
	if main == nil || main.Name != "main" {
		got := "nothing"
		if main != nil {
			got = "package " + main.Name
		}
		return "", "", fmt.Errorf("%s holds %s, not a main package: a plugin's package must be main and call sdk.Serve", dir, got)
	}
	name = filepath.Base(main.Dir)
	return hex.EncodeToString(h.Sum(nil))[:32], name, nil
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
