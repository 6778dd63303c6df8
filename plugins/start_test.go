package plugins

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/stage"
)

func TestStartErrors(t *testing.T) {
	sum, err := fileSHA256(testPlugin)
	if err != nil {
		t.Fatal(err)
	}
	notExec := filepath.Join(t.TempDir(), "plugin.txt")
	if err := os.WriteFile(notExec, []byte("not a program"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		config func(*Config)
		is     error    // the error wraps this, when not nil
		want   []string // and contains these
	}{
		{
			name:   "missing binary",
			config: func(c *Config) { c.Command = []string{"/nonexistent/dir/my-plugin"} },
			want:   []string{`plugin "my-plugin" (stage "labelled")`, "plugin.command", "no such file", "/nonexistent/dir/my-plugin"},
		},
		{
			name:   "not in PATH",
			config: func(c *Config) { c.Command = []string{"sluice-no-such-plugin"} },
			want:   []string{"not found in PATH"},
		},
		{
			name:   "not executable",
			config: func(c *Config) { c.Command = []string{notExec} },
			want:   []string{"not executable"},
		},
		{
			name:   "garbage on stdout before the handshake",
			config: func(c *Config) { c.Env = map[string]string{"TESTPLUGIN_MODE": "garbage"} },
			is:     ErrHandshake,
			want:   []string{`plugin "testplugin"`, "hello from a chatty plugin", "stdout", "sdk.Serve"},
		},
		{
			name:   "wrong protocol version",
			config: func(c *Config) { c.Env = map[string]string{"TESTPLUGIN_MODE": "wrong-version"} },
			is:     ErrProtocolVersion,
			want:   []string{"version 42", "rebuild the plugin"},
		},
		{
			name:   "checksum mismatch",
			config: func(c *Config) { c.SHA256 = strings.Repeat("ab", 32) },
			is:     ErrChecksum,
			want:   []string{sum, strings.Repeat("ab", 32), "plugin.sha256"},
		},
		{
			name:   "init fails",
			config: func(c *Config) { c.Config = map[string]any{"fail_init": "cannot open /data/index.db: no such file"} },
			is:     ErrInit,
			want:   []string{`plugin "testplugin" (stage "labelled")`, "cannot open /data/index.db: no such file"},
		},
		{
			name:   "init rejects an unknown config key",
			config: func(c *Config) { c.Config = map[string]any{"prefx": "x"} },
			is:     ErrInit,
			want:   []string{`config: prefx: unknown key (did you mean "prefix"?)`},
		},
		{
			name:   "crash during init",
			config: func(c *Config) { c.Config = map[string]any{"crash_init": true} },
			want:   []string{"crashed (exit status 2) at testplugin/main.go:", "during Init", "panic: crashing in Init as configured"},
		},
		{
			name:   "exits before the handshake",
			config: func(c *Config) { c.Env = map[string]string{"TESTPLUGIN_MODE": "exit"} },
			is:     ErrHandshake,
			want:   []string{"exited before the handshake", "exit status 3", "missing license file"},
		},
		{
			name: "no handshake in time",
			config: func(c *Config) {
				c.Env = map[string]string{"TESTPLUGIN_MODE": "slow-start"}
				c.StartTimeout = stage.Duration(300 * time.Millisecond)
			},
			is:   ErrHandshake,
			want: []string{"start_timeout", "300ms"},
		},
		{
			name:   "invalid options",
			config: func(c *Config) { c.BatchSize = 0; c.InFlight = 0 },
			want:   []string{"plugin.batch_size", "plugin.in_flight"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(2, "", nil)
			tt.config(cfg)
			p, err := Start(t.Context(), cfg, "labelled", slog.New(&logSink{}))
			if err == nil {
				p.Close(t.Context())
				t.Fatal("Start succeeded")
			}
			t.Logf("%v", err)
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error does not wrap %v: %v", tt.is, err)
			}
			if msg := contains(err.Error(), tt.want...); msg != "" {
				t.Errorf("error %q: %s", err, msg)
			}
			checkNoPluginLeft(t)
		})
	}
}

func TestStartCancelled(t *testing.T) {
	cfg := testConfig(1, "slow-start", nil)
	ctx, cancel := contextWithCancelAfter(t, 200*time.Millisecond)
	defer cancel()
	_, err := Start(ctx, cfg, "labelled", nil)
	if err == nil || !errors.Is(err, ctx.Err()) {
		t.Errorf("Start with a cancelled context: got %v, want the context's error", err)
	}
	checkNoPluginLeft(t)
}

// TestStartErrorKeepsItsCause checks that errors.As and errors.Is see both
// ErrHandshake and the error go-plugin gave, whatever the message says.
func TestStartErrorKeepsItsCause(t *testing.T) {
	inst := &instance{out: newOutputLog(slog.New(slog.DiscardHandler))}
	cause := &os.PathError{Op: "dial", Path: "/tmp/plugin.sock", Err: os.ErrDeadlineExceeded}
	for _, err := range []error{
		startError(fmt.Errorf("something unforeseen: %w", cause), inst, time.Second),
		startError(fmt.Errorf("unsupported plugin protocol: %w", cause), inst, time.Second),
	} {
		var pe *os.PathError
		if !errors.Is(err, ErrHandshake) || !errors.As(err, &pe) || pe != cause || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("%v: want ErrHandshake and the *os.PathError it wraps", err)
		}
	}
}
