package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/corpus"
)

// sluiceBin is the sluice binary, built once by TestMain from this package,
// so these tests run the real command: real files, real exit codes, real
// signals.
var sluiceBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sluice-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	sluiceBin = filepath.Join(dir, "sluice")
	build := exec.Command("go", "build", "-o", sluiceBin, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building sluice:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	code           int
	stdout, stderr string
}

func runSluice(t *testing.T, dir string, args ...string) result {
	t.Helper()
	cmd := exec.Command(sluiceBin, args...)
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	code := 0
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{code, out.String(), errb.String()}
}

// copyTree copies src into dst.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// rootWorkspace is a temporary directory holding the root pipeline and the
// bundled data, as a fresh clone has them.
func rootWorkspace(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	copyTree(t, "../../examples/data", filepath.Join(dir, "examples", "data"))
	// The classifier plugin is built from source, inside its module: link it.
	plugin, err := filepath.Abs("../../examples/go-classifier")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(plugin, filepath.Join(dir, "examples", "go-classifier")); err != nil {
		t.Fatal(err)
	}
	rules, err := filepath.Abs("../../examples/catalog-rules")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(rules, filepath.Join(dir, "examples", "catalog-rules")); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("../../pipeline.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "pipeline.yaml"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// listFiles returns every file below dir, relative and sorted.
func listFiles(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			files = append(files, rel)
		}
		return nil
	})
	return files
}

// TestRootPipelineGolden runs `sluice run` on the root pipeline as the
// README's first command does and compares every output with
// testdata/root-out (go test -update rewrites it).
func TestRootPipelineGolden(t *testing.T) {
	dir := rootWorkspace(t)
	res := runSluice(t, dir, "run")
	if res.code != 0 {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	for _, want := range []string{"pipeline catalog-index: done", "out/attribute-counts.json", "out/sorted/book__plain.xml"} {
		if !strings.Contains(res.stderr, want) {
			t.Errorf("summary lacks %q:\n%s", want, res.stderr)
		}
	}
	out := filepath.Join(dir, "out")
	golden := filepath.Join("testdata", "root-out")
	if *update {
		os.RemoveAll(golden)
		copyTree(t, out, golden)
	}
	got, want := listFiles(t, out), listFiles(t, golden)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("output files differ\ngot:  %v\nwant: %v", got, want)
	}
	for _, f := range got {
		a, _ := os.ReadFile(filepath.Join(out, f))
		b, _ := os.ReadFile(filepath.Join(golden, f))
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs from the golden file (go test ./cmd/sluice -update after checking the change)", f)
		}
	}
	// A second run gives the same bytes: outputs are deterministic.
	if res := runSluice(t, dir, "run"); res.code != 0 {
		t.Fatalf("second run: exit %d", res.code)
	}
	for _, f := range got {
		a, _ := os.ReadFile(filepath.Join(out, f))
		b, _ := os.ReadFile(filepath.Join(golden, f))
		if !bytes.Equal(a, b) {
			t.Errorf("%s changed on a second run", f)
		}
	}
}

func TestExitCodes(t *testing.T) {
	dir := rootWorkspace(t)
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("bad.yaml", "name: bad\nstages:\n  files: {use: read, with: {path: examples/data/catalog}}\n  recs: {use: splitt, from: files}\n  out: {use: write, from: recz, with: {dir: out/x}}\n")
	write("broken.xml", "<catalogue>\n  <record id=\"1\">ok</record>\n  <record id=\"2\"><title>unclosed</record>\n</catalogue>\n")
	write("fails.yaml", "name: fails\nstages:\n  files: {use: read, with: {path: broken.xml}}\n  recs: {use: split, from: files, with: {xml: {element: record}}}\n  out: {use: write, from: recs, with: {dir: out/fails}}\n")

	tests := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"validate ok", []string{"validate"}, 0, []string{"pipeline.yaml: ok (8 stages)"}},
		{"validate invalid", []string{"validate", "bad.yaml"}, 2, []string{
			`bad.yaml:4:15: stage "recs": unknown stage kind "splitt" (did you mean "split"?)`,
			`bad.yaml:5:27: stage "out": input "recz" doesn't match any stage (did you mean "recs"?)`}},
		{"run invalid", []string{"run", "bad.yaml"}, 2, []string{"bad.yaml: 2 problem(s)"}},
		{"missing file", []string{"run", "nope.yaml"}, 2, []string{"open nope.yaml: no such file or directory"}},
		{"run fails", []string{"run", "fails.yaml"}, 1, []string{"broken.xml:3:", "FAILED"}},
		{"bad flag", []string{"run", "--log-level", "loud"}, 2, []string{"--log-level"}},
		{"graph mermaid", []string{"graph", "--format", "mermaid"}, 0, []string{"flowchart LR", `-->|"xml"|`}},
		{"graph dot", []string{"graph"}, 0, []string{`digraph "catalog-index"`, `"records" -> "labelled" [label="xml"]`}},
		{"stages", []string{"stages"}, 0, []string{"classify", "split", "write"}},
		{"version", []string{"version"}, 0, []string{"sluice ", runtime.Version() + " " + runtime.GOOS}},
		{"--version", []string{"--version"}, 0, []string{"sluice ", runtime.Version() + " " + runtime.GOOS}},
		{"stages kind", []string{"stages", "split"}, 0, []string{"max_record_bytes", "sample:"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := runSluice(t, dir, tc.args...)
			if res.code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", res.code, tc.code, res.stdout, res.stderr)
			}
			all := res.stdout + res.stderr
			for _, w := range tc.want {
				if !strings.Contains(all, w) {
					t.Errorf("output lacks %q:\n%s", w, all)
				}
			}
		})
	}
	if files := listFiles(t, filepath.Join(dir, "out", "fails")); len(files) != 0 {
		t.Fatalf("a failed run left files: %v", files)
	}
}

// startSluiceUntil starts sluice in dir and returns once a file matching
// glob (relative to dir) exists, with the process and its stderr.
func startSluiceUntil(t *testing.T, dir, glob string, args ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(sluiceBin, args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if found, _ := filepath.Glob(filepath.Join(dir, glob)); len(found) > 0 {
			return cmd, &stderr
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("no %s within 20s\n%s", glob, stderr.String())
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestInterrupt sends a real SIGINT to a real sluice process in the middle
// of a run: it must exit 130 promptly and leave no output under a final
// name, and no staging files behind.
func TestInterrupt(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	os.MkdirAll(data, 0o755)
	for i := 0; i < 4; i++ {
		f, err := os.Create(filepath.Join(data, fmt.Sprintf("part-%d.xml", i)))
		if err != nil {
			t.Fatal(err)
		}
		if err := corpus.WriteXML(f, uint64(i), 40000); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	pipeline := `name: long
stages:
  files: {use: read, with: {path: data}}
  recs: {use: split, from: files, with: {xml: {element: record}}}
  labelled:
    use: classify
    from: recs
    with: {rules: [{expr: 'attr("type") ?? "unknown"'}]}
  counts: {use: count, from: labelled, with: {attributes: true, output: out/counts.json}}
  sorted: {use: write, from: labelled, with: {dir: out/sorted}}
`
	os.WriteFile(filepath.Join(dir, "long.yaml"), []byte(pipeline), 0o644)
	// Wait until the writer has staged files: the run is under way.
	cmd, stderr := startSluiceUntil(t, dir, "out/sorted/.sluice-tmp-*/*", "run", "long.yaml")
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 130 {
			t.Fatalf("exit: %v, want 130\n%s", err, stderr.String())
		}
	case <-time.After(15 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("sluice did not stop within 15s of SIGINT\n%s", stderr.String())
	}
	if files := listFiles(t, filepath.Join(dir, "out")); len(files) != 0 {
		t.Fatalf("interrupted run left files: %v", files)
	}
	if !strings.Contains(stderr.String(), "run interrupted") {
		t.Errorf("stderr does not say the run was interrupted:\n%s", stderr.String())
	}
}
