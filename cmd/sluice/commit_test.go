package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// These tests inject a failure, a SIGKILL or a signal at every step of a
// run's commit, in a real sluice process built with the sluicefaults tag
// (SLUICE_TEST_COMMIT_FAULT), and check the files on disk afterwards.

var (
	faultyOnce sync.Once
	faultyBin  string
	faultyErr  error
)

// faultySluice builds, once, a sluice binary that reads
// SLUICE_TEST_COMMIT_FAULT.
func faultySluice(t *testing.T) string {
	t.Helper()
	faultyOnce.Do(func() {
		faultyBin = filepath.Join(filepath.Dir(sluiceBin), "sluice-faults")
		out, err := exec.Command("go", "build", "-tags", "sluicefaults", "-o", faultyBin, ".").CombinedOutput()
		if err != nil {
			faultyErr = fmt.Errorf("build sluice with faults: %v\n%s", err, out)
		}
	})
	if faultyErr != nil {
		t.Fatal(faultyErr)
	}
	return faultyBin
}

// commitPipeline writes to four places: write's category files in
// out/sorted, count's out/counts.json, the dead letters of lines starting
// with "e" in out/checked.jsonl, and those of lines no rule of labelled
// matches in out/dead.jsonl.
const commitPipeline = `name: commit
stages:
  files: {use: read, with: {path: in.txt}}
  lines: {use: split, from: files, with: {lines: {}}}
  checked:
    use: classify
    from: lines
    on_error: dead_letter
    dead_letter: out/checked.jsonl
    with: {rules: [{when: 'not (line startsWith "e")', category: pass}]}
  labelled:
    use: classify
    from: checked
    on_error: dead_letter
    dead_letter: out/dead.jsonl
    with:
      rules:
        - {when: 'line startsWith "a"', category: a}
        - {when: 'line startsWith "b"', category: b}
        - {when: 'line startsWith "c"', category: c}
        - {when: 'line startsWith "d"', category: d}
  counts: {use: count, from: labelled, with: {by: [category], output: out/counts.json}}
  sorted: {use: write, from: labelled, with: {dir: out/sorted}}
`

const (
	// oldInput makes a.txt, b.txt, c.txt and a dead letter in each file.
	oldInput = "a1\nb1\nc1\nx-old\na2\ne-old\n"
	// newInput replaces a.txt and b.txt, adds d.txt, leaves c.txt alone,
	// has other dead letters in dead.jsonl and none in checked.jsonl (so
	// the commit removes it).
	newInput = "a3\nb3\nb4\nd1\ny-new\nz-new\n"
)

var (
	commitBaseOnce sync.Once
	commitBaseDir  string
)

// commitCase is a directory holding the pipeline, the outputs of a run of
// oldInput, and newInput as the input of the next run. The old run is made
// once and copied.
func commitCase(t *testing.T) string {
	t.Helper()
	commitBaseOnce.Do(func() {
		commitBaseDir = filepath.Join(filepath.Dir(sluiceBin), "commit-base")
		os.MkdirAll(commitBaseDir, 0o755)
		os.WriteFile(filepath.Join(commitBaseDir, "c.yaml"), []byte(commitPipeline), 0o644)
		os.WriteFile(filepath.Join(commitBaseDir, "in.txt"), []byte(oldInput), 0o644)
		if res := runSluice(t, commitBaseDir, "run", "c.yaml"); res.code != 0 {
			t.Fatalf("old run: exit %d\n%s", res.code, res.stderr)
		}
	})
	dir := t.TempDir()
	copyTree(t, commitBaseDir, dir)
	if err := os.WriteFile(filepath.Join(dir, "in.txt"), []byte(newInput), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// outTree maps every file below dir/out to its content, and every
// directory to "dir/", hidden ones included.
func outTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	tree := map[string]string{}
	root := filepath.Join(dir, "out")
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if d.IsDir() {
			tree[rel+"/"] = "dir/"
			return nil
		}
		b, err := os.ReadFile(p)
		tree[rel] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return tree
}

// expectedTrees returns the outputs after the old run, and after the new
// run committed over them without a fault.
func expectedTrees(t *testing.T) (old, new map[string]string) {
	dir := commitCase(t)
	old = outTree(t, dir)
	if res := runSluice(t, dir, "run", "c.yaml"); res.code != 0 {
		t.Fatalf("new run: exit %d\n%s", res.code, res.stderr)
	}
	new = outTree(t, dir)
	if _, ok := new["checked.jsonl"]; ok {
		t.Fatal("a run without rejections left the previous checked.jsonl")
	}
	for _, want := range []string{"sorted/a.txt", "sorted/c.txt", "counts.json", "dead.jsonl", "checked.jsonl"} {
		if _, ok := old[want]; !ok {
			t.Fatalf("old run made no %s: %v", want, slices.Sorted(maps.Keys(old)))
		}
	}
	if new["sorted/a.txt"] != "a3\n" || new["sorted/b.txt"] != "b3\nb4\n" || new["sorted/d.txt"] != "d1\n" ||
		new["sorted/c.txt"] != "c1\n" || !strings.Contains(new["dead.jsonl"], "z-new") || strings.Contains(new["dead.jsonl"], "x-old") ||
		!strings.Contains(new["counts.json"], `"d": 1`) {
		t.Fatalf("new run's outputs are not the new input's: %v", new)
	}
	return old, new
}

func diffTrees(got, want map[string]string) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(got)) {
		if w, ok := want[k]; !ok {
			fmt.Fprintf(&b, "  extra %s\n", k)
		} else if w != got[k] {
			fmt.Fprintf(&b, "  %s = %q, want %q\n", k, got[k], w)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if _, ok := got[k]; !ok {
			fmt.Fprintf(&b, "  missing %s\n", k)
		}
	}
	return b.String()
}

// runFaulty runs the faulty sluice with SLUICE_TEST_COMMIT_FAULT=fault.
// killed reports a SIGKILL.
func runFaulty(t *testing.T, dir, fault string, args ...string) (res result, killed bool) {
	t.Helper()
	cmd := exec.Command(faultySluice(t), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "SLUICE_TEST_COMMIT_FAULT="+fault)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		res.code = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
			killed = true
		}
	} else if err != nil {
		t.Fatal(err)
	}
	res.stdout, res.stderr = out.String(), errb.String()
	return res, killed
}

var (
	stepRE   = regexp.MustCompile(`injected fault at commit step (\d+) \(([^)]*)\)`)
	runIDRE  = regexp.MustCompile(`dead\.jsonl\.failed-(\d{8}T\d{6}Z-[0-9a-f]{6})`)
	failedRE = regexp.MustCompile(`^dead\.jsonl\.failed-\d{8}T\d{6}Z-[0-9a-f]{6}$`)
)

// withoutFailedDeadLetters returns tree without the failed run's dead
// letters, after checking there is exactly one such file and that it holds
// the new run's dead letters (want).
func withoutFailedDeadLetters(t *testing.T, tree map[string]string, want string) map[string]string {
	t.Helper()
	out := maps.Clone(tree)
	n := 0
	for k, v := range tree {
		if failedRE.MatchString(k) {
			n++
			if v != want {
				t.Errorf("%s = %q, want the failed run's dead letters %q", k, v, want)
			}
			delete(out, k)
		}
	}
	if n != 1 {
		t.Errorf("%d files of failed dead letters, want 1: %v", n, slices.Sorted(maps.Keys(tree)))
	}
	return out
}

// traceSteps runs the faulty sluice with args in a fresh commit case,
// after prepare, and returns the names of the commit (or recovery) steps
// it traces, with the case directory left out of them.
func traceSteps(t *testing.T, prepare func(dir string), args ...string) []string {
	t.Helper()
	dir := commitCase(t)
	prepare(dir)
	res, _ := runFaulty(t, dir, "0:trace", args...)
	var steps []string
	for _, m := range traceRE.FindAllStringSubmatch(res.stderr, -1) {
		steps = append(steps, strings.ReplaceAll(m[2], dir+string(filepath.Separator), ""))
	}
	if len(steps) < 4 {
		t.Fatalf("%d steps traced: the fault injection does not reach them\n%s", len(steps), res.stderr)
	}
	return steps
}

var traceRE = regexp.MustCompile(`(?m)^commit step (\d+): (.*)$`)

// TestCommitFailureAtEveryStep fails each step of the commit in turn (the
// journal, keeping each previous output, each rename, each directory
// sync, recording the commit, then each cleanup step). Before the commit
// is recorded, the run exits 1, says the commit was undone, and every
// output is exactly as the old run left it, with no temporary file; the
// failed run's dead letters are kept as dead.jsonl.failed-<run id>. After
// it, every output is the new run's, the run exits 0 with a warning, and
// `sluice recover` finishes the cleanup.
func TestCommitFailureAtEveryStep(t *testing.T) {
	old, new := expectedTrees(t)
	steps := traceSteps(t, func(string) {}, "run", "c.yaml")
	if len(steps) < 15 {
		t.Fatalf("only %d commit steps: %v", len(steps), steps)
	}
	for i, name := range steps {
		k := i + 1
		t.Run(fmt.Sprintf("%d %s", k, name), func(t *testing.T) {
			t.Parallel()
			dir := commitCase(t)
			res, _ := runFaulty(t, dir, fmt.Sprintf("%d:fail", k), "run", "c.yaml")
			if m := stepRE.FindStringSubmatch(res.stderr); m == nil || m[1] != fmt.Sprint(k) {
				t.Fatalf("no fault injected at step %d: exit %d\n%s", k, res.code, res.stderr)
			}
			tree := outTree(t, dir)
			if !strings.HasPrefix(name, "remove") {
				want := "it was undone: the previous outputs are as they were"
				if name == "write journal" {
					want = "no output was changed"
				}
				if res.code != 1 || !strings.Contains(res.stderr, want) {
					t.Fatalf("exit %d, want 1 and %q\n%s", res.code, want, res.stderr)
				}
				if !strings.Contains(res.stderr, "kept from this failed run: out/dead.jsonl.failed-") {
					t.Errorf("summary does not say where the failed run's dead letters are\n%s", res.stderr)
				}
				if d := diffTrees(withoutFailedDeadLetters(t, tree, new["dead.jsonl"]), old); d != "" {
					t.Fatalf("outputs after a failed commit differ from the old run's:\n%s", d)
				}
				return
			}
			if res.code != 0 || !strings.Contains(res.stderr, "outputs committed, but cleaning up after the commit failed") {
				t.Fatalf("exit %d, want 0 and a warning about the cleanup\n%s", res.code, res.stderr)
			}
			for k, v := range new {
				if tree[k] != v {
					t.Errorf("%s = %q, want the new run's %q", k, tree[k], v)
				}
			}
			rec := runSluice(t, dir, "recover", "c.yaml")
			if rec.code != 0 || !strings.Contains(rec.stdout, "its commit was finished") {
				t.Fatalf("recover: exit %d\n%s%s", rec.code, rec.stdout, rec.stderr)
			}
			if d := diffTrees(outTree(t, dir), new); d != "" {
				t.Fatalf("outputs after recover differ from the new run's:\n%s", d)
			}
		})
	}
}

// TestCommitKilledAtEveryStep SIGKILLs sluice before each step of the
// commit in turn. Killed before its journal is written, the run has
// changed no output (its staged files remain, as after any kill during a
// run). Killed later, it leaves the journal, and `sluice recover` finishes
// the commit, says so, and leaves exactly the new run's outputs with no
// temporary file, journal or kept previous output.
func TestCommitKilledAtEveryStep(t *testing.T) {
	old, new := expectedTrees(t)
	steps := traceSteps(t, func(string) {}, "run", "c.yaml")
	for i, name := range steps {
		k := i + 1
		t.Run(fmt.Sprintf("%d %s", k, name), func(t *testing.T) {
			t.Parallel()
			dir := commitCase(t)
			if res, killed := runFaulty(t, dir, fmt.Sprintf("%d:kill", k), "run", "c.yaml"); !killed {
				t.Fatalf("not killed at step %d: exit %d\n%s", k, res.code, res.stderr)
			}
			journals, _ := filepath.Glob(filepath.Join(dir, "out", ".sluice-commit-*.json"))
			if name == "write journal" {
				if len(journals) != 0 {
					t.Fatalf("a journal exists after a kill before it was written: %v", journals)
				}
				for name, content := range outTree(t, dir) {
					hidden := strings.HasPrefix(filepath.Base(strings.TrimSuffix(name, "/")), ".") ||
						strings.Contains(name, "/.sluice-tmp-")
					if !hidden && content != old[name] {
						t.Errorf("%s changed by a run killed before its commit", name)
					}
				}
				return
			}
			if len(journals) != 1 {
				t.Fatalf("journals after a kill during the commit: %v", journals)
			}
			rec := runSluice(t, dir, "recover", "c.yaml")
			if rec.code != 0 || !strings.Contains(rec.stdout, "was stopped while committing its outputs; its commit was finished: its 6 outputs are final") {
				t.Fatalf("recover: exit %d\n%s%s", rec.code, rec.stdout, rec.stderr)
			}
			if d := diffTrees(outTree(t, dir), new); d != "" {
				t.Fatalf("outputs after recovering differ from the new run's:\n%s", d)
			}
			if again := runSluice(t, dir, "recover", "c.yaml"); again.code != 0 || !strings.Contains(again.stdout, "no interrupted commit") {
				t.Fatalf("second recover: exit %d\n%s%s", again.code, again.stdout, again.stderr)
			}
		})
	}
}

// TestRunRecoversKilledCommit kills a run in the middle of its renames;
// the next `sluice run` finishes that commit before it starts, says so in
// its log, summary and report, and then commits its own outputs.
func TestRunRecoversKilledCommit(t *testing.T) {
	dir := commitCase(t)
	if _, killed := runFaulty(t, dir, "6:kill", "run", "c.yaml"); !killed {
		t.Fatal("not killed")
	}
	if err := os.WriteFile(filepath.Join(dir, "in.txt"), []byte("a9\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res := runSluice(t, dir, "run", "--report", "r.json", "c.yaml")
	if res.code != 0 {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	if n := strings.Count(res.stderr, "its commit was finished"); n != 2 { // the log line and the summary line
		t.Errorf("the recovery is reported %d times, want 2 (log and summary)\n%s", n, res.stderr)
	}
	var rep struct {
		Recovered []struct {
			Finished bool   `json:"finished"`
			Run      string `json:"run"`
		} `json:"recovered"`
	}
	validateReport(t, filepath.Join(dir, "r.json"))
	b, _ := os.ReadFile(filepath.Join(dir, "r.json"))
	if err := json.Unmarshal(b, &rep); err != nil || len(rep.Recovered) != 1 || !rep.Recovered[0].Finished {
		t.Fatalf("report's recovered: %+v (%v)\n%s", rep.Recovered, err, b)
	}
	tree := outTree(t, dir)
	// d.txt was the killed run's (finished by the recovery); a.txt is this
	// run's; no dead letters this time.
	want := map[string]string{"sorted/": "dir/", "sorted/a.txt": "a9\n", "sorted/b.txt": "b3\nb4\n", "sorted/c.txt": "c1\n", "sorted/d.txt": "d1\n", "counts.json": tree["counts.json"]}
	if d := diffTrees(tree, want); d != "" {
		t.Fatalf("outputs:\n%s", d)
	}
}

// TestRecoverRollsBack kills a run before its first rename and removes one
// staged file: the commit can no longer be finished, so `sluice recover`
// undoes it, says so, and the old outputs are back, with the killed run's
// dead letters kept as dead.jsonl.failed-<run id>.
func TestRecoverRollsBack(t *testing.T) {
	old, new := expectedTrees(t)
	dir := commitCase(t)
	if _, killed := runFaulty(t, dir, "3:kill", "run", "c.yaml"); !killed {
		t.Fatal("not killed")
	}
	staged, _ := filepath.Glob(filepath.Join(dir, "out", "sorted", ".sluice-tmp-*", "b.txt"))
	if len(staged) != 1 {
		t.Fatalf("staged b.txt: %v", staged)
	}
	os.Remove(staged[0])
	rec := runSluice(t, dir, "recover", "c.yaml")
	if rec.code != 0 || !strings.Contains(rec.stdout, "its commit was undone: the outputs before it are back") {
		t.Fatalf("recover: exit %d\n%s%s", rec.code, rec.stdout, rec.stderr)
	}
	if d := diffTrees(withoutFailedDeadLetters(t, outTree(t, dir), new["dead.jsonl"]), old); d != "" {
		t.Fatalf("outputs after undoing differ from the old run's:\n%s", d)
	}
}

// TestObstacleFailsWholeCommit puts a directory where an output goes (the
// issue's `mkdir -p out/sorted/b.txt/x`, and the same for count's file):
// the run exits 1, no output of the run is final, every previous output is
// unchanged, and no temporary file is left.
func TestObstacleFailsWholeCommit(t *testing.T) {
	_, new := expectedTrees(t)
	for _, obstacle := range []string{"sorted/b.txt/x", "counts.json/x", "sorted/d.txt/x"} {
		t.Run(obstacle, func(t *testing.T) {
			dir := commitCase(t)
			os.Remove(filepath.Join(dir, "out", filepath.Dir(obstacle)))
			if err := os.MkdirAll(filepath.Join(dir, "out", obstacle), 0o755); err != nil {
				t.Fatal(err)
			}
			before := outTree(t, dir)
			res := runSluice(t, dir, "run", "c.yaml")
			if res.code != 1 || !strings.Contains(res.stderr, "is a directory; move it away or choose another output name") ||
				!strings.Contains(res.stderr, "FAILED") {
				t.Fatalf("exit %d, want 1 naming the directory\n%s", res.code, res.stderr)
			}
			if d := diffTrees(withoutFailedDeadLetters(t, outTree(t, dir), new["dead.jsonl"]), before); d != "" {
				t.Fatalf("outputs changed by a failed commit:\n%s", d)
			}
		})
	}
}

// TestDeadLetterNames checks that the dead-letter file under its
// configured name is always the last successful run's own: a failed run
// keeps its dead letters as dead.jsonl.failed-<run id> (named in the
// summary and the report, with the run id) and leaves the previous
// dead.jsonl alone, and a successful run without rejections removes the
// previous one.
func TestDeadLetterNames(t *testing.T) {
	dir := commitCase(t)
	old := outTree(t, dir)["dead.jsonl"]
	// A failed run: its commit meets a directory.
	os.Remove(filepath.Join(dir, "out", "sorted", "b.txt"))
	if err := os.MkdirAll(filepath.Join(dir, "out", "sorted", "b.txt", "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	res := runSluice(t, dir, "run", "--report", "r.json", "c.yaml")
	if res.code != 1 {
		t.Fatalf("exit %d, want 1\n%s", res.code, res.stderr)
	}
	var rep struct {
		RunID  string `json:"run_id"`
		Stages []struct {
			Name           string `json:"name"`
			DeadLetterFile string `json:"dead_letter_file"`
			DeadLettered   int    `json:"dead_lettered"`
		} `json:"stages"`
	}
	validateReport(t, filepath.Join(dir, "r.json"))
	b, _ := os.ReadFile(filepath.Join(dir, "r.json"))
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	failed := "out/dead.jsonl.failed-" + rep.RunID
	if rep.Stages[3].DeadLetterFile != failed || rep.Stages[3].DeadLettered != 2 {
		t.Fatalf("report: run %s, stage %+v, want dead letters in %s", rep.RunID, rep.Stages[3], failed)
	}
	if !strings.Contains(res.stderr, "dead letters of labelled, kept from this failed run: "+failed+" (2 records)") {
		t.Errorf("summary does not name %s\n%s", failed, res.stderr)
	}
	if got := deadRecords(t, filepath.Join(dir, failed)); !slices.Equal(got, []string{"y-new", "z-new"}) {
		t.Errorf("%s holds %v", failed, got)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "out", "dead.jsonl")); string(b) != old {
		t.Errorf("the failed run changed dead.jsonl: %q", b)
	}
	// A successful run without rejections removes the previous file.
	os.RemoveAll(filepath.Join(dir, "out", "sorted", "b.txt"))
	os.WriteFile(filepath.Join(dir, "in.txt"), []byte("a1\nb1\n"), 0o644)
	res = runSluice(t, dir, "run", "c.yaml")
	if res.code != 0 {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "out", "dead.jsonl")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a run without rejections left the previous dead.jsonl (%v)", err)
	}
	if _, err := os.Stat(filepath.Join(dir, failed)); err != nil {
		t.Errorf("the failed run's dead letters are gone: %v", err)
	}
	if strings.Contains(res.stderr, "dead letters of") {
		t.Errorf("summary names dead letters of a run that had none\n%s", res.stderr)
	}
}

func deadRecords(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var recs []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var v struct{ Record string }
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatal(err)
		}
		recs = append(recs, v.Record)
	}
	return recs
}

// TestInterruptDuringCommit sends SIGINT while the commit is under way
// (stalled at its third step): sluice says it finishes the commit, does,
// and exits 0 with every output the new run's. A second SIGINT exits at
// once (130), leaving the journal, and `sluice recover` finishes the
// commit.
func TestInterruptDuringCommit(t *testing.T) {
	_, new := expectedTrees(t)
	for _, signals := range []int{1, 2} {
		t.Run(fmt.Sprintf("%d signals", signals), func(t *testing.T) {
			dir := commitCase(t)
			cmd := exec.Command(faultySluice(t), "run", "c.yaml")
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "SLUICE_TEST_COMMIT_FAULT=3:stall")
			stderr, err := cmd.StderrPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			var all bytes.Buffer
			sc := bufio.NewScanner(stderr)
			for sc.Scan() {
				all.WriteString(sc.Text() + "\n")
				if strings.HasPrefix(sc.Text(), "commit stalled at step 3") {
					break
				}
			}
			for i := 0; i < signals; i++ {
				if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
					t.Fatal(err)
				}
				time.Sleep(100 * time.Millisecond)
			}
			for sc.Scan() {
				all.WriteString(sc.Text() + "\n")
			}
			err = cmd.Wait()
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			}
			if !strings.Contains(all.String(), "interrupt: the outputs are being committed; finishing the commit") ||
				strings.Contains(all.String(), "will not be committed") {
				t.Errorf("messages do not say the commit goes on:\n%s", all.String())
			}
			if signals == 2 {
				if code != 130 {
					t.Fatalf("exit %d after two signals, want 130\n%s", code, all.String())
				}
				rec := runSluice(t, dir, "recover", "c.yaml")
				if rec.code != 0 || !strings.Contains(rec.stdout, "its commit was finished") {
					t.Fatalf("recover: exit %d\n%s%s", rec.code, rec.stdout, rec.stderr)
				}
			} else if code != 0 || !strings.Contains(all.String(), "pipeline commit: done") {
				t.Fatalf("exit %d, want 0 and the run done\n%s", code, all.String())
			}
			if d := diffTrees(outTree(t, dir), new); d != "" {
				t.Fatalf("outputs differ from the new run's:\n%s", d)
			}
		})
	}
}

// TestRecoverKilledAtEveryStep kills `sluice recover` itself before each
// of its steps, both when it finishes a commit (the run was killed in the
// middle of its renames) and when it undoes one (a staged file is gone):
// the next `sluice recover` completes the job, with the same outcome as an
// uninterrupted recovery.
func TestRecoverKilledAtEveryStep(t *testing.T) {
	old, new := expectedTrees(t)
	scenarios := []struct {
		name    string
		kill    string // the step at which the run is killed
		prepare func(t *testing.T, dir string)
		say     string
		want    func(t *testing.T, tree map[string]string) string
	}{
		{"finish", "8:kill", func(*testing.T, string) {}, "its commit was finished",
			func(t *testing.T, tree map[string]string) string { return diffTrees(tree, new) }},
		{"undo", "3:kill", func(t *testing.T, dir string) {
			staged, _ := filepath.Glob(filepath.Join(dir, "out", "sorted", ".sluice-tmp-*", "b.txt"))
			if len(staged) != 1 {
				t.Fatalf("staged b.txt: %v", staged)
			}
			os.Remove(staged[0])
		}, "its commit was undone",
			func(t *testing.T, tree map[string]string) string {
				return diffTrees(withoutFailedDeadLetters(t, tree, new["dead.jsonl"]), old)
			}},
	}
	for _, sc := range scenarios {
		killRun := func(t *testing.T, dir string) {
			if _, killed := runFaulty(t, dir, sc.kill, "run", "c.yaml"); !killed {
				t.Fatal("run not killed")
			}
			sc.prepare(t, dir)
		}
		steps := traceSteps(t, func(dir string) { killRun(t, dir) }, "recover", "c.yaml")
		for i, name := range steps {
			k := i + 1
			t.Run(fmt.Sprintf("%s/%d %s", sc.name, k, name), func(t *testing.T) {
				t.Parallel()
				dir := commitCase(t)
				killRun(t, dir)
				if res, killed := runFaulty(t, dir, fmt.Sprintf("%d:kill", k), "recover", "c.yaml"); !killed {
					t.Fatalf("recover not killed at step %d: exit %d\n%s%s", k, res.code, res.stdout, res.stderr)
				}
				rec := runSluice(t, dir, "recover", "c.yaml")
				if rec.code != 0 || !strings.Contains(rec.stdout, sc.say) {
					t.Fatalf("recover after a recover killed at step %d: exit %d\n%s%s", k, rec.code, rec.stdout, rec.stderr)
				}
				if d := sc.want(t, outTree(t, dir)); d != "" {
					t.Fatalf("outputs after a recover killed at step %d:\n%s", k, d)
				}
			})
		}
	}
}

// TestInterruptKeepsDeadLetters interrupts a run that has dead-lettered
// records: it exits 130, no output is final, the previous dead.jsonl is
// untouched, and the records it rejected so far are kept as
// dead.jsonl.failed-<run id>, named in the summary; no temporary file is
// left.
func TestInterruptKeepsDeadLetters(t *testing.T) {
	dir := commitCase(t)
	before := outTree(t, dir)
	var in bytes.Buffer
	for i := range 3_000_000 {
		if i%100 == 7 {
			fmt.Fprintf(&in, "x%d\n", i)
		} else {
			fmt.Fprintf(&in, "a%d\n", i)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "in.txt"), in.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd, stderr := startSluiceUntil(t, dir, "out/.dead.jsonl.tmp-*", "run", "c.yaml")
	cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 {
		t.Fatalf("exit %v, want 130 (if 0, the run ended before the signal: make the input longer)\n%s", err, stderr.String())
	}
	m := regexp.MustCompile(`dead letters of labelled, kept from this interrupted run: (out/dead\.jsonl\.failed-\S+) \((\d+) records\)`).FindStringSubmatch(stderr.String())
	if m == nil {
		t.Fatalf("summary does not name the interrupted run's dead letters\n%s", stderr.String())
	}
	recs := deadRecords(t, filepath.Join(dir, m[1]))
	if fmt.Sprint(len(recs)) != m[2] || len(recs) == 0 {
		t.Errorf("%s holds %d records, the summary says %s", m[1], len(recs), m[2])
	}
	for _, r := range recs {
		if !strings.HasPrefix(r, "x") {
			t.Errorf("dead letter %q was not rejected", r)
		}
	}
	after := outTree(t, dir)
	delete(after, strings.TrimPrefix(m[1], "out/"))
	if d := diffTrees(after, before); d != "" {
		t.Fatalf("outputs changed by an interrupted run:\n%s", d)
	}
}
