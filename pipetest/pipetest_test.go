package pipetest_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	pipelinepkg "github.com/sluicehq/sluice/pipeline"
	"github.com/sluicehq/sluice/pipetest"
	"github.com/sluicehq/sluice/stages"
)

// project writes a pipeline over a small lines file and returns the
// directory, with files named as in the map (TMP in them is the directory).
func project(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(strings.ReplaceAll(text, "TMP", dir)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const pipeline = `name: words
stages:
  input: {use: read, with: {path: TMP/words.txt}}
  lines: {use: split, from: input, with: {lines: {skip_empty: true}}}
  sorted:
    use: classify
    from: lines
    with:
      rules:
        - expr: 'line matches "[0-9]" ? "digits" : "letters"'
  counts: {use: count, from: sorted, with: {by: [category], output: out/counts.csv}}
  files: {use: write, from: sorted, with: {dir: out/by-kind, by: category}}
`

func run(t *testing.T, dir string) []*pipetest.FileResult {
	t.Helper()
	l := &pipelinepkg.Loader{Registry: stages.Registry()}
	res, err := pipetest.RunPath(context.Background(), l, dir, pipetest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestPassingCases(t *testing.T) {
	dir := project(t, map[string]string{
		"words.txt":     "alpha\nb2\n\ngamma\n",
		"pipeline.yaml": pipeline,
		"pipeline_test.yaml": `tests:
  - name: whole pipeline
    expect:
      count: {lines: 3}
      categories: {sorted: {letters: 2, digits: 1}}
      files:
        out/counts.csv: "category,count\ndigits,1\nletters,2\n"
        out/by-kind/digits.txt: "b2\n"
  - name: fed records only
    feed:
      sorted:
        - line: "42"
        - {line: x, category: ignored, labels: {a: b}}
    expect:
      records:
        sorted:
          - {line: x, category: letters, labels: {a: b}}
          - {line: "42", category: digits}
      files:
        out/counts.csv: "category,count\ndigits,1\nletters,1\n"
`,
	})
	res := run(t, dir)
	if len(res) != 1 || res[0].Err != nil || len(res[0].Cases) != 2 {
		t.Fatalf("results: %+v", res)
	}
	for _, c := range res[0].Cases {
		if !c.Passed() {
			t.Errorf("case %q failed:\n%s", c.Name, strings.Join(c.Failures, "\n"))
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "out")); !os.IsNotExist(err) {
		t.Errorf("a test wrote into the project's out/: %v", err)
	}
}

func TestFailingCaseShowsDiff(t *testing.T) {
	dir := project(t, map[string]string{
		"words.txt":     "alpha\nb2\n",
		"pipeline.yaml": pipeline,
		"pipeline_test.yaml": `tests:
  - name: wrong on purpose
    expect:
      categories:
        sorted: {letters: 2}
      records:
        lines:
          - line: alpha
          - line: b3
      files:
        out/counts.csv: "category,count\nletters,1\n"
        out/nope.txt: ""
      count: {sorted: 5}
  - name: expects a failure that does not come
    expect: {error: boom}
`,
	})
	res := run(t, dir)
	cases := res[0].Cases
	if len(cases) != 2 || cases[0].Passed() || cases[1].Passed() {
		t.Fatalf("both cases must fail: %+v", cases)
	}
	got := strings.Join(cases[0].Failures, "\n")
	test := filepath.Join(dir, "pipeline_test.yaml")
	for _, want := range []string{
		test + ":5:9: records per category emitted by \"sorted\" differ (- want, + got):",
		"+digits: 1",
		"-letters: 2\n+digits: 1\n+letters: 1",
		test + ":7:9: records emitted by \"lines\" differ",
		"-(none) | line b3\n+(none) | line b2",
		test + ":11:9: out/counts.csv differs (- want, + got):",
		" category,count\n+digits,1\n letters,1",
		test + ":12:9: out/nope.txt was not written (files written: out/by-kind/digits.txt, out/by-kind/letters.txt, out/counts.csv)",
		test + ":13:15: \"sorted\" emitted 2 records, want 5",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("failures lack %q:\n%s", want, got)
		}
	}
	if got := strings.Join(cases[1].Failures, "\n"); !strings.Contains(got, `the run succeeded, but it should fail with an error containing "boom"`) {
		t.Errorf("second case: %s", got)
	}
}

func TestBadTestFiles(t *testing.T) {
	for _, tc := range []struct{ name, src, want string }{
		{"no tests", "pipeline: p.yaml\n", "`tests:` must be a list of one or more cases"},
		{"unknown key", "tests:\n  - name: a\n    expekt: {}\n", `3:5: unknown key "expekt" (expected name, set, feed, expect)`},
		{"nothing expected", "tests:\n  - name: a\n", `case "a" expects nothing`},
		{"two kinds", "tests:\n  - name: a\n    feed: {s: [{xml: <a/>, line: x}]}\n    expect: {count: {s: 1}}\n", "3:16: a record has exactly one of xml, csv, line, json, file, got 2"},
		{"bad json", "tests:\n  - name: a\n    feed: {s: [{json: '{x'}]}\n    expect: {count: {s: 1}}\n", `json: "{x" is not valid JSON`},
		{"duplicate", "tests:\n  - {name: a, expect: {count: {s: 1}}}\n  - {name: a, expect: {count: {s: 1}}}\n", `case "a" defined twice (first at line 2)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := pipetest.Parse("p_test.yaml", []byte(tc.src))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestUnknownStageAndBadSet(t *testing.T) {
	dir := project(t, map[string]string{
		"words.txt":     "a\n",
		"pipeline.yaml": pipeline,
		"pipeline_test.yaml": `tests:
  - name: bad
    set:
      lines: {lines: {skip_emty: true}}
    expect: {count: {sortd: 1}}
`,
	})
	c := run(t, dir)[0].Cases[0]
	got := strings.Join(c.Failures, "\n")
	if !strings.Contains(got, `no stage "sortd" in the pipeline (stages: input, lines, sorted, counts, files)`) {
		t.Errorf("failures: %s", got)
	}
}
