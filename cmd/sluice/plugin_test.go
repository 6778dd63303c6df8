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

	kills := runKillingPlugin(t, dir, "plugin.yaml", "plugin", "go-classifier", 600*time.Millisecond)
	t.Logf("%d plugin processes killed during the run", kills)
	sameTree(t, filepath.Join(dir, "out", "plugin"), filepath.Join(dir, "out", "rules"))
}

// runKillingPlugin runs `sluice run pipeline` in dir and, once records
// reach out/NAME/sorted, SIGKILLs a plugin process every 250 ms: a process
// below sluice whose command line contains match, not a guard, once it has
// lived minAge. It fails the test if
// the run fails or fewer than two kills happened, and returns the count.
func runKillingPlugin(t *testing.T, dir, pipeline, name, match string, minAge time.Duration) int {
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
	// A process is killed only once it has been seen for minAge, so that
	// every new instance can finish its handshake and take batches, however
	// slowly the machine starts it (a Python plugin imports grpc first):
	// killed sooner, a loaded machine could restart instances for ever. So
	// minAge is at least what the first start took, records flowing. The
	// instances running when records first flow are past their handshake
	// (setup waits for every instance), so they may be killed at once:
	// however fast the run, it sees kills. After maxKills the killer
	// stops, so that the run ends however slowly a loaded machine brings
	// instances up.
	const maxKills = 8
	seen := map[int]time.Time{}
	ready := map[int]bool{} // running when records first flowed
	started, flowing := time.Now(), false
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
			for _, p := range descendants(cmd.Process.Pid) {
				pid := p.pid
				if cl, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); bytes.Contains(cl, []byte(match)) && !isGuard(pid) {
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
			if !flowing {
				flowing, minAge = true, max(minAge, time.Since(started))
				for _, pid := range plugins {
					ready[pid] = true
				}
			}
			for _, pid := range plugins {
				if ready[pid] || time.Since(seen[pid]) >= minAge {
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
	writeLinesPipeline(t, dir, numberedLines(300, map[int]string{157: "line POISON 157"}), fmt.Sprintf(`    on_error: dead_letter
    dead_letter: out/poison.jsonl
    with:
      plugin:
        command: [%q]
        instances: 2
        batch_size: 32
        max_restarts: 3
        timeout: 5s`, testPlugin(t)))
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

// TestKillingSluiceLeavesNoPlugin SIGKILLs a sluice process mid-run: every
// process of the run, the plugins and all they started (children in the
// plugin's group or in a session of their own, a shell wrapper's
// background job, with or without exec), must be gone within a second.
func TestKillingSluiceLeavesNoPlugin(t *testing.T) {
	plugin := testPlugin(t)
	for _, c := range []struct {
		name, command, config string
		procs                 int // of the run once started, sluice and guards aside
	}{
		{"go", fmt.Sprintf("[%q]", plugin), "sleep: 100ms", 2},
		{"go-children", fmt.Sprintf("[%q]", plugin), "sleep: 100ms, spawn: true", 6},
		{"sh-exec", fmt.Sprintf(`[/bin/sh, -c, "sleep 777 & exec '%s'"]`, plugin), "sleep: 100ms", 4},
		{"sh-wait", fmt.Sprintf(`[/bin/sh, -c, "sleep 777 & '%s'"]`, plugin), "sleep: 100ms", 6},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			writeLinesPipeline(t, dir, numberedLines(20000, nil), fmt.Sprintf(`    with:
      plugin:
        command: %s
        instances: 2
        batch_size: 16
        config: {%s}`, c.command, c.config))
			killSluiceLeavesNoPlugin(t, dir, c.procs, "run", "p.yaml")
		})
	}
}

// killSluiceLeavesNoPlugin starts `sluice ARGS` in dir with a unique marker
// in its environment, which every process of the run inherits; waits until
// procs processes besides sluice and the plugins' guards carry it; SIGKILLs
// sluice; and fails the test unless every process carrying the marker is
// gone a second later.
func killSluiceLeavesNoPlugin(t *testing.T, dir string, procs int, args ...string) {
	t.Helper()
	marker := fmt.Sprintf("SLUICE_TEST_RUN=%s-%d", t.Name(), time.Now().UnixNano())
	cmd := exec.Command(sluiceBin, args...)
	cmd.Dir, cmd.Env = dir, append(os.Environ(), marker)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	deadline := time.Now().Add(30 * time.Second)
	for len(marked(marker, false)) < procs+1 {
		if time.Now().After(deadline) {
			t.Fatalf("the run never had %d processes besides sluice: %v\n%s", procs, marked(marker, true), stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	time.Sleep(time.Second)
	if left := marked(marker, true); len(left) > 0 {
		for _, p := range left {
			syscall.Kill(p.pid, syscall.SIGKILL)
		}
		t.Fatalf("processes of the run still there a second after sluice was killed: %v", left)
	}
}

// marked returns the live processes whose environment holds marker
// (KEY=VALUE), the plugins' guards among them if guards is set.
func marked(marker string, guards bool) []proc {
	var out []proc
	for pid, p := range processes() {
		if hasEnv(pid, marker) && (guards || !isGuard(pid)) {
			out = append(out, p)
		}
	}
	return out
}

// hasEnv reports whether the environment of pid holds kv (KEY=VALUE, or
// KEY= for any value).
func hasEnv(pid int, kv string) bool {
	env, _ := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	for _, e := range bytes.Split(env, []byte{0}) {
		if string(e) == kv || strings.HasSuffix(kv, "=") && bytes.HasPrefix(e, []byte(kv)) {
			return true
		}
	}
	return false
}

// isGuard reports whether pid is a plugin's guard process (sluice in its
// hidden guard mode, see plugins/guard_unix.go).
func isGuard(pid int) bool { return hasEnv(pid, "SLUICE_PLUGINS_GUARD=") }

// TestPluginContractViolation runs a plugin that answers each batch with
// one result fewer than records: under every on_error the run fails (exit 1) naming the
// plugin and the broken contract, blaming no record, skipping or
// dead-lettering none, and committing nothing.
func TestPluginContractViolation(t *testing.T) {
	plugin := testPlugin(t)
	for _, onError := range []string{"fail", "skip", "dead_letter"} {
		t.Run(onError, func(t *testing.T) {
			dir := t.TempDir()
			deadLetter := ""
			if onError == "dead_letter" {
				deadLetter = "\n    dead_letter: out/dead.jsonl"
			}
			writeLinesPipeline(t, dir, numberedLines(95, nil), fmt.Sprintf(`    on_error: %s%s
    with:
      plugin:
        command: [%q]
        batch_size: 40
        config: {short: true}`, onError, deadLetter, plugin))
			res := runSluice(t, dir, "run", "--report", "run.json", "p.yaml")
			if res.code != 1 {
				t.Fatalf("exit %d, want 1\n%s", res.code, res.stderr)
			}
			for _, want := range []string{`plugin "testplugin"`, "broke its contract", "Classify returned", "results for", "on_error does not apply"} {
				if !strings.Contains(res.stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, res.stderr)
				}
			}
			if strings.Contains(res.stderr, "in.txt:") {
				t.Errorf("the error blames a record:\n%s", res.stderr)
			}
			b, err := os.ReadFile(filepath.Join(dir, "run.json"))
			if err != nil {
				t.Fatal(err)
			}
			var rep struct {
				Status string `json:"status"`
				Totals struct {
					Skipped      int64 `json:"skipped"`
					DeadLettered int64 `json:"dead_lettered"`
				} `json:"totals"`
			}
			if err := json.Unmarshal(b, &rep); err != nil {
				t.Fatal(err)
			}
			if rep.Status != "failed" || rep.Totals.Skipped != 0 || rep.Totals.DeadLettered != 0 {
				t.Errorf("report: %+v, want failed with nothing skipped or dead-lettered", rep)
			}
			if files := listFiles(t, filepath.Join(dir, "out")); len(files) != 0 {
				t.Errorf("a failed run left outputs: %v", files)
			}
		})
	}
}

// TestPoisonRecordUnderFail feeds one record that crashes the plugin to a
// stage with on_error: fail: the run fails (exit 1) naming that record, and
// the ledger counts that record alone as errored; the records stopped with
// it are cancelled, none dropped (no signal), and every stage adds up.
func TestPoisonRecordUnderFail(t *testing.T) {
	dir := t.TempDir()
	writeLinesPipeline(t, dir, numberedLines(95, map[int]string{30: "line POISON 30"}), fmt.Sprintf(`    with:
      plugin:
        command: [%q]
        instances: 2
        batch_size: 16
        config: {sleep: 20ms}`, testPlugin(t)))
	res := runSluice(t, dir, "run", "--report", "run.json", "p.yaml")
	if res.code != 1 {
		t.Fatalf("exit %d, want 1\n%s", res.code, res.stderr)
	}
	if !strings.Contains(res.stderr, "in.txt:30") || !strings.Contains(res.stderr, "1 errored") {
		t.Errorf("stderr does not blame in.txt:30 alone:\n%s", res.stderr)
	}
	// Each crash's stack trace is one log record; the final error names the
	// panic's line and what to do, in no gRPC terms.
	final := res.stderr[strings.LastIndex(res.stderr, "sluice: "):]
	for _, want := range []string{"panic: poison record", "at testplugin/main.go:", "on_error: dead_letter"} {
		if !strings.Contains(final, want) {
			t.Errorf("the final error lacks %q:\n%s", want, final)
		}
	}
	if strings.Contains(res.stderr, "rpc error") || strings.Contains(res.stderr, `msg="goroutine `) || strings.Contains(res.stderr, `msg="\t`) {
		t.Errorf("stderr has gRPC jargon or a stack trace line by line:\n%s", res.stderr)
	}
	rep := validateReport(t, filepath.Join(dir, "run.json"))
	for _, s := range rep["stages"].([]any) {
		s := s.(map[string]any)
		n := func(k string) int64 { return int64(s[k].(float64)) }
		if sum := n("processed") + n("skipped") + n("dead_lettered") + n("errored") + n("cancelled") + n("dropped"); sum != n("in") {
			t.Errorf("stage %s: in %d, but the ledger accounts for %d: %v", s["name"], n("in"), sum, s)
		}
		if s["name"] == "labelled" && (n("errored") != 1 || n("cancelled") == 0 || n("dropped") != 0) {
			t.Errorf("labelled: errored %d, cancelled %d, dropped %d; want 1, > 0, 0", n("errored"), n("cancelled"), n("dropped"))
		}
	}
	totals := rep["totals"].(map[string]any)
	if totals["errored"] != float64(1) {
		t.Errorf("totals: %v, want 1 errored", totals)
	}
}

// numberedLines returns n lines "g<i mod 5>", numbered from 1, with the
// lines of special in place of theirs.
func numberedLines(n int, special map[int]string) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		if l, ok := special[i]; ok {
			b.WriteString(l + "\n")
			continue
		}
		fmt.Fprintf(&b, "g%d\n", i%5)
	}
	return b.String()
}

// writeLinesPipeline writes lines to dir/in.txt and dir/p.yaml, a pipeline
// that reads them, classifies them in stage labelled (classify is the rest
// of its YAML, indented by four spaces: on_error, with, ...) and writes them
// to out/sorted. It returns "p.yaml".
func writeLinesPipeline(t *testing.T, dir, lines, classify string) string {
	t.Helper()
	pipeline := `name: lines
stages:
  files: {use: read, with: {path: in.txt}}
  lines: {use: split, from: files, with: {lines: {}}}
  labelled:
    use: classify
    from: lines
` + classify + `
  sorted: {use: write, from: labelled, with: {dir: out/sorted}}
`
	if err := os.WriteFile(filepath.Join(dir, "in.txt"), []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "p.yaml"), []byte(pipeline), 0o644); err != nil {
		t.Fatal(err)
	}
	return "p.yaml"
}
