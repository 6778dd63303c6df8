package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// stdioPipeline reads JSON lines from standard input, drops DEBUG lines,
// and writes OUTPUT to standard output.
const stdioPipeline = `name: stdio
stages:
  in:
    use: read
    with: {path: "-"}
  lines:
    use: split
    from: in
    with: {jsonl: {}, chunk: 1MiB}
  kept:
    use: filter
    from: lines
    workers: 3
    with: {drop: 'json("level") == "DEBUG"'}
OUTPUT
`

// feed runs sluice in dir with the pipeline, writing input to its standard
// input through a real pipe, in pieces with pauses, and returns the
// result.
func feed(t *testing.T, dir, output string, input []byte) result {
	t.Helper()
	os.WriteFile(filepath.Join(dir, "p.yaml"), []byte(strings.Replace(stdioPipeline, "OUTPUT", output, 1)), 0o644)
	cmd := exec.Command(sluiceBin, "run", "--progress", "plain", "--progress-interval", "50ms", "p.yaml")
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	w, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for len(input) > 0 {
		n := min(len(input), 64<<10+17) // pieces that cut lines
		w.Write(input[:n])
		input = input[n:]
		time.Sleep(time.Millisecond)
	}
	w.Close()
	err = cmd.Wait()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{code, out.String(), errb.String()}
}

// logLines generates n JSON log lines and their fold: per kept level, the
// lines and the sum of bytes.
func logLines(n int) (input []byte, kept []string, count, sum map[string]int64) {
	levels := []string{"DEBUG", "INFO", "WARN", "ERROR"}
	count, sum = map[string]int64{}, map[string]int64{}
	var b bytes.Buffer
	for i := range n {
		level := levels[(i*7+i/3)%len(levels)]
		line := fmt.Sprintf(`{"level":%q,"service":"s%d","bytes":%d,"msg":"line %d, \"quoted\""}`, level, i%5, i*31%1000, i)
		b.WriteString(line + "\n")
		if level != "DEBUG" {
			kept = append(kept, line)
			count[level]++
			sum[level] += int64(i * 31 % 1000)
		}
	}
	return b.Bytes(), kept, count, sum
}

// TestStdinToStdout runs the binary with its input on a real pipe and its
// output on standard output: count with aggregates printed as JSON lines,
// and write dir: - printing the kept records; the progress is in bytes
// read with no total; the summary stays on stderr.
func TestStdinToStdout(t *testing.T) {
	input, kept, count, sum := logLines(30000)
	t.Run("count", func(t *testing.T) {
		r := feed(t, t.TempDir(), `  levels:
    use: count
    from: kept
    workers: 3
    with:
      by: ['json("level")']
      names: [level]
      aggregate: [{name: bytes, fn: sum, value: 'json("bytes")'}]
      output: "-"`, input)
		if r.code != 0 {
			t.Fatalf("exit %d\n%s", r.code, r.stderr)
		}
		var want strings.Builder
		for _, l := range slices.Sorted(func(yield func(string) bool) {
			for k := range count {
				if !yield(k) {
					return
				}
			}
		}) {
			fmt.Fprintf(&want, "{\"level\": %q, \"count\": %d, \"bytes\": %d}\n", l, count[l], sum[l])
		}
		if r.stdout != want.String() {
			t.Errorf("stdout\n%s\nwant\n%s", r.stdout, want.String())
		}
		if !strings.Contains(r.stderr, "total_bytes=0") || !strings.Contains(r.stderr, "eta=unknown") && !strings.Contains(r.stderr, "progress: end of run") {
			t.Errorf("no progress in bytes without a total on stderr:\n%s", r.stderr)
		}
		if want := fmt.Sprintf("bytes=%d total_bytes=0", len(input)); !strings.Contains(r.stderr, want) {
			t.Errorf("stderr does not report %s:\n%s", want, r.stderr)
		}
	})
	t.Run("write", func(t *testing.T) {
		r := feed(t, t.TempDir(), `  out:
    use: write
    from: kept
    with: {dir: "-", format: jsonl}`, input)
		if r.code != 0 {
			t.Fatalf("exit %d\n%s", r.code, r.stderr)
		}
		got := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
		for i := range got { // write re-encodes each object: compare values
			var v map[string]any
			if err := json.Unmarshal([]byte(got[i]), &v); err != nil {
				t.Fatalf("line %d: %v", i+1, err)
			}
			b, _ := json.Marshal(v)
			got[i] = string(b)
		}
		want := slices.Clone(kept)
		for i := range want {
			var v map[string]any
			json.Unmarshal([]byte(want[i]), &v)
			b, _ := json.Marshal(v)
			want[i] = string(b)
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("stdout holds %d lines, want the %d kept records", len(got), len(want))
		}
	})
}

// TestStdoutOnlyAfterSuccess: a run that fails prints nothing on standard
// output, though its output was computed.
func TestStdoutOnlyAfterSuccess(t *testing.T) {
	input, _, _, _ := logLines(2000)
	input = append(input, "{not json\n"...)
	r := feed(t, t.TempDir(), `  levels:
    use: count
    from: kept
    on_error: fail
    with: {by: ['json("level")'], output: "-"}`, input)
	if r.code == 0 || r.stdout != "" {
		t.Fatalf("exit %d, stdout %q: want a failure and nothing printed\n%s", r.code, r.stdout, r.stderr)
	}
}

// TestStdinCancel: interrupted while its standard input is a pipe that
// stays open and silent, the run stops promptly and prints nothing.
func TestStdinCancel(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "p.yaml"), []byte(strings.Replace(stdioPipeline, "OUTPUT", `  levels:
    use: count
    from: kept
    with: {by: ['json("level")'], output: "-"}`, 1)), 0o644)
	cmd := exec.Command(sluiceBin, "run", "--progress", "none", "p.yaml")
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	w, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, `{"level":"INFO"}`+"\n")
	time.Sleep(500 * time.Millisecond) // the run is waiting for more input
	cmd.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("the run hangs on a silent standard input after SIGINT\n%s", errb.String())
	}
	if err == nil || out.Len() != 0 {
		t.Errorf("exit %v, stdout %q: want an interrupted run printing nothing\n%s", err, out.String(), errb.String())
	}
}
