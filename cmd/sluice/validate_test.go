package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestValidateChecksInputPaths runs sluice validate on pipelines whose
// inputs are missing: each missing path (read's path, a plugin's source or
// executable, in the pipeline or through a template) is an error at its
// option, paths under with: resolve against the working directory and
// template paths against the file, and --no-path-check skips the check.
func TestValidateChecksInputPaths(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("p/pipeline.yaml", `stages:
  in:   {use: read, with: {path: data/in.xml}}
  recs: {use: split, from: in, with: {xml: {element: r}}}
  tagged:
    use: classify
    from: recs
    with: {plugin: {command: [./bin/classifier], instances: 1}}
  more: {use: ./lib/more.yaml}
  out:  {use: count, from: [tagged, more], with: {by: category, output: out/c.json}}
`)
	write("p/lib/more.yaml", `template: more
output: recs
stages:
  in:   {use: read, with: {path: data/more}}
  recs: {use: split, from: in, with: {lines: {}}}
`)
	wantMissing := []string{
		`p/pipeline.yaml:2:34: stage "in": path: data/in.xml: no such file or directory (relative to the working directory, ` + dir + `)`,
		`p/pipeline.yaml:7:31: stage "tagged": plugin.command[0]: ./bin/classifier: no such file or directory`,
		`p/pipeline.yaml:8:15: stage "more.in": path: data/more: no such file or directory`,
		"(template p/lib/more.yaml:4:34)",
		"paths under with: are relative to the working directory", "--no-path-check skips this check",
	}
	r := runSluice(t, dir, "validate", "p/pipeline.yaml")
	if r.code != 2 {
		t.Fatalf("exit %d, want 2\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, w := range wantMissing {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
		}
	}
	if r := runSluice(t, dir, "validate", "--no-path-check", "p/pipeline.yaml"); r.code != 0 || !strings.Contains(r.stdout, "ok (6 stages)") {
		t.Fatalf("--no-path-check: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// From the working directory the paths are written for, it is ok.
	write("data/in.xml", "<r/>")
	write("data/more/a.txt", "a\n")
	write("bin/classifier", "")
	if r := runSluice(t, dir, "validate", "p/pipeline.yaml"); r.code != 0 {
		t.Fatalf("with the inputs in place: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := runSluice(t, filepath.Join(dir, "p"), "validate", "pipeline.yaml"); r.code != 2 || !strings.Contains(r.stderr, "missing inputs:") || !strings.Contains(r.stderr, "data/more: no such file") {
		t.Fatalf("from p/, with: paths resolve against p/ and the template is still found: exit %d\n%s", r.code, r.stderr)
	}
}
