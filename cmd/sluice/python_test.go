package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The tests in this file run whole pipelines through classifier plugins
// written in Python with sdk/python: the example in examples/py-classifier
// and the plugins package's Python test plugin.

var (
	pythonOnce sync.Once
	pythonPath string
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
			if path, err := exec.LookPath(name); err == nil && exec.Command(path, "-c", "import grpc, google.protobuf").Run() == nil {
				pythonPath = path
				return
			}
		}
	})
	if pythonPath == "" {
		const msg = "no python3 with grpcio and protobuf (apt-get install python3-grpcio python3-protobuf for Debian's /usr/bin/python3, or set SLUICE_PYTHON to an interpreter that has them)"
		if os.Getenv("CI") != "" {
			t.Fatal(msg + "; CI must install them so that the Python plugin tests run")
		}
		t.Skip(msg)
	}
	return pythonPath
}

// pythonWorkspace is rootWorkspace plus the Python example and sdk.
func pythonWorkspace(t *testing.T) string {
	t.Helper()
	python(t)
	dir := rootWorkspace(t)
	for _, p := range []string{"examples/py-classifier", "sdk"} {
		abs, err := filepath.Abs(filepath.Join("../..", p))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(abs, filepath.Join(dir, p)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// orderedCopy writes the example pipeline src to dir/dst with its XML
// split and its classify stage ordered, so that two runs write records in
// the same order, and with the Python interpreter replaced by python(t).
func orderedCopy(t *testing.T, dir, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("../..", src))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, r := range []struct{ old, new string }{
		{"\n    with: {xml: {element: record}}\n", "\n    ordered: true\n    with: {xml: {element: record}}\n"},
		{"\n    from: [records, loans]\n", "\n    from: [records, loans]\n    ordered: true\n"},
	} {
		if !strings.Contains(s, r.old) {
			t.Fatalf("%s no longer has %q: update this test", src, r.old)
		}
		s = strings.Replace(s, r.old, r.new, 1)
	}
	s = strings.Replace(s, "[/usr/bin/python3, ", "["+python(t)+", ", 1)
	if err := os.WriteFile(filepath.Join(dir, dst), []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestPythonExampleMatchesGoExample runs the Python and the Go example
// plugins on the bundled data: every output must be the same.
func TestPythonExampleMatchesGoExample(t *testing.T) {
	dir := pythonWorkspace(t)
	orderedCopy(t, dir, "examples/py-classifier/pipeline.yaml", "py.yaml")
	orderedCopy(t, dir, "examples/go-classifier/pipeline.yaml", "go.yaml")
	if res := runSluice(t, dir, "run", "py.yaml"); res.code != 0 {
		t.Fatalf("python pipeline: exit %d\n%s", res.code, res.stderr)
	}
	if res := runSluice(t, dir, "run", "go.yaml"); res.code != 0 {
		t.Fatalf("go pipeline: exit %d\n%s", res.code, res.stderr)
	}
	py, goOut := filepath.Join(dir, "out", "py-classifier"), filepath.Join(dir, "out", "go-classifier")
	if len(listFiles(t, py)) < 10 {
		t.Fatalf("the python pipeline wrote only %v", listFiles(t, py))
	}
	sameTree(t, py, goOut)
}

// TestPythonPluginKilledRepeatedly kills the Python plugin's processes (up to 8 times,
// 250 ms apart) during a run: it is restarted, and the outputs are identical
// to the built-in classifier's on the same data.
func TestPythonPluginKilledRepeatedly(t *testing.T) {
	dir := pythonWorkspace(t)
	writeCorpus(t, dir, 8, 10000)
	plugin := fmt.Sprintf(`      plugin:
        command: [%s, examples/py-classifier/plugin.py]
        env: {PYTHONPATH: sdk/python}
        instances: 2
        batch_size: 64
        max_restarts: 1000
        config: {spec: examples/py-classifier/spec.json, labels: false}`, python(t))
	rules := `      rules:
        - expr: '(attr("type") ?? "unknown") + (text("title") matches "[0-9]" ? "/numbered" : "/plain")'`
	counts := strings.Replace(killPipeline, `'label("lang")'`, `'label("lang") ?? "none"'`, 1)
	os.WriteFile(filepath.Join(dir, "plugin.yaml"), []byte(fmt.Sprintf(counts, "plugin", plugin, "plugin", "plugin")), 0o644)
	os.WriteFile(filepath.Join(dir, "rules.yaml"), []byte(fmt.Sprintf(counts, "rules", rules, "rules", "rules")), 0o644)
	if res := runSluice(t, dir, "run", "rules.yaml"); res.code != 0 {
		t.Fatalf("rules: exit %d\n%s", res.code, res.stderr)
	}

	kills := runKillingPlugin(t, dir, "plugin.yaml", "plugin", "py-classifier/plugin.py", 2*time.Second)
	t.Logf("%d python plugin processes killed during the run", kills)
	sameTree(t, filepath.Join(dir, "out", "plugin"), filepath.Join(dir, "out", "rules"))
}

// pyTestPipeline runs the plugins package's Python test plugin on lines.
func pyTestPipeline(t *testing.T, dir, lines, config, env string) string {
	t.Helper()
	sdk, _ := filepath.Abs("../../sdk/python")
	script, _ := filepath.Abs("../../plugins/testdata/pyplugin/plugin.py")
	return writeLinesPipeline(t, dir, lines, fmt.Sprintf(`    on_error: dead_letter
    dead_letter: out/dead.jsonl
    with:
      plugin:
        command: [%q, %q]
        env: {PYTHONPATH: %q%s}
        instances: 2
        batch_size: 16
        config: {%s}`, python(t), script, sdk, env, config))
}

// TestPythonRecordErrors: a Python exception for one record errors that
// record alone, with the traceback's last line; the rest are classified.
func TestPythonRecordErrors(t *testing.T) {
	dir := t.TempDir()
	var lines strings.Builder
	for i := 1; i <= 200; i++ {
		if i == 57 {
			lines.WriteString("line REJECT 57\n")
			continue
		}
		fmt.Fprintf(&lines, "g%d\n", i%5)
	}
	res := runSluice(t, dir, "run", pyTestPipeline(t, dir, lines.String(), "", ""))
	if res.code != 0 {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	f, err := os.Open(filepath.Join(dir, "out", "dead.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var dead []map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var v map[string]any
		json.Unmarshal(sc.Bytes(), &v)
		dead = append(dead, v)
	}
	if len(dead) != 1 || dead[0]["record"] != "line REJECT 57" || dead[0]["line"] != float64(57) {
		t.Fatalf("dead letters: %v", dead)
	}
	if msg, _ := dead[0]["error"].(string); !strings.Contains(msg, "ZeroDivisionError: integer division or modulo by zero") {
		t.Errorf("dead letter error %q lacks the traceback's last line", msg)
	}
	written := 0
	for _, name := range listFiles(t, filepath.Join(dir, "out", "sorted")) {
		b, _ := os.ReadFile(filepath.Join(dir, "out", "sorted", name))
		written += bytes.Count(b, []byte("\n"))
	}
	if written != 199 {
		t.Fatalf("%d records written, want 199", written)
	}
}

// TestPythonInitError: an exception in init fails the run with the
// plugin's message, and no output is left.
func TestPythonInitError(t *testing.T) {
	dir := t.TempDir()
	res := runSluice(t, dir, "run", pyTestPipeline(t, dir, "a\nb\n", `fail_init: "model file /data/m.bin is missing"`, ""))
	if res.code == 0 {
		t.Fatalf("the run succeeded\n%s", res.stderr)
	}
	for _, want := range []string{`plugin "pyplugin"`, "ValueError: model file /data/m.bin is missing", "labelled"} {
		if !strings.Contains(res.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, res.stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "out", "sorted")); err == nil {
		t.Errorf("a failed run left out/sorted")
	}
}

// TestPythonPrintAtImport: a plugin that prints at import time, even to
// file descriptor 1, still handshakes; the lines go to the log.
func TestPythonPrintAtImport(t *testing.T) {
	dir := t.TempDir()
	res := runSluice(t, dir, "run", pyTestPipeline(t, dir, "a\nb\nc\n", "", ", PYPLUGIN_MODE: chatty"))
	if res.code != 0 {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	for _, want := range []string{"hello through print", "hello through file descriptor 1"} {
		if !strings.Contains(res.stderr, want) {
			t.Errorf("the log lacks the plugin's %q:\n%s", want, res.stderr)
		}
	}
}

// TestKillingSluiceLeavesNoPythonPlugin SIGKILLs sluice mid-run while each
// Python plugin has a multiprocessing pool of two workers: the plugins and
// their workers must be gone within a second.
func TestKillingSluiceLeavesNoPythonPlugin(t *testing.T) {
	dir := t.TempDir()
	var lines strings.Builder
	for i := 0; i < 20000; i++ {
		fmt.Fprintf(&lines, "g%d\n", i%3)
	}
	// Two plugins, four workers.
	killSluiceLeavesNoPlugin(t, dir, 6, "run", pyTestPipeline(t, dir, lines.String(), "sleep: 0.1, pool: 2", ""))
}
