package plugins

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/stage"
)

// Binaries built by TestMain from testdata.
var (
	testPlugin string // testdata/testplugin
	testHost   string // testdata/testhost
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sluice-plugins-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := buildTestBinaries(dir); err != nil {
		os.RemoveAll(dir)
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testPlugin = filepath.Join(dir, "testplugin")
	testHost = filepath.Join(dir, "testhost")
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// buildTestBinaries builds the testdata commands into dir with one go build.
func buildTestBinaries(dir string) error {
	cmd := exec.Command(goTool(), "build", "-o", dir+string(filepath.Separator), "./testdata/testplugin", "./testdata/testhost")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building test plugins: %v\n%s", err, out)
	}
	return nil
}

func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

// logSink is a slog handler that keeps every record, for assertions.
type logSink struct {
	mu      sync.Mutex
	records []logRecord
	attrs   []slog.Attr
	parent  *logSink
}

type logRecord struct {
	Level slog.Level
	Msg   string
	Attrs map[string]string
}

func (s *logSink) root() *logSink {
	if s.parent != nil {
		return s.parent.root()
	}
	return s
}

func (s *logSink) Enabled(context.Context, slog.Level) bool { return true }

func (s *logSink) Handle(_ context.Context, r slog.Record) error {
	rec := logRecord{Level: r.Level, Msg: r.Message, Attrs: map[string]string{}}
	for _, a := range s.attrs {
		rec.Attrs[a.Key] = a.Value.String()
	}
	r.Attrs(func(a slog.Attr) bool {
		rec.Attrs[a.Key] = a.Value.String()
		return true
	})
	root := s.root()
	root.mu.Lock()
	root.records = append(root.records, rec)
	root.mu.Unlock()
	if testing.Verbose() {
		fmt.Fprintf(os.Stderr, "log: %s %q %v\n", rec.Level, rec.Msg, rec.Attrs)
	}
	return nil
}

func (s *logSink) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &logSink{parent: s.root(), attrs: append(append([]slog.Attr(nil), s.attrs...), attrs...)}
}

func (s *logSink) WithGroup(string) slog.Handler { return s }

func (s *logSink) find(match func(logRecord) bool) (logRecord, bool) {
	root := s.root()
	root.mu.Lock()
	defer root.mu.Unlock()
	for _, r := range root.records {
		if match(r) {
			return r, true
		}
	}
	return logRecord{}, false
}

// await is find, retried for up to d while the record has not arrived.
func (s *logSink) await(d time.Duration, match func(logRecord) bool) (logRecord, bool) {
	deadline := time.Now().Add(d)
	for {
		r, ok := s.find(match)
		if ok || time.Now().After(deadline) {
			return r, ok
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// pluginProcesses returns the pids of live processes running the executable
// path (zombies excluded).
func pluginProcesses(t testing.TB, path string) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		if err != nil || strings.TrimSuffix(exe, " (deleted)") != path {
			continue
		}
		if processAlive(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// waitGone waits up to d for pids to be gone and returns those still alive.
func waitGone(pids []int, d time.Duration) []int {
	deadline := time.Now().Add(d)
	for {
		var alive []int
		for _, pid := range pids {
			if processAlive(pid) {
				alive = append(alive, pid)
			}
		}
		if len(alive) == 0 || time.Now().After(deadline) {
			return alive
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// checkNoPluginLeft fails the test if a process of the test plugin is still
// running a moment after the test's pools were closed.
func checkNoPluginLeft(t *testing.T) {
	t.Helper()
	pids := pluginProcesses(t, testPlugin)
	if alive := waitGone(pids, 2*time.Second); len(alive) > 0 {
		t.Errorf("plugin processes left running: %v", alive)
	}
}

// testConfig is a config running the test plugin with small limits.
func testConfig(instances int, mode string, config map[string]any) *Config {
	cfg := DefaultConfig()
	cfg.Command = []string{testPlugin}
	cfg.Instances = Instances(instances)
	cfg.Timeout = stage.Duration(2 * time.Second)
	cfg.StartTimeout = stage.Duration(10 * time.Second)
	cfg.Config = config
	if mode != "" {
		cfg.Env = map[string]string{"TESTPLUGIN_MODE": mode}
	}
	return cfg
}

func startPool(t *testing.T, cfg *Config) (*Pool, *logSink) {
	t.Helper()
	sink := &logSink{}
	p, err := Start(t.Context(), cfg, "labelled", slog.New(sink).With("stage", "labelled")) // as stage.Env.Log carries it
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := p.Close(context.WithoutCancel(t.Context())); err != nil {
			t.Errorf("Close: %v", err)
		}
		checkNoPluginLeft(t)
	})
	return p, sink
}

func contains(s string, parts ...string) string {
	var missing []string
	for _, p := range parts {
		if !strings.Contains(s, p) {
			missing = append(missing, strconv.Quote(p))
		}
	}
	if missing == nil {
		return ""
	}
	return "missing " + strings.Join(missing, ", ")
}

// contextWithCancelAfter returns a context cancelled after d.
func contextWithCancelAfter(t *testing.T, d time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(t.Context())
	timer := time.AfterFunc(d, cancel)
	return ctx, func() { timer.Stop(); cancel() }
}
