package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/creack/pty"
	"github.com/klauspost/compress/gzip"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/sluicehq/sluice/internal/corpus"
)

// watchWorkspace generates a corpus of xmlFiles catalogue files of n
// records each, plus one gzip-compressed file (of at most 5000 records),
// and a pipeline over them; it returns the directory and the inputs' total
// size on disk.
func watchWorkspace(t *testing.T, xmlFiles, n int) (string, int64) {
	t.Helper()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		t.Fatal(err)
	}
	var total int64
	for i := range xmlFiles + 1 {
		name := fmt.Sprintf("part-%d.xml", i)
		if i == xmlFiles {
			name += ".gz"
		}
		f, err := os.Create(filepath.Join(data, name))
		if err != nil {
			t.Fatal(err)
		}
		var w io.Writer = f
		var zw *gzip.Writer
		if i == xmlFiles {
			zw = gzip.NewWriter(f)
			w = zw
		}
		records := n
		if zw != nil {
			records = min(n, 5000) // compressing is slow; a smaller file shows as much
		}
		if err := corpus.WriteXML(w, uint64(i), records); err != nil {
			t.Fatal(err)
		}
		if zw != nil {
			if err := zw.Close(); err != nil {
				t.Fatal(err)
			}
		}
		st, _ := f.Stat()
		total += st.Size()
		f.Close()
	}
	pipeline := `name: watched
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
	if err := os.WriteFile(filepath.Join(dir, "pipeline.yaml"), []byte(pipeline), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, total
}

// progressLine is a plain progress line as --log-format json writes it.
type progressLine struct {
	Msg        string   `json:"msg"`
	Percent    *float64 `json:"percent"`
	Bytes      int64    `json:"bytes"`
	TotalBytes int64    `json:"total_bytes"`
	BytesPerS  int64    `json:"bytes_per_s"`
	Records    int64    `json:"records"`
	ETA        *string  `json:"eta"`
	Status     string   `json:"status"`
}

// TestPlainProgress runs a real pipeline over a generated corpus, gzip file
// included, with plain progress lines every 10ms, and checks the lines: the
// bytes read only grow, are counted on disk (so the gzip file cannot push
// them past the total), an ETA is given while input remains, and the last
// line says 100%.
func TestPlainProgress(t *testing.T) {
	dir, total := watchWorkspace(t, 4, 12000)
	res := runSluice(t, dir, "run", "--progress", "plain", "--progress-interval", "10ms", "--log-format", "json")
	if res.code != 0 {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	var lines []progressLine
	sc := bufio.NewScanner(strings.NewReader(res.stderr))
	for sc.Scan() {
		var l progressLine
		if json.Unmarshal(sc.Bytes(), &l) == nil && strings.HasPrefix(l.Msg, "progress") {
			lines = append(lines, l)
		}
	}
	if len(lines) < 3 {
		t.Fatalf("%d progress lines, want several at a 10ms interval:\n%s", len(lines), res.stderr)
	}
	last := lines[len(lines)-1]
	if last.Msg != "progress: end of run" || last.Percent == nil || *last.Percent != 100 || last.Bytes != total || last.Status != "ok" {
		t.Errorf("last line %+v, want end of run at 100%% of %d bytes, status ok", last, total)
	}
	var prev int64
	withETA := 0
	for i, l := range lines {
		if l.TotalBytes != total {
			t.Errorf("line %d: total_bytes %d, want the %d bytes on disk", i, l.TotalBytes, total)
		}
		if l.Bytes < prev {
			t.Errorf("line %d: bytes went back from %d to %d", i, prev, l.Bytes)
		}
		prev = l.Bytes
		if l.Percent == nil || *l.Percent < 0 || *l.Percent > 100 || l.Bytes > total {
			t.Errorf("line %d: percent %v, bytes %d of %d", i, l.Percent, l.Bytes, total)
		}
		if l.ETA == nil {
			t.Errorf("line %d has no eta", i)
			continue
		}
		if i < len(lines)-1 && l.Bytes < total && l.BytesPerS > 0 {
			if _, err := time.ParseDuration(*l.ETA); err != nil {
				t.Errorf("line %d: eta %q with %d bytes left at %d bytes/s: %v", i, *l.ETA, total-l.Bytes, l.BytesPerS, err)
			}
			withETA++
		}
	}
	if withETA == 0 {
		t.Errorf("no line gave an ETA while input remained:\n%s", res.stderr)
	}
}

// screen replays terminal output the way a terminal shows it, for the
// escape sequences mpb uses (cursor up, erase to the end of the screen or
// line) and carriage returns, and returns the lines left on the screen.
func screen(out string) []string {
	lines := [][]rune{{}}
	row, col := 0, 0
	for i := 0; i < len(out); {
		c := out[i]
		switch {
		case c == 0x1b && i+1 < len(out) && out[i+1] == '[':
			j := i + 2
			for j < len(out) && (out[j] >= '0' && out[j] <= '9' || out[j] == ';' || out[j] == '?') {
				j++
			}
			if j == len(out) {
				i = j
				continue
			}
			n, err := strconv.Atoi(out[i+2 : j])
			if err != nil {
				n = 1
			}
			switch out[j] {
			case 'A':
				row = max(row-n, 0)
			case 'J':
				lines = lines[:row+1]
				lines[row] = lines[row][:min(col, len(lines[row]))]
			case 'K':
				lines[row] = lines[row][:min(col, len(lines[row]))]
			}
			i = j + 1
		case c == '\r':
			col = 0
			i++
		case c == '\n':
			row++
			if row == len(lines) {
				lines = append(lines, nil)
			}
			i++
		default:
			r, size := utf8.DecodeRuneInString(out[i:])
			for len(lines[row]) <= col {
				lines[row] = append(lines[row], ' ')
			}
			lines[row][col] = r
			col++
			i += size
		}
	}
	var s []string
	for _, l := range lines {
		s = append(s, strings.TrimRight(string(l), " "))
	}
	return s
}

// ptyRun starts sluice with a pseudo-terminal as stdin, stdout and stderr,
// as a user's shell would, and collects what it draws.
type ptyRun struct {
	cmd  *exec.Cmd
	tty  *os.File
	mu   sync.Mutex
	out  bytes.Buffer
	done chan struct{}
}

func startPTY(t *testing.T, dir string, args ...string) *ptyRun {
	t.Helper()
	cmd := exec.Command(sluiceBin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "TERM=xterm")
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 50, Cols: 150})
	if err != nil {
		t.Fatal(err)
	}
	p := &ptyRun{cmd: cmd, tty: tty, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		buf := make([]byte, 4096)
		for {
			n, err := tty.Read(buf)
			p.mu.Lock()
			p.out.Write(buf[:n])
			p.mu.Unlock()
			if err != nil {
				return // EIO once the process has exited and closed the terminal
			}
		}
	}()
	return p
}

// wait returns the exit code and the output; the process must end within
// a minute (it never does not: the test would otherwise hang).
func (p *ptyRun) wait(t *testing.T) (int, string) {
	t.Helper()
	exited := make(chan error, 1)
	go func() { exited <- p.cmd.Wait() }()
	var err error
	select {
	case err = <-exited:
	case <-time.After(time.Minute):
		p.cmd.Process.Kill()
		t.Fatal("sluice did not exit within a minute")
	}
	<-p.done
	p.tty.Close()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, p.out.String()
}

var headline = regexp.MustCompile(`^(\S+)\s+▕[^▏]*▏\s+(\d+\.\d)%`)

// checkScreen checks what the terminal shows after the run: exactly one
// frame of the display (every earlier frame erased), its headline holding
// want, every stage line, and the summary below.
func checkScreen(t *testing.T, raw string, want, summary string, stages ...string) []string {
	t.Helper()
	lines := screen(raw)
	var heads []int
	for i, l := range lines {
		if headline.MatchString(l) {
			heads = append(heads, i)
		}
	}
	if len(heads) != 1 {
		t.Fatalf("%d frames of the display left on the screen, want 1:\n%s", len(heads), strings.Join(lines, "\n"))
	}
	h := heads[0]
	if !strings.Contains(lines[h], want) {
		t.Errorf("headline %q lacks %q", lines[h], want)
	}
	for _, st := range stages {
		found := false
		for _, l := range lines[h+1:] {
			if strings.HasPrefix(l, "  "+st+" ") {
				found = true
			}
		}
		if !found {
			t.Errorf("no line for stage %s under the headline:\n%s", st, strings.Join(lines, "\n"))
		}
	}
	found := false
	for _, l := range lines[h+1:] {
		if strings.HasPrefix(l, summary) {
			found = true
		}
	}
	if !found {
		t.Errorf("no summary line %q below the display:\n%s", summary, strings.Join(lines, "\n"))
	}
	if strings.Contains(raw, "\x1b[?25l") {
		t.Error("the cursor was hidden")
	}
	if !strings.HasSuffix(raw, "\n") {
		t.Errorf("output does not end with a new line: %q", raw[max(0, len(raw)-80):])
	}
	return lines
}

// TestTTYProgress runs sluice on a pseudo-terminal with the default
// --progress auto: it must draw the live display (redrawn in place), end
// with one frame at 100% and every stage ticked, then the summary.
func TestTTYProgress(t *testing.T) {
	dir, _ := watchWorkspace(t, 4, 12000)
	p := startPTY(t, dir, "run")
	code, raw := p.wait(t)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, raw)
	}
	if !strings.Contains(raw, "A\x1b[J") {
		t.Errorf("the display was never redrawn in place:\n%q", raw)
	}
	lines := checkScreen(t, raw, "done in", "pipeline watched: done", "files", "recs", "labelled", "counts", "sorted")
	for _, l := range lines {
		if m := headline.FindStringSubmatch(l); m != nil && m[2] != "100.0" {
			t.Errorf("final headline at %s%%, want 100.0: %q", m[2], l)
		}
		if strings.HasPrefix(l, "  recs ") && !strings.HasSuffix(l, "✓") {
			t.Errorf("stage line not ticked at the end: %q", l)
		}
	}
}

// TestTTYInterrupt presses Ctrl-C on the terminal in the middle of a run:
// sluice must stop (exit 130), say so on a clean line above the display,
// leave one frame marked interrupted, and write a report saying so.
func TestTTYInterrupt(t *testing.T) {
	dir, _ := watchWorkspace(t, 4, 20000)
	p := startPTY(t, dir, "run", "--report", "run.json")
	deadline := time.Now().Add(30 * time.Second)
	for {
		staged, _ := filepath.Glob(filepath.Join(dir, "out", "sorted", ".sluice-tmp-*", "*"))
		if len(staged) > 0 {
			break
		}
		if time.Now().After(deadline) {
			p.cmd.Process.Kill()
			t.Fatal("run never started writing")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := p.tty.Write([]byte{0x03}); err != nil { // Ctrl-C: the terminal sends SIGINT
		t.Fatal(err)
	}
	code, raw := p.wait(t)
	if code != exitInterrupted {
		t.Fatalf("exit %d, want %d\n%s", code, exitInterrupted, raw)
	}
	lines := checkScreen(t, raw, "interrupted after", "pipeline watched: interrupted", "recs", "sorted")
	found := false
	for _, l := range lines {
		if strings.HasPrefix(l, "sluice: interrupt: stopping") {
			found = true
		}
	}
	if !found {
		t.Errorf("no clean line says the run is stopping:\n%s", strings.Join(lines, "\n"))
	}
	rep := validateReport(t, filepath.Join(dir, "run.json"))
	if rep["status"] != "interrupted" || rep["error"] == nil {
		t.Errorf("report status %v, error %v; want interrupted with the error", rep["status"], rep["error"])
	}
}

// validateReport checks a report file against docs/report.schema.json and
// returns it decoded.
func validateReport(t *testing.T, path string) map[string]any {
	t.Helper()
	schemaFile, err := os.Open("../../docs/report.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	defer schemaFile.Close()
	doc, err := jsonschema.UnmarshalJSON(schemaFile)
	if err != nil {
		t.Fatalf("docs/report.schema.json: %v", err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("report.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("report.schema.json")
	if err != nil {
		t.Fatalf("docs/report.schema.json: %v", err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(inst); err != nil {
		t.Fatalf("%s does not match docs/report.schema.json: %v\n%s", path, err, b)
	}
	var rep map[string]any
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	return rep
}

// TestReport runs pipelines with --report and checks the reports against
// the schema, and their numbers against each other and the outputs.
func TestReport(t *testing.T) {
	t.Run("ok", func(t *testing.T) {
		dir, total := watchWorkspace(t, 2, 3000)
		res := runSluice(t, dir, "run", "--progress", "none", "--report", "reports/run.json")
		if res.code != exitInvalid || !strings.Contains(res.stderr, "--report reports/run.json") {
			t.Fatalf("a report in a missing directory: exit %d, want %d before the run\n%s", res.code, exitInvalid, res.stderr)
		}
		res = runSluice(t, dir, "run", "--progress", "none", "--report", "run.json")
		if res.code != 0 {
			t.Fatalf("exit %d\n%s", res.code, res.stderr)
		}
		var rep struct {
			Status     string `json:"status"`
			InputBytes int64  `json:"input_bytes"`
			ReadBytes  int64  `json:"read_bytes"`
			PeakRSS    int64  `json:"peak_rss_bytes"`
			Totals     struct {
				Records       int64 `json:"records"`
				OutputFiles   int   `json:"output_files"`
				OutputRecords int64 `json:"output_records"`
				OutputBytes   int64 `json:"output_bytes"`
			} `json:"totals"`
			Stages []struct {
				Name, Kind                                                      string
				Inputs                                                          []string
				In, Out, Processed, Skipped, Errored, Cancelled, Dropped, Files int64
				DeadLettered                                                    int64 `json:"dead_lettered"`
				Outputs                                                         []struct {
					Path           string
					Records, Bytes int64
				}
			} `json:"stages"`
		}
		validateReport(t, filepath.Join(dir, "run.json"))
		b, _ := os.ReadFile(filepath.Join(dir, "run.json"))
		if err := json.Unmarshal(b, &rep); err != nil {
			t.Fatal(err)
		}
		if rep.Status != "ok" || rep.InputBytes != total || rep.ReadBytes != total || rep.PeakRSS <= 0 {
			t.Errorf("status %q, input %d, read %d, peak RSS %d; want ok, %d, %d, > 0", rep.Status, rep.InputBytes, rep.ReadBytes, rep.PeakRSS, total, total)
		}
		out := map[string]int64{}
		var records, outFiles, outRecords, outBytes int64
		for _, s := range rep.Stages {
			out[s.Name] = s.Out
			if sum := s.Processed + s.Skipped + s.DeadLettered + s.Errored + s.Cancelled + s.Dropped; sum != s.In {
				t.Errorf("stage %s: in %d, but processed+skipped+dead-lettered+errored+cancelled+dropped = %d", s.Name, s.In, sum)
			}
			if s.Files > 0 {
				records += s.Out
			}
			for _, o := range s.Outputs {
				outFiles++
				outRecords += o.Records
				outBytes += o.Bytes
				st, err := os.Stat(filepath.Join(dir, o.Path))
				if err != nil || st.Size() != o.Bytes {
					t.Errorf("output %s: %v, size on disk %v, reported %d", o.Path, err, st, o.Bytes)
				}
			}
		}
		for _, s := range rep.Stages {
			var sent int64
			for _, in := range s.Inputs {
				sent += out[in]
			}
			if len(s.Inputs) > 0 && sent != s.In {
				t.Errorf("stage %s received %d, its inputs emitted %d", s.Name, s.In, sent)
			}
		}
		if tt := rep.Totals; tt.Records != records || records != 3*3000 || int64(tt.OutputFiles) != outFiles || tt.OutputRecords != outRecords || tt.OutputBytes != outBytes {
			t.Errorf("totals %+v; stages give records %d (want %d), %d files, %d records, %d bytes", tt, records, 3*3000, outFiles, outRecords, outBytes)
		}
	})
	t.Run("failed", func(t *testing.T) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "broken.xml"), []byte("<c>\n  <record id=\"1\">ok</record>\n  <record id=\"2\"><title>unclosed</record>\n</c>\n"), 0o644)
		os.WriteFile(filepath.Join(dir, "fails.yaml"), []byte("name: fails\nstages:\n  files: {use: read, with: {path: broken.xml}}\n  recs: {use: split, from: files, with: {xml: {element: record}}}\n  out: {use: write, from: recs, with: {dir: out}}\n"), 0o644)
		res := runSluice(t, dir, "run", "fails.yaml", "--report", "run.json")
		if res.code != exitFailed {
			t.Fatalf("exit %d, want %d\n%s", res.code, exitFailed, res.stderr)
		}
		rep := validateReport(t, filepath.Join(dir, "run.json"))
		if rep["status"] != "failed" || !strings.Contains(fmt.Sprint(rep["error"]), "broken.xml:3") {
			t.Errorf("status %v, error %v; want failed, naming broken.xml:3", rep["status"], rep["error"])
		}
	})
}

func TestProgressFlags(t *testing.T) {
	dir, _ := watchWorkspace(t, 1, 100)
	for _, tc := range []struct {
		args []string
		code int
		want string
		not  string
	}{
		{[]string{"--progress", "fancy"}, exitInvalid, `--progress: expected auto, tty, plain or none, got "fancy"`, ""},
		{[]string{"--progress-interval", "0s"}, exitInvalid, "--progress-interval: must be positive", ""},
		{[]string{"--progress", "none"}, 0, "pipeline watched: done", "msg=progress"},
		// Not a terminal: auto is plain, with at least the last line.
		{nil, 0, `msg="progress: end of run" percent=100`, "\x1b["},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			res := runSluice(t, dir, append([]string{"run"}, tc.args...)...)
			if res.code != tc.code || !strings.Contains(res.stderr, tc.want) || tc.not != "" && strings.Contains(res.stderr, tc.not) {
				t.Fatalf("exit %d, want %d with %q and without %q:\n%s", res.code, tc.code, tc.want, tc.not, res.stderr)
			}
		})
	}
}

// TestSummaryModes: with --log-format json every line of stderr is JSON, the
// summary included (a "run summary" record holding the report); --summary
// none leaves the table out; a bad mode is refused before the run.
func TestSummaryModes(t *testing.T) {
	dir, _ := watchWorkspace(t, 2, 500)
	res := runSluice(t, dir, "run", "--progress", "none", "--log-format", "json")
	if res.code != 0 {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	var last struct {
		Msg    string `json:"msg"`
		Level  string `json:"level"`
		Report struct {
			Status string            `json:"status"`
			Stages []json.RawMessage `json:"stages"`
		} `json:"report"`
	}
	for i, line := range strings.Split(strings.TrimSpace(res.stderr), "\n") {
		if err := json.Unmarshal([]byte(line), &last); err != nil {
			t.Fatalf("stderr line %d is not JSON (%v): %q", i+1, err, line)
		}
	}
	if last.Msg != "run summary" || last.Level != "INFO" || last.Report.Status != "ok" || len(last.Report.Stages) == 0 {
		t.Errorf("last line: %+v, want the run summary holding an ok report with its stages", last)
	}

	res = runSluice(t, dir, "run", "--progress", "none", "--summary", "none")
	if res.code != 0 || strings.Contains(res.stderr, "pipeline ") {
		t.Errorf("--summary none: exit %d, stderr:\n%s", res.code, res.stderr)
	}
	res = runSluice(t, dir, "run", "--summary", "yaml")
	if res.code != 2 || !strings.Contains(res.stderr, "--summary: expected auto, text, json or none") {
		t.Errorf("--summary yaml: exit %d, stderr:\n%s", res.code, res.stderr)
	}
}
