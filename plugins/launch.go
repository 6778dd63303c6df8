package plugins

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"

	"github.com/hashicorp/go-plugin"
)

// launcher knows how to start one plugin process: the resolved executable,
// its arguments, environment and working directory, and the checksum it
// must have.
type launcher struct {
	path string   // absolute path of the executable
	args []string // argv[1:]
	env  []string // KEY=VALUE added to the host's environment
	dir  string   // working directory; "" for the current one
	sum  []byte   // required SHA-256 of path, or nil
	desc string   // how the user named it, for errors
}

// newLauncher resolves cfg into a launcher, building cfg.Source first when
// it is set. It fails with a message naming the option at fault.
func newLauncher(ctx context.Context, cfg *Config, log *slog.Logger) (*launcher, error) {
	l := &launcher{dir: cfg.Dir}
	for k, v := range cfg.Env {
		l.env = append(l.env, k+"="+v)
	}
	sort.Strings(l.env)
	if cfg.SHA256 != "" {
		sum, err := hex.DecodeString(cfg.SHA256)
		if err != nil || len(sum) != sha256.Size {
			return nil, fmt.Errorf("plugin.sha256: %q is not a hex SHA-256", cfg.SHA256)
		}
		l.sum = sum
	}
	if cfg.Source != "" {
		dir := cfg.Source
		if !filepath.IsAbs(dir) && cfg.Dir != "" {
			dir = filepath.Join(cfg.Dir, dir)
		}
		path, err := buildSource(ctx, dir, log)
		if err != nil {
			return nil, fmt.Errorf("plugin.source %q: %w", cfg.Source, err)
		}
		l.path, l.desc = path, cfg.Source
		return l, nil
	}
	l.desc = cfg.Command[0]
	path, err := resolveExecutable(cfg.Command[0], cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("plugin.command %q: %w", cfg.Command[0], err)
	}
	l.path, l.args = path, cfg.Command[1:]
	return l, nil
}

// resolveExecutable finds name as exec.LookPath would, except that a
// relative path containing a separator is taken from dir.
func resolveExecutable(name, dir string) (string, error) {
	if filepath.Base(name) == name {
		path, err := exec.LookPath(name)
		if err != nil {
			return "", fmt.Errorf("not found in PATH; give a path to the executable, or build it first")
		}
		return filepath.Abs(path)
	}
	path := name
	if !filepath.IsAbs(path) && dir != "" {
		path = filepath.Join(dir, path)
	}
	path, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("no such file: %s (build the plugin first, or name its Go package with source:)", path)
	case err != nil:
		return "", err
	case fi.IsDir():
		return "", fmt.Errorf("%s is a directory (to build a Go plugin from its package directory, use source:)", path)
	case fi.Mode()&0o111 == 0:
		return "", fmt.Errorf("%s is not executable (chmod +x it)", path)
	}
	return path, nil
}

// verify checks the executable against the pinned checksum, with
// go-plugin's SecureConfig. It is called before every start, so a binary
// replaced during a run is refused at its next restart.
func (l *launcher) verify() error {
	if l.sum == nil {
		return nil
	}
	sc := &plugin.SecureConfig{Checksum: l.sum, Hash: sha256.New()}
	ok, err := sc.Check(l.path)
	if err != nil {
		return fmt.Errorf("checksum of %s: %w", l.path, err)
	}
	if !ok {
		got, _ := fileSHA256(l.path)
		return fmt.Errorf("%w: %s has SHA-256 %s but plugin.sha256 pins %s; if the new binary is trusted, update plugin.sha256",
			ErrChecksum, l.path, got, hex.EncodeToString(l.sum))
	}
	return nil
}

func fileSHA256(path string) (string, error) {
	h := sha256.New()
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	if _, err := f.WriteTo(h); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// command returns a fresh, unstarted command for one instance. env is what
// go-plugin adds (its cookie and TLS certificate).
func (l *launcher) command(goPluginEnv []string) *exec.Cmd {
	cmd := exec.Command(l.path, l.args...)
	cmd.Dir = l.dir
	cmd.Env = append(append(os.Environ(), l.env...), goPluginEnv...)
	cmd.Stdin = nil // /dev/null: a plugin must not read the host's terminal
	return cmd
}
