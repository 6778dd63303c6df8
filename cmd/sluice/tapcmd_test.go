package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// tapPipeline reads a CSV (with a malformed row that split dead-letters),
// classifies its rows, and counts and writes them: every kind of output a
// tap must not commit.
const tapPipeline = `name: tap-test
stages:
  file:
    use: read
    with: {path: data/books.csv}
  rows:
    use: split
    from: file
    on_error: dead_letter
    dead_letter: out/dead.jsonl
    with: {csv: {}}
  labelled:
    use: classify
    from: rows
    workers: 1
    with:
      rules:
        - when: 'field("lang") == "fr"'
          category: french
      default: other
      labels: {id: 'field("id")'}
  counts:
    use: count
    from: labelled
    with: {by: [category], output: out/counts.csv}
  sorted:
    use: write
    from: labelled
    with: {dir: out/sorted, by: category}
`

// tapWorkspace writes the pipeline and a CSV of n rows (row 3 malformed)
// and returns the directory and the rows as encoding/csv reads them.
func tapWorkspace(t *testing.T, n int) (string, [][]string) {
	t.Helper()
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "data"), 0o755)
	var b strings.Builder
	b.WriteString("id,lang,title\n")
	for i := 1; i <= n; i++ {
		if i == 3 {
			b.WriteString("3,broken\n")
			continue
		}
		lang := []string{"fr", "en", "de"}[i%3]
		fmt.Fprintf(&b, "%d,%s,\"title, %d\nsecond line\"\n", i, lang, i)
	}
	os.WriteFile(filepath.Join(dir, "data", "books.csv"), []byte(b.String()), 0o644)
	os.WriteFile(filepath.Join(dir, "pipeline.yaml"), []byte(tapPipeline), 0o644)
	r := csv.NewReader(strings.NewReader(b.String()))
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var good [][]string
	for _, row := range rows[1:] {
		if len(row) == 3 {
			good = append(good, row)
		}
	}
	return dir, good
}

// runTapCmd runs sluice tap in dir with a private TMPDIR, and checks that
// the run left nothing behind: the workspace holds the same files as
// before, and the temporary directory is empty.
func runTapCmd(t *testing.T, dir string, args ...string) result {
	t.Helper()
	before := listFiles(t, dir)
	tmp := t.TempDir()
	cmd := exec.Command(sluiceBin, append([]string{"tap"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if after := listFiles(t, dir); !slices.Equal(before, after) {
		t.Errorf("tap changed the workspace: before %q, after %q", before, after)
	}
	if _, err := os.Stat(filepath.Join(dir, "out")); !os.IsNotExist(err) {
		t.Errorf("tap created the output directory out/ (%v)", err)
	}
	if left, _ := os.ReadDir(tmp); len(left) > 0 {
		t.Errorf("tap left %d temporary entries, e.g. %s", len(left), left[0].Name())
	}
	return result{code, out.String(), errb.String()}
}

// TestTap taps the classify stage: the first records, with the category
// and labels the rules give (computed here from encoding/csv's rows), and
// no output anywhere, although the pipeline counts, writes and
// dead-letters.
func TestTap(t *testing.T) {
	dir, rows := tapWorkspace(t, 40)
	res := runTapCmd(t, dir, "labelled", "-n", "4", "--format", "json")
	if res.code != 0 {
		t.Fatalf("exit %d: %s", res.code, res.stderr)
	}
	lines := strings.Split(strings.TrimSpace(res.stdout), "\n")
	if len(lines) != 4 {
		t.Fatalf("got %d records, want 4:\n%s", len(lines), res.stdout)
	}
	for i, l := range lines {
		var got tapRecord
		if err := json.Unmarshal([]byte(l), &got); err != nil {
			t.Fatal(err)
		}
		row := rows[i]
		cat := "other"
		if row[1] == "fr" {
			cat = "french"
		}
		if got.Category != cat || got.Labels["id"] != row[0] || !slices.Equal(got.Fields, row) || got.Kind != "csv" || got.File != "data/books.csv" {
			t.Errorf("record %d: got %+v, want fields %q, category %s, label id=%s", i+1, got, row, cat, row[0])
		}
	}
	if !strings.Contains(res.stderr, `4 record(s) from "labelled" (stopped there); no output was written`) {
		t.Errorf("stderr: %s", res.stderr)
	}

	// Fewer records than -n: all of them, and the input's end is said.
	res = runTapCmd(t, dir, "rows", "-n", "1000", "--width", "12")
	got := strings.Split(strings.TrimSpace(res.stdout), "\n")
	if res.code != 0 || len(got) != len(rows) || !strings.Contains(res.stderr, "(its output ended)") {
		t.Fatalf("exit %d, %d lines (want %d)\n%s\n%s", res.code, len(got), len(rows), res.stdout, res.stderr)
	}
	if want := `#1 data/books.csv:2 (record 1, byte 14) csv: 1,en,"title,… (15 more bytes)`; got[0] != want {
		t.Errorf("first line %q, want %q", got[0], want)
	}
}

// TestTapErrors: a sink, an unknown stage and bad flags are usage errors;
// nothing runs.
func TestTapErrors(t *testing.T) {
	dir, _ := tapWorkspace(t, 5)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"sorted"}, `input "sorted" (write) emits no records`},
		{[]string{"labeled"}, `no stage "labeled"`},
		{[]string{"labelled", "-n", "0"}, "-n: must be 1 or more"},
		{[]string{"labelled", "--format", "yaml"}, `--format: expected text or json`},
		{[]string{"labelled", "missing.yaml"}, "missing.yaml"},
	} {
		res := runTapCmd(t, dir, tt.args...)
		if res.code != exitInvalid || !strings.Contains(res.stderr, tt.want) {
			t.Errorf("tap %q: exit %d, stderr %s; want exit 2 and %q", tt.args, res.code, res.stderr, tt.want)
		}
	}
}

// TestTapClosedStdout: when the reader of stdout goes away (sluice tap … |
// head -1), tap stops cleanly: exit 0 and nothing left behind, rather than
// dying of SIGPIPE.
func TestTapClosedStdout(t *testing.T) {
	dir, rows := tapWorkspace(t, 5000)
	tmp := t.TempDir()
	cmd := exec.Command(sluiceBin, "tap", "rows", "-n", fmt.Sprint(len(rows)), "--width", "0")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	first := make([]byte, 16)
	if _, err := io.ReadFull(out, first); err != nil || !strings.HasPrefix(string(first), "#1 ") {
		t.Fatalf("first bytes %q, %v", first, err)
	}
	out.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("tap with a closed stdout: %v\n%s", err, errb.String())
	}
	if left, _ := os.ReadDir(tmp); len(left) > 0 {
		t.Errorf("tap left %d temporary entries, e.g. %s", len(left), left[0].Name())
	}
	if _, err := os.Stat(filepath.Join(dir, "out")); !os.IsNotExist(err) {
		t.Errorf("tap created out/ (%v)", err)
	}
}
