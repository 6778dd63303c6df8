package plugins

import (
	"bytes"
	"errors"
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

// The tests in this file run the Python plugin testdata/pyplugin/plugin.py,
// written with the Python sdk (sdk/python), as real subprocesses.

var (
	pythonOnce sync.Once
	pythonPath string
	pythonErr  string
)

// python returns an interpreter that has grpcio and protobuf. Outside CI
// the test is skipped when there is none; under CI it fails.
func python(t testing.TB) string {
	t.Helper()
	pythonOnce.Do(func() {
		for _, name := range []string{os.Getenv("SLUICE_PYTHON"), "/usr/bin/python3", "python3"} {
			if name == "" {
				continue
			}
			path, err := exec.LookPath(name)
			if err != nil {
				continue
			}
			if exec.Command(path, "-c", "import grpc, google.protobuf").Run() == nil {
				pythonPath = path
				return
			}
		}
		pythonErr = "no python3 with grpcio and protobuf (apt-get install python3-grpcio python3-protobuf for Debian's /usr/bin/python3, or set SLUICE_PYTHON to an interpreter that has them)"
	})
	if pythonPath == "" {
		if os.Getenv("CI") != "" {
			t.Fatal(pythonErr + "; CI must install them so that the Python plugin tests run")
		}
		t.Skip(pythonErr)
	}
	return pythonPath
}

// pyConfig is a config running the Python test plugin.
func pyConfig(t testing.TB, instances int, mode string, config map[string]any) *Config {
	t.Helper()
	sdk, err := filepath.Abs("../sdk/python")
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Command = []string{python(t), pyPluginScript(t)}
	cfg.Instances = Instances(instances)
	cfg.Timeout = stage.Duration(5 * time.Second)
	cfg.StartTimeout = stage.Duration(30 * time.Second)
	cfg.Config = config
	cfg.Env = map[string]string{"PYTHONPATH": sdk}
	if mode != "" {
		cfg.Env["PYPLUGIN_MODE"] = mode
	}
	return cfg
}

func pyPluginScript(t testing.TB) string {
	script, err := filepath.Abs("testdata/pyplugin/plugin.py")
	if err != nil {
		t.Fatal(err)
	}
	return script
}

// pyProcesses returns the pids of live processes whose command line holds
// script.
func pyProcesses(script string) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Contains(b, []byte(script)) && processAlive(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

func checkNoPythonPluginLeft(t *testing.T) {
	t.Helper()
	if alive := waitGone(pyProcesses(pyPluginScript(t)), 2*time.Second); len(alive) > 0 {
		t.Errorf("python plugin processes left running: %v", alive)
	}
}

func TestPythonPlugin(t *testing.T) {
	p, sink := startPool(t, pyConfig(t, 2, "", map[string]any{"prefix": "py:"}))
	hdr := stage.NewHeader([]string{"id", "name"})
	recs := []stage.Record{
		{Type: stage.Line, Data: []byte("alpha"), Source: stage.Position{File: "in.txt", Line: 1, Ordinal: 1}},
		{Type: stage.CSV, Data: []byte("2,bob"), Header: hdr, Fields: []string{"2", "bob"}, Source: stage.Position{File: "a.csv", Offset: 14, Line: 3, Ordinal: 2}, Category: "old"},
		{Type: stage.XML, Data: []byte(`<record id="r1"/>`), Source: stage.Position{File: "b.xml", Offset: 40}},
		{Type: stage.Line, Data: []byte("REJECT me"), Source: stage.Position{File: "in.txt", Line: 4, Ordinal: 4}},
	}
	got, err := p.Classify(t.Context(), recs)
	if err != nil {
		t.Fatal(err)
	}
	want := []Result{
		{Category: "py:ALPHA", Labels: map[string]string{"kind": "line", "file": "in.txt", "line": "1", "ordinal": "1", "offset": "0"}},
		{Category: "py:2,BOB", Labels: map[string]string{"kind": "csv", "file": "a.csv", "line": "3", "ordinal": "2", "offset": "14", "header": "id,name", "name": "bob", "old_category": "old"}},
		{Category: "py:<RECORD ID=\"R1\"/>", Labels: map[string]string{"kind": "xml", "file": "b.xml", "line": "0", "ordinal": "0", "offset": "40"}},
	}
	for i, w := range want {
		if got[i].Err != nil || got[i].Category != w.Category || fmt.Sprint(got[i].Labels) != fmt.Sprint(w.Labels) {
			t.Errorf("record %d: got %+v, want %+v", i, got[i], w)
		}
	}
	// A Python exception rejects its record alone, with the last line of
	// the traceback and where it was raised.
	if err := got[3].Err; err == nil {
		t.Errorf("the REJECT record was classified: %+v", got[3])
	} else if msg := contains(err.Error(), `plugin "pyplugin"`, "ZeroDivisionError: integer division or modulo by zero", "plugin.py:", "in classify_record"); msg != "" {
		t.Errorf("error %q: %s", err, msg)
	}
	if _, ok := sink.await(2*time.Second, func(r logRecord) bool {
		return strings.Contains(r.Msg, "Traceback") || strings.Contains(r.Msg, "ZeroDivisionError")
	}); !ok {
		t.Errorf("the traceback was not logged")
	}
	d := p.Description()
	if d.Name != "pyplugin" || d.Version != "0.0.1" || d.SDK != "sluice-python-sdk" || d.Accepts != stage.Records {
		t.Errorf("Description() = %+v", d)
	}
	if shared := p.sentShared.Load(); (shared > 0) != (runtime.GOOS == "linux") {
		t.Errorf("%d batches went through shared memory, %d over the socket", shared, p.sentSocket.Load())
	}
	if err := p.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, ok := sink.find(func(r logRecord) bool { return strings.Contains(r.Msg, "pyplugin: shutdown called") }); !ok {
		t.Errorf("Close did not call the plugin's shutdown")
	}
	// go-plugin's controller asked the processes to exit: none was killed.
	for _, inst := range p.insts {
		if inst == nil || inst.proc == nil {
			continue
		}
		inst.proc.waitExited(5 * time.Second)
		if st := inst.proc.exitStatus(); st != "exit status 0" {
			t.Errorf("instance %d ended with %q, want exit status 0 (a graceful exit)", inst.slot, st)
		}
	}
	checkNoPythonPluginLeft(t)
}

func TestPythonPluginCrashIsRestarted(t *testing.T) {
	p, _ := startPool(t, pyConfig(t, 1, "", nil))
	recs := records(40, map[int]string{17: "POISON"})
	got, err := p.Classify(t.Context(), recs)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range got {
		switch {
		case i == 17:
			if !errors.Is(r.Err, ErrPoisonRecord) {
				t.Errorf("record 17: got %+v, want ErrPoisonRecord", r)
			}
		case r.Err != nil || r.Category != strings.ToUpper(string(recs[i].Data)):
			t.Errorf("record %d: got %+v", i, r)
		}
	}
	if p.Restarts() == 0 {
		t.Errorf("no restart after the plugin crashed")
	}
}

func TestPythonPluginStart(t *testing.T) {
	tests := []struct {
		name   string
		mode   string
		config map[string]any
		is     error
		want   []string
	}{
		{"init raises", "", map[string]any{"fail_init": "cannot open /data/model.bin"}, ErrInit,
			[]string{`plugin "pyplugin"`, "ValueError: cannot open /data/model.bin", "in init"}},
		{"unknown config key", "", map[string]any{"prefx": "x"}, ErrInit,
			[]string{"config: unknown key 'prefx'"}},
		{"exits before the handshake", "exit", nil, ErrHandshake,
			[]string{`plugin "plugin.py"`, "exited before the handshake", "exit status 3", "missing license file"}},
		{"sys.exit in init", "", map[string]any{"exit_init": 4}, nil,
			[]string{`plugin "pyplugin"`, "crashed (exit status 4) during Init", "pyplugin: giving up in init", "init called sys.exit(4)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := pyConfig(t, 1, tt.mode, tt.config)
			start := time.Now()
			p, err := Start(t.Context(), cfg, "labelled", slog.New(&logSink{}))
			if err == nil {
				p.Close(t.Context())
				t.Fatal("Start succeeded")
			}
			if took := time.Since(start); took > time.Duration(cfg.StartTimeout)/2 {
				t.Errorf("Start took %s to fail; it must not wait for plugin.start_timeout (%s)", took, time.Duration(cfg.StartTimeout))
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error does not wrap %v: %v", tt.is, err)
			}
			if msg := contains(err.Error(), tt.want...); msg != "" {
				t.Errorf("error %q: %s", err, msg)
			}
			checkNoPythonPluginLeft(t)
		})
	}
}

// TestPythonPrintAtImport: what the plugin writes to stdout at import time,
// even to file descriptor 1, goes to the log, not into the handshake.
func TestPythonPrintAtImport(t *testing.T) {
	p, sink := startPool(t, pyConfig(t, 1, "chatty", nil))
	if got, err := p.Classify(t.Context(), records(3, nil)); err != nil || got[0].Err != nil {
		t.Fatalf("Classify: %v %+v", err, got)
	}
	for _, line := range []string{"hello through print", "hello through sys.stdout", "hello through file descriptor 1"} {
		if _, ok := sink.await(2*time.Second, func(r logRecord) bool {
			// Before Describe, the plugin is known by its script's name.
			return strings.Contains(r.Msg, line) && r.Attrs["plugin"] == "plugin.py" && r.Attrs["stream"] == "stderr"
		}); !ok {
			t.Errorf("the plugin's output %q was not logged as its stderr", line)
		}
	}
}

// TestPythonChecksumPinsScript: with an interpreter, plugin.sha256 covers
// the script it runs, checked again at every start.
func TestPythonChecksumPinsScript(t *testing.T) {
	dir := t.TempDir()
	orig, err := os.ReadFile(pyPluginScript(t))
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(dir, "plugin.py")
	if err := os.WriteFile(script, orig, 0o644); err != nil {
		t.Fatal(err)
	}
	sum, _ := fileSHA256(script)
	cfg := pyConfig(t, 1, "", nil)
	cfg.Command = []string{cfg.Command[0], "-u", "plugin.py"}
	cfg.Dir = dir
	cfg.SHA256 = sum
	p, _ := startPool(t, cfg)
	if got, err := p.Classify(t.Context(), records(2, nil)); err != nil || got[0].Err != nil {
		t.Fatalf("Classify with the pinned script: %v %+v", err, got)
	}
	if err := os.WriteFile(script, append(orig, "\n# changed\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Start(t.Context(), cfg, "labelled", nil)
	if !errors.Is(err, ErrChecksum) {
		t.Fatalf("Start with a changed script: got %v, want ErrChecksum", err)
	}
	if msg := contains(err.Error(), script, sum, "plugin.sha256"); msg != "" {
		t.Errorf("error %q: %s", err, msg)
	}
}

func TestLauncherPinnedAndMTLS(t *testing.T) {
	py := python(t)
	dir := t.TempDir()
	tests := []struct {
		name       string
		command    []string
		sha        string
		wantPinned string
		wantMTLS   bool
		wantErr    string
		tls        *bool
	}{
		{"go plugin", []string{testPlugin, "--flag"}, "", testPlugin, true, "", nil},
		{"go plugin, tls: false", []string{testPlugin}, "", testPlugin, false, "", new(false)},
		{"go plugin, tls: true", []string{testPlugin}, "", testPlugin, true, "", new(true)},
		{"python script", []string{py, "plugin.py"}, "", filepath.Join(dir, "plugin.py"), false, "", nil},
		{"python, tls: false", []string{py, "plugin.py"}, "", filepath.Join(dir, "plugin.py"), false, "", new(false)},
		{"python, tls: true", []string{py, "plugin.py"}, "", "", false, "plugin.tls: true: " + py + " is not a Go plugin", new(true)},
		{"python options", []string{py, "-u", "-X", "dev", "-W", "error", "./x/plugin.py", "arg"}, "", filepath.Join(dir, "x", "plugin.py"), false, "", nil},
		{"python -m", []string{py, "-m", "mypkg"}, "", "", false, "", nil},
		{"python -m pinned", []string{py, "-um", "mypkg"}, strings.Repeat("ab", 32), "", false, "runs none", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Command, cfg.Dir, cfg.SHA256, cfg.TLS = tt.command, dir, tt.sha, tt.tls
			l, err := newLauncher(t.Context(), cfg, slog.New(&logSink{}))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want an error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if l.pinned != tt.wantPinned || l.mtls != tt.wantMTLS {
				t.Errorf("pinned %q, mtls %v; want %q, %v", l.pinned, l.mtls, tt.wantPinned, tt.wantMTLS)
			}
		})
	}
}

// BenchmarkPythonPool is BenchmarkPool with the Python test plugin: what
// classifying through a Python plugin costs per record, with a classifier
// that does nothing (2 instances, batches of 1024, 4 feeding workers).
// cpu-µs/record counts the CPU time of the host and of the plugin processes.
func BenchmarkPythonPool(b *testing.B) {
	benchPool(b, pyConfig(b, 2, "", map[string]any{"trivial": true}), benchRecords(1024))
}

// TestPythonHangCost counts the timeouts that isolating a hanging record
// costs with the Python sdk, which answers batches in order: the batch's
// own, then one once its records are sent one by one, where the hanging
// record is the first one not answered and those queued behind it are
// sent again (bisection cost 3 + log2(32) = 8).
func TestPythonHangCost(t *testing.T) {
	cfg := pyConfig(t, 1, "", nil)
	cfg.Timeout = stage.Duration(time.Second)
	cfg.BatchSize = 32
	cfg.InFlight = 4
	cfg.MaxRestarts = 2
	p, _ := startPool(t, cfg)
	recs := records(32, map[int]string{13: "HANG"})
	got, err := p.Classify(t.Context(), recs)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range got {
		switch {
		case i == 13:
			if !errors.Is(r.Err, ErrPoisonRecord) {
				t.Errorf("record 13: got %+v, want ErrPoisonRecord", r)
			}
		case r.Err != nil || r.Category != strings.ToUpper(string(recs[i].Data)):
			t.Errorf("record %d: got %+v", i, r)
		}
	}
	if n := p.Restarts(); n != 2 {
		t.Errorf("isolating a hanging record cost %d timeouts, want 2", n)
	}
}
