package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/corpus"
)

// The tests in this file run whole pipelines through real classifier
// plugin processes: the example plugin built from source by sluice, and
// the plugins package's test plugin built here.

var (
	testPluginOnce sync.Once
	testPluginPath string
	testPluginErr  error
)

// testPlugin builds plugins/testdata/testplugin: it crashes on a record
// containing POISON and can sleep per batch.
func testPlugin(t *testing.T) string {
	t.Helper()
	testPluginOnce.Do(func() {
		testPluginPath = filepath.Join(filepath.Dir(sluiceBin), "testplugin")
		out, err := exec.Command("go", "build", "-o", testPluginPath, "../../plugins/testdata/testplugin").CombinedOutput()
		if err != nil {
			testPluginErr = fmt.Errorf("building the test plugin: %v\n%s", err, out)
		}
	})
	if testPluginErr != nil {
		t.Fatal(testPluginErr)
	}
	return testPluginPath
}

// children returns the live processes whose parent is pid.
func children(pid int) []int {
	var out []int
	for _, p := range processes() {
		if p.ppid == pid {
			out = append(out, p.pid)
		}
	}
	return out
}

// alive reports whether pid is a running (not zombie) process.
func alive(pid int) bool {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	return len(f) > 0 && f[0] != "Z" && f[0] != "X"
}

func sameTree(t *testing.T, a, b string) {
	t.Helper()
	fa, fb := listFiles(t, a), listFiles(t, b)
	if strings.Join(fa, " ") != strings.Join(fb, " ") {
		t.Fatalf("different files:\n%s: %v\n%s: %v", a, fa, b, fb)
	}
	for _, f := range fa {
		x, _ := os.ReadFile(filepath.Join(a, f))
		y, _ := os.ReadFile(filepath.Join(b, f))
		if !bytes.Equal(x, y) {
			t.Errorf("%s differs between %s and %s", f, a, b)
		}
	}
}

// TestPluginMatchesBuiltinRules runs the root pipeline (classifier plugin)
// and examples/catalog-rules (built-in rules) on the same data: every
// output must be the same.
func TestPluginMatchesBuiltinRules(t *testing.T) {
	dir := rootWorkspace(t)
	if res := runSluice(t, dir, "run"); res.code != 0 {
		t.Fatalf("root pipeline: exit %d\n%s", res.code, res.stderr)
	}
	if res := runSluice(t, dir, "run", "examples/catalog-rules/pipeline.yaml"); res.code != 0 {
		t.Fatalf("rules pipeline: exit %d\n%s", res.code, res.stderr)
	}
	sameTree(t, filepath.Join(dir, "out", "sorted"), filepath.Join(dir, "out", "rules", "sorted"))
	for _, f := range []string{"category-counts.csv", "attribute-counts.json"} {
		a, _ := os.ReadFile(filepath.Join(dir, "out", f))
		b, _ := os.ReadFile(filepath.Join(dir, "out", "rules", f))
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Errorf("%s differs between the plugin and the rules", f)
		}
	}
}

// writeCorpus writes n files of records each under dir/data.
func writeCorpus(t *testing.T, dir string, files, records int) {
	t.Helper()
	data := filepath.Join(dir, "data")
	os.MkdirAll(data, 0o755)
	for i := 0; i < files; i++ {
		f, err := os.Create(filepath.Join(data, fmt.Sprintf("part-%02d.xml", i)))
		if err != nil {
			t.Fatal(err)
		}
		if err := corpus.WriteXML(f, uint64(i+10), records); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
}

const killPipeline = `name: %s
stages:
  files: {use: read, with: {path: data}}
  recs: {use: split, from: files, ordered: true, with: {xml: {element: record}}}
  labelled:
    use: classify
    from: recs
    ordered: true
    with:
%s
  counts: {use: count, from: labelled, with: {by: [category, 'label("lang")'], output: out/%s/counts.csv}}
  sorted: {use: write, from: labelled, with: {dir: out/%s/sorted}}
`

// TestPluginKilledRepeatedly kills the plugin's processes every 250 ms
// during a run: the run must succeed with outputs identical to the built-in
// classifier's on the same data.
func TestPluginKilledRepeatedly(t *testing.T) {
	dir := rootWorkspace(t)
	writeCorpus(t, dir, 8, 16000)
	plugin := `      plugin:
        source: examples/go-classifier
        instances: 2
        batch_size: 64
        max_restarts: 1000
        config: {spec: examples/go-classifier/spec.json}`
	rules := `      rules:
        - expr: '(attr("type") ?? "unknown") + (text("title") matches "[0-9]" ? "/numbered" : "/plain")'
      labels: {lang: 'attr("lang") ?? "none"'}`
	os.WriteFile(filepath.Join(dir, "plugin.yaml"), []byte(fmt.Sprintf(killPipeline, "plugin", plugin, "plugin", "plugin")), 0o644)
	os.WriteFile(filepath.Join(dir, "rules.yaml"), []byte(fmt.Sprintf(killPipeline, "rules", rules, "rules", "rules")), 0o644)
	if res := runSluice(t, dir, "run", "rules.yaml"); res.code != 0 {
		t.Fatalf("rules: exit %d\n%s", res.code, res.stderr)
	}

	kills := runKillingPlugin(t, dir, "plugin.yaml", "plugin", "go-classifier")
	t.Logf("%d plugin processes killed during the run", kills)
	sameTree(t, filepath.Join(dir, "out", "plugin"), filepath.Join(dir, "out", "rules"))
}

// runKillingPlugin runs `sluice run pipeline` in dir and, once records
// reach out/NAME/sorted, SIGKILLs a plugin process every 250 ms: a child
// of sluice whose command line contains match, once it has lived 600 ms. It fails the test if
// the run fails or fewer than two kills happened, and returns the count.
func runKillingPlugin(t *testing.T, dir, pipeline, name, match string) int {
	t.Helper()
	cmd := exec.Command(sluiceBin, "run", "--log-level", "warn", pipeline)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	kills := 0
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	timeout := time.After(3 * time.Minute)
	// A process is killed only once it has been seen for 600 ms, so that
	// every new instance can finish its handshake and take batches, however
	// slowly the machine starts it (a Python plugin imports grpc first):
	// killed sooner, a loaded machine could restart instances for ever.
	// After maxKills the killer stops, so that the run ends however slowly
	// a loaded machine brings instances up (an instance killed before its
	// handshake is a failed start, retried, not a restart).
	const maxKills = 8
	seen := map[int]time.Time{}
	for {
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("plugin run failed after %d kills: %v\n%s", kills, err, stderr.String())
			}
			if kills < 2 {
				t.Fatalf("only %d kills happened during the run: make the input larger", kills)
			}
			return kills
		case <-tick.C:
			var plugins []int
			for _, pid := range children(cmd.Process.Pid) {
				if cl, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); bytes.Contains(cl, []byte(match)) {
					plugins = append(plugins, pid)
					if _, ok := seen[pid]; !ok {
						seen[pid] = time.Now()
					}
				}
			}
			// Kill only once records flow: a plugin that dies while starting
			// fails the run's setup, by design.
			if staged, _ := filepath.Glob(filepath.Join(dir, "out", name, "sorted", ".sluice-tmp-*", "*")); len(staged) == 0 || kills >= maxKills {
				continue
			}
			for _, pid := range plugins {
				if time.Since(seen[pid]) >= 600*time.Millisecond {
					syscall.Kill(pid, syscall.SIGKILL)
					kills++
					break
				}
			}
		case <-timeout:
			cmd.Process.Kill()
			<-done // stderr is written until the process is gone
			t.Fatalf("run did not finish\n%s", stderr.String())
		}
	}
}

// TestPoisonRecordIsDeadLettered feeds a record that crashes the plugin:
// only that record is dead-lettered, every other is classified.
func TestPoisonRecordIsDeadLettered(t *testing.T) {
	dir := t.TempDir()
	var lines strings.Builder
	for i := 1; i <= 300; i++ {
		if i == 157 {
			lines.WriteString("line POISON 157\n")
			continue
		}
		fmt.Fprintf(&lines, "g%d\n", i%5)
	}
	os.WriteFile(filepath.Join(dir, "in.txt"), []byte(lines.String()), 0o644)
	pipeline := fmt.Sprintf(`name: poison
stages:
  files: {use: read, with: {path: in.txt}}
  lines: {use: split, from: files, with: {lines: {}}}
  labelled:
    use: classify
    from: lines
    on_error: dead_letter
    dead_letter: out/poison.jsonl
    with:
      plugin:
        command: [%q]
        instances: 2
        batch_size: 32
        max_restarts: 3
        timeout: 5s
  sorted: {use: write, from: labelled, with: {dir: out/sorted}}
`, testPlugin(t))
	os.WriteFile(filepath.Join(dir, "p.yaml"), []byte(pipeline), 0o644)
	res := runSluice(t, dir, "run", "p.yaml")
	if res.code != 0 {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	f, err := os.Open(filepath.Join(dir, "out", "poison.jsonl"))
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
	if len(dead) != 1 || dead[0]["record"] != "line POISON 157" || dead[0]["line"] != float64(157) ||
		!strings.Contains(dead[0]["error"].(string), "crash") {
		t.Fatalf("dead letters: %v", dead)
	}
	written := 0
	for _, name := range listFiles(t, filepath.Join(dir, "out", "sorted")) {
		b, _ := os.ReadFile(filepath.Join(dir, "out", "sorted", name))
		written += bytes.Count(b, []byte("\n"))
	}
	if written != 299 {
		t.Fatalf("%d records written, want 299", written)
	}
}

// TestKillingSluiceLeavesNoPlugin SIGKILLs a sluice process mid-run: its
// plugin processes must be gone within a second.
func TestKillingSluiceLeavesNoPlugin(t *testing.T) {
	dir := t.TempDir()
	var lines strings.Builder
	for i := 0; i < 20000; i++ {
		fmt.Fprintf(&lines, "g%d\n", i%3)
	}
	os.WriteFile(filepath.Join(dir, "in.txt"), []byte(lines.String()), 0o644)
	pipeline := fmt.Sprintf(`name: slow
stages:
  files: {use: read, with: {path: in.txt}}
  lines: {use: split, from: files, with: {lines: {}}}
  labelled:
    use: classify
    from: lines
    with:
      plugin:
        command: [%q]
        instances: 2
        batch_size: 16
        config: {sleep: 100ms}
  sorted: {use: write, from: labelled, with: {dir: out/sorted}}
`, testPlugin(t))
	os.WriteFile(filepath.Join(dir, "p.yaml"), []byte(pipeline), 0o644)
	killSluiceLeavesNoPlugin(t, dir, time.Second, "run", "p.yaml")
}

// killSluiceLeavesNoPlugin starts `sluice ARGS` in dir, waits until it has
// two plugin processes, SIGKILLs sluice, and fails the test unless every
// plugin process is gone within the given time.
func killSluiceLeavesNoPlugin(t *testing.T, dir string, within time.Duration, args ...string) {
	t.Helper()
	cmd := exec.Command(sluiceBin, args...)
	cmd.Dir = dir
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	var plugins []int
	deadline := time.Now().Add(30 * time.Second)
	for len(plugins) < 2 {
		if time.Now().After(deadline) {
			t.Fatal("the plugins never started")
		}
		time.Sleep(20 * time.Millisecond)
		plugins = children(cmd.Process.Pid)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	deadline = time.Now().Add(within)
	for {
		var left []int
		for _, pid := range plugins {
			if alive(pid) {
				left = append(left, pid)
			}
		}
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			for _, pid := range left {
				syscall.Kill(pid, syscall.SIGKILL)
			}
			t.Fatalf("plugin processes %v still running %v after sluice was killed", left, within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
