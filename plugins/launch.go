package plugins

import (
	"context"
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

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
	sum  []byte   // required SHA-256 of pinned, or nil
	mem  int64    // plugin.max_memory in bytes, 0 for no limit (enforced by the guard)
	desc string   // how the user named it, for errors

	// pinned is the file plugin.sha256 covers: the executable, or for an
	// interpreter (python3 plugin.py) the script it runs; "" when an
	// interpreter runs no script file (python3 -m module).
	pinned string
	// mtls says whether go-plugin's AutoMTLS is used. Only go-plugin's Go
	// server implements it, so it is on for Go executables and off for
	// anything else (a Python plugin listens on a unix socket in a private
	// directory instead, which only this user can reach).
	//
	// Go plugins listen on a unix socket too, in a directory go-plugin
	// creates with mode 0700, so the kernel already keeps every other user
	// out; TLS adds mutual authentication against processes of the same
	// user. Those can mostly do worse anyway (replace a plugin binary that
	// is not pinned, read the inputs), but not always (a process confined
	// by a sandbox that still shares the uid and the temporary directory),
	// so the secure default stays, and plugin.tls: false turns it off. It
	// costs two P-521 key pairs and handshakes per instance and AES-GCM on
	// every byte both ways; with shared memory (the default on Linux) the
	// records' bytes do not go through the connection, so that is little
	// (bench/README.md has the numbers).
	mtls bool
}

// newLauncher resolves cfg into a launcher, building cfg.Source first when
// it is set. It fails with a message naming the option at fault.
func newLauncher(ctx context.Context, cfg *Config, log *slog.Logger) (*launcher, error) {
	l := &launcher{dir: cfg.Dir, mem: int64(cfg.MaxMemory)}
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
		path, err := buildSource(ctx, dir, cfg.Source, log)
		if err != nil {
			return nil, fmt.Errorf("plugin.source %q: %w", cfg.Source, err)
		}
		l.path, l.desc, l.pinned, l.mtls = path, cfg.Source, path, true
		return l, l.setTLS(cfg.TLS)
	}
	l.desc = cfg.Command[0]
	path, err := resolveExecutable(cfg.Command[0], cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("plugin.command %q: %w", cfg.Command[0], err)
	}
	l.path, l.args = path, cfg.Command[1:]
	l.mtls = isGoExecutable(path)
	l.pinned = path
	if isInterpreter(path) || isInterpreter(cfg.Command[0]) {
		l.pinned = ""
		if script := scriptArg(cfg.Command[1:]); script != "" {
			if !filepath.IsAbs(script) && cfg.Dir != "" {
				script = filepath.Join(cfg.Dir, script)
			}
			if l.pinned, err = filepath.Abs(script); err != nil {
				return nil, fmt.Errorf("plugin.command: %w", err)
			}
		} else if l.sum != nil {
			return nil, fmt.Errorf("plugin.sha256 pins the script an interpreter runs, but %q runs none; name the script file (python3 path/to/plugin.py)", strings.Join(cfg.Command, " "))
		}
	}
	return l, l.setTLS(cfg.TLS)
}

// setTLS applies plugin.tls: it can turn TLS off for a Go plugin, and
// cannot turn it on for another, whose server does not implement it.
func (l *launcher) setTLS(tls *bool) error {
	switch {
	case tls == nil:
	case *tls && !l.mtls:
		return fmt.Errorf("plugin.tls: true: %s is not a Go plugin; only go-plugin's Go server implements TLS (its connection is a Unix socket in a private directory)", l.desc)
	default:
		l.mtls = *tls
	}
	return nil
}

// isGoExecutable reports whether path is a program built by the Go
// toolchain, which is how the host knows its plugin speaks AutoMTLS.
func isGoExecutable(path string) bool {
	_, err := buildinfo.ReadFile(path)
	return err == nil
}

// interpreterRE matches the names of the interpreters whose plugins are
// scripts: python, python3, python3.11, pypy3.
var interpreterRE = regexp.MustCompile(`^(python|pypy)[0-9.]*$`)

func isInterpreter(path string) bool {
	return interpreterRE.MatchString(filepath.Base(path))
}

// scriptArg returns the script in a Python interpreter's arguments: the
// first one that is not an option or an option's value. It returns "" when
// there is none, or when -c, -m or - runs code that is not a named file.
func scriptArg(args []string) string {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			if i+1 < len(args) {
				return args[i+1]
			}
			return ""
		case a == "-":
			return ""
		case strings.HasPrefix(a, "--"):
			if a == "--check-hash-based-pycs" {
				i++
			}
		case strings.HasPrefix(a, "-"):
		flags:
			for j, c := range a[1:] {
				switch c {
				case 'c', 'm':
					return ""
				case 'W', 'X': // the rest, or the next argument, is the value
					if j == len(a)-2 {
						i++
					}
					break flags
				}
			}
		default:
			return a
		}
	}
	return ""
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

// verify checks the pinned file (the executable, or an interpreter's
// script) against plugin.sha256, with go-plugin's SecureConfig. It is
// called before every start, so a file replaced during a run is refused at
// its next restart.
func (l *launcher) verify() error {
	if l.sum == nil {
		return nil
	}
	sc := &plugin.SecureConfig{Checksum: l.sum, Hash: sha256.New()}
	ok, err := sc.Check(l.pinned)
	if err != nil {
		return fmt.Errorf("checksum of %s: %w", l.pinned, err)
	}
	if !ok {
		got, _ := fileSHA256(l.pinned)
		return fmt.Errorf("%w: %s has SHA-256 %s but plugin.sha256 pins %s; if the new file is trusted, update plugin.sha256",
			ErrChecksum, l.pinned, got, hex.EncodeToString(l.sum))
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

// command returns a fresh, unstarted command for one instance, run under a
// guard (see guard_unix.go) where there is one, so that no process it
// starts outlives the host. env is what go-plugin adds (its cookie and TLS
// certificate); extra are descriptors passed on from 3.
func (l *launcher) command(goPluginEnv []string, extra []*os.File) (cmd *exec.Cmd, guarded bool) {
	env := append(append(os.Environ(), l.env...), goPluginEnv...)
	if cmd = guardedCommand("", len(extra), env, l.path, l.args...); cmd == nil {
		cmd = exec.Command(l.path, l.args...)
		cmd.Env = env
		cmd.SysProcAttr = sysProcAttr()
	}
	guarded = cmd.Path != l.path
	if guarded && l.mem > 0 {
		cmd.Env = append(cmd.Env, guardMemoryEnv+"="+strconv.FormatInt(l.mem, 10))
	}
	cmd.Dir = l.dir
	cmd.Stdin = nil // /dev/null: a plugin must not read the host's terminal
	cmd.ExtraFiles = extra
	return cmd, guarded
}
