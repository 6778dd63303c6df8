package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTestCommand runs `sluice test` on a passing case, a failing one and
// a malformed test file, and checks the exit codes and the diff.
func TestTestCommand(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("words.txt", "alpha\nb2\n")
	write("pipeline.yaml", `stages:
  input: {use: read, with: {path: words.txt}}
  lines: {use: split, from: input, with: {lines: {}}}
  sorted:
    use: classify
    from: lines
    with: {rules: [{expr: 'line matches "[0-9]" ? "digits" : "letters"'}]}
  counts: {use: count, from: sorted, with: {by: [category], output: out/counts.csv}}
`)
	write("pipeline_test.yaml", `tests:
  - name: counts by category
    expect:
      files:
        out/counts.csv: "category,count\ndigits,1\nletters,1\n"
`)
	r := runSluice(t, dir, "test", "-v")
	if r.code != 0 || !strings.Contains(r.stdout, "ok    counts by category") || !strings.Contains(r.stdout, "1 passed, 0 failed") {
		t.Fatalf("passing test: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "out")); !os.IsNotExist(err) {
		t.Fatalf("sluice test wrote the pipeline's own outputs: %v", err)
	}

	write("pipeline_test.yaml", `tests:
  - name: wrong count
    expect:
      files:
        out/counts.csv: "category,count\ndigits,2\nletters,1\n"
`)
	r = runSluice(t, dir, "test")
	want := "  FAIL  wrong count"
	diff := "pipeline_test.yaml:5:9: out/counts.csv differs (- want, + got):\n        @@ -1,3 +1,3 @@\n         category,count\n        -digits,2\n        +digits,1\n         letters,1"
	if r.code != 1 || !strings.Contains(r.stdout, want) || !strings.Contains(r.stdout, diff) || !strings.Contains(r.stdout, "0 passed, 1 failed") {
		t.Fatalf("failing test: exit %d, want 1 and a diff\n%s%s", r.code, r.stdout, r.stderr)
	}

	write("pipeline_test.yaml", "tests:\n  - name: x\n    expekt: {}\n")
	r = runSluice(t, dir, "test", "pipeline_test.yaml")
	if r.code != 2 || !strings.Contains(r.stderr, `pipeline_test.yaml:3:5: unknown key "expekt"`) {
		t.Fatalf("malformed test file: exit %d, want 2\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// TestStagesListsTemplates checks that `sluice stages` lists the templates
// on SLUICE_PATH with the kinds, and shows one template's parameters.
func TestStagesListsTemplates(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("SLUICE_PATH", filepath.Join(root, "examples/reuse/lib"))
	r := runSluice(t, root, "stages")
	if r.code != 0 || !strings.Contains(r.stdout, "templates (on SLUICE_PATH):") ||
		!strings.Contains(r.stdout, "sort-by") || !strings.Contains(r.stdout, "xml-records") || !strings.Contains(r.stdout, "split") {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = runSluice(t, root, "stages", "sort-by")
	for _, want := range []string{"sort-by — template in", "category   string", "(required)", "on_error   string (fail|skip|dead_letter)  fail", "input:  classify"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("sluice stages sort-by lacks %q:\n%s", want, r.stdout)
		}
	}
	if r = runSluice(t, root, "stages", "nope"); r.code != 2 || !strings.Contains(r.stderr, "xml-records") {
		t.Errorf("unknown name: exit %d, %s", r.code, r.stderr)
	}
}
