package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
)

// job is a pipeline bench can run, a file in this folder.
type job struct {
	file   string
	about  string
	format string   // its corpus: "xml" (W1's catalogue) or "csv" (W2's, the same records as CSV)
	peers  bool     // the peers do the same job
	attrs  bool     // it counts attributes
	env    []string // added to Sluice's environment
}

// vars is the prefix of the variables the job's pipeline reads its input
// and output folder from: W1_INPUT and W1_OUT, or W2_INPUT and W2_OUT.
func (j job) vars() string {
	if j.format == "csv" {
		return "W2"
	}
	return "W1"
}

// jobs are the pipelines bench can run.
var jobs = map[string]job{
	"w1":            {file: "w1.yaml", about: "W1: split, classify (rules), count attributes and categories, write", format: "xml", peers: true, attrs: true},
	"sort":          {file: "sort.yaml", about: "W1 without attribute counts: split, classify, count categories, write", format: "xml"},
	"plugin":        {file: "plugin.yaml", about: "W1 with the example Go plugin (examples/go-classifier) as classifier", format: "xml", peers: true, attrs: true},
	"plugin-notls":  {file: "plugin.yaml", about: "W1 with the example Go plugin as classifier, its connection without TLS (plugin.tls: false)", format: "xml", peers: true, attrs: true, env: []string{"PLUGIN_TLS=false"}},
	"plugin-socket": {file: "plugin.yaml", about: "W1 with the example Go plugin as classifier, the records sent over its socket (plugin.shared_memory: false)", format: "xml", peers: true, attrs: true, env: []string{"PLUGIN_SHARED_MEMORY=false"}},
	"split-xml":     {file: "split-xml.yaml", about: "split only (XML, W1's corpus), by byte ranges on 2 workers, into a count", format: "xml"},
	"split-xml-1":   {file: "split-xml.yaml", about: "split only (XML), each file whole on 1 worker (chunk: 0): split-xml's baseline", format: "xml", env: []string{"SPLIT_WORKERS=1", "SPLIT_CHUNK=0"}},
	"split-csv":     {file: "split-csv.yaml", about: "split only (CSV, W2's corpus), by byte ranges on 2 workers, into a count", format: "csv"},
	"split-csv-1":   {file: "split-csv.yaml", about: "split only (CSV), each file whole on 1 worker (chunk: 0): split-csv's baseline", format: "csv", env: []string{"SPLIT_WORKERS=1", "SPLIT_CHUNK=0"}},
	"split-lines":   {file: "split-lines.yaml", about: "split only (W2's corpus as lines), by byte ranges on 2 workers, into a count", format: "csv"},
	"split-lines-1": {file: "split-lines.yaml", about: "split only (lines), each file whole on 1 worker (chunk: 0): split-lines' baseline", format: "csv", env: []string{"SPLIT_WORKERS=1", "SPLIT_CHUNK=0"}},
	"w1-whole":      {file: "w1.yaml", about: "W1 with each file split whole on one worker (chunk: 0), as before byte ranges", format: "xml", peers: true, attrs: true, env: []string{"SPLIT_CHUNK=0"}},
	"convert":       {file: "convert.yaml", about: "W1's corpus to JSON lines: split, map (picked attributes and text), write jsonl; run with --check none and compare with w1's rate", format: "xml"},
	"w2":            {file: "w2.yaml", about: "W2: the catalogue as CSV: split, classify (rules), count categories, write per category", format: "csv", peers: true},
}

type config struct {
	root    string // repository root
	sizes   []string
	job     string
	runs    int
	warmup  int
	dir     string
	peers   string // "" when absent or disabled
	python  string
	noPeers bool // use the peers' corpus but do not run them
	check   string
	sluice  string
	profile string
	trace   string
	workers int
	keep    bool // --keep-outputs
	out     io.Writer
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	c := config{out: out}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	size := fs.String("size", "1GB", "corpus size: 10MB, 100MB, 1GB or 4GB (about 920 bytes a record for the XML jobs, 320 for w2's CSV), or a number of records; several, comma-separated, run one after the other")
	fs.StringVar(&c.job, "job", "w1", "what Sluice runs: w1 (the reference job), sort (w1 without attribute counts, for the memory check) plugin (w1 with the example Go plugin as classifier), plugin-notls (the same without TLS on the plugin's connection), plugin-socket (the same with the records sent over the plugin's socket rather than through shared memory), convert (W1's corpus to JSON lines: map and write jsonl; with --check none), or w2 (the CSV job, against DuckDB, Miller and Python's csv)")
	fs.IntVar(&c.runs, "runs", 3, "Sluice runs per size; the table shows the median by wall time")
	fs.IntVar(&c.warmup, "warmup", 1, "Sluice runs per size before the measured ones, not counted")
	fs.StringVar(&c.dir, "dir", "bench/corpus", "where corpora and outputs go (relative to the repository root)")
	peers := fs.String("peers", "auto", "folder of the peers (py_mp_pipeline.py, gen_corpus.py, w2_*); auto is ../shared/peers beside the repository; none runs Sluice alone")
	fs.StringVar(&c.python, "python", defaultPython(), "Python 3 for the peers; the lxml peer needs python3-lxml (apt-get install -y python3-lxml)")
	fs.BoolVar(&c.noPeers, "skip-peers", false, "generate the corpus with the peers' generator but run Sluice alone (its outputs are then checked against encoding/xml, or encoding/csv for w2)")
	fs.StringVar(&c.check, "check", "full", "output check: full (counts and category files as record multisets), counts, or none")
	fs.StringVar(&c.sluice, "sluice", "", "a sluice binary to measure; by default bench builds ./cmd/sluice")
	fs.StringVar(&c.profile, "profile", "", "instead of the table: run the job once in this process with a CPU profile written to this file")
	fs.StringVar(&c.trace, "trace", "", "with --profile: also write an execution trace (go tool trace) to this file")
	fs.BoolVar(&c.keep, "keep-outputs", false, "keep the outputs of Sluice's first run and of the peers (by default each is read for the check and deleted at once, so that no gigabytes of idle files wait in the page cache while others run; see bench/README.md)")
	fs.IntVar(&c.workers, "check-workers", runtime.NumCPU(), "goroutines reading category files for the check")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: go run ./bench [flags]\n\nRuns W1 (or W2, --job w2) with Sluice and the peers side by side and prints one table (see bench/README.md).\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if _, ok := jobs[c.job]; !ok {
		return fmt.Errorf("--job %q: want w1, sort, plugin, plugin-notls, plugin-socket, convert or w2", c.job)
	}
	if c.runs < 1 {
		return fmt.Errorf("--runs %d: want 1 or more", c.runs)
	}
	if c.warmup < 0 {
		return fmt.Errorf("--warmup %d: want 0 or more", c.warmup)
	}
	if c.check != "full" && c.check != "counts" && c.check != "none" {
		return fmt.Errorf("--check %q: want full, counts or none", c.check)
	}
	root, err := repoRoot()
	if err != nil {
		return err
	}
	c.root = root
	if !filepath.IsAbs(c.dir) {
		c.dir = filepath.Join(root, c.dir)
	}
	c.peers = findPeers(*peers, root, jobs[c.job], c.say)
	c.sizes = strings.Split(*size, ",")
	for _, s := range c.sizes {
		if _, err := parseSize(s, jobs[c.job].format); err != nil {
			return err
		}
	}
	if c.profile != "" {
		return c.runProfile(ctx)
	}
	return c.runTable(ctx)
}

func (c *config) say(format string, args ...any) {
	fmt.Fprintf(c.out, "# "+format+"\n", args...)
}

func defaultPython() string {
	if _, err := os.Stat("/usr/bin/python3"); err == nil {
		return "/usr/bin/python3"
	}
	return "python3"
}

// repoRoot finds the repository root (the folder with Sluice's go.mod)
// from the working directory up.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		b, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err == nil && strings.Contains(string(b), "module github.com/sluicehq/sluice\n") {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no Sluice repository at or above %s: run bench from the repository (go run ./bench)", dir)
		}
	}
}

// findPeers resolves --peers for job j, saying what it found: the folder
// must hold the W1 peer (py_mp_pipeline.py), or for W2 the generator of
// its corpus (gen_corpus.py; the W2 peers are looked for one by one).
func findPeers(flagValue, root string, j job, say func(string, ...any)) string {
	reference, marker := "an encoding/xml computation", "py_mp_pipeline.py"
	if j.format == "csv" {
		reference, marker = "an encoding/csv computation, on a corpus generated in Go (internal/corpus)", "gen_corpus.py"
	}
	if flagValue == "none" {
		say("peers: disabled (--peers none); Sluice runs alone and is checked against %s", reference)
		return ""
	}
	dir := flagValue
	if dir == "auto" {
		dir = filepath.Join(filepath.Dir(root), "shared", "peers")
	}
	if _, err := os.Stat(filepath.Join(dir, marker)); err != nil {
		say("peers: %s not found in %s (a fresh clone has no ../shared); Sluice runs alone and is checked against %s", marker, dir, reference)
		return ""
	}
	return dir
}

// row is one line of the table.
type row struct {
	runner  string
	m       measurement
	runs    int
	res     *result // its outputs, read for the check; nil with --check none
	skipped string  // why it did not run
}

func (c *config) runTable(ctx context.Context) error {
	job := jobs[c.job]
	bin, err := c.sluiceBinary(ctx)
	if err != nil {
		return err
	}
	pipeline := filepath.Join(c.root, "bench", job.file)
	if err := c.validate(ctx, bin, pipeline); err != nil {
		return err
	}
	c.say("job %s: %s (%s)", c.job, job.about, pipeline)
	c.say("machine: %d CPUs, %s/%s, %s", runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version())
	var tables []func()
	for _, s := range c.sizes {
		records, _ := parseSize(s, job.format)
		corpus, err := corpusFile(ctx, c.dir, c.peers, c.python, job.format, records, c.say)
		if err != nil {
			return err
		}
		st, err := os.Stat(corpus)
		if err != nil {
			return err
		}
		if err := warm(corpus); err != nil {
			return err
		}
		gen := "the peers' gen_corpus.py"
		if c.peers == "" {
			gen = "internal/corpus in Go, as the peers are absent (not the peers' corpus: its records are smaller)"
		}
		c.say("corpus: %s, %d records, %.1f MB, generated by %s; page cache warmed", corpus, records, float64(st.Size())/1e6, gen)
		rows, err := c.runAll(ctx, bin, pipeline, corpus, job.peers)
		if err != nil {
			return err
		}
		if err := c.checkOutputs(corpus, rows, job); err != nil {
			return err
		}
		size, n := st.Size(), records
		tables = append(tables, func() { c.printTable(s, size, n, rows) })
	}
	for _, t := range tables {
		t()
	}
	return nil
}

// sluiceBinary returns --sluice, or builds ./cmd/sluice.
func (c *config) sluiceBinary(ctx context.Context) (string, error) {
	if c.sluice != "" {
		return filepath.Abs(c.sluice)
	}
	bin := filepath.Join(c.dir, "bin", "sluice")
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		return "", err
	}
	c.say("building %s", bin)
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/sluice")
	cmd.Dir = c.root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/sluice: %w\n%s", err, out)
	}
	return bin, nil
}

// validate checks the pipeline with sluice validate, so that a job the
// build cannot run (plugin without a plugin-capable classify) says why.
func (c *config) validate(ctx context.Context, bin, pipeline string) error {
	cmd := exec.CommandContext(ctx, bin, "validate", pipeline)
	cmd.Dir = c.root
	v := jobs[c.job].vars()
	cmd.Env = append(os.Environ(), v+"_INPUT=.", v+"_OUT="+filepath.Join(c.dir, "out"))
	cmd.Env = append(cmd.Env, jobs[c.job].env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		hint := ""
		if c.job == "plugin" {
			hint = "\n(the plugin job needs classify's plugin: option and examples/go-classifier)"
		}
		return fmt.Errorf("%s does not validate: %w\n%s%s", pipeline, err, out, hint)
	}
	return nil
}

// peer is one peer of a job, ready to run on one corpus.
type peer struct {
	name    string
	skipped string                                           // why it cannot run; "" when it can
	cmd     func(outDir string) *exec.Cmd                    // the command writing its outputs to outDir
	read    func(outDir string, files bool) (*result, error) // reads its outputs for the check
}

// peerRunners returns the peers of the job on corpus.
func (c *config) peerRunners(ctx context.Context, corpus string) []peer {
	if jobs[c.job].format == "csv" {
		return c.w2Peers(ctx, corpus)
	}
	if c.peers == "" {
		return []peer{{name: "python pool(2) etree", skipped: "peers absent"}, {name: "python single lxml", skipped: "peers absent"}}
	}
	script := filepath.Join(c.peers, "py_mp_pipeline.py")
	var out []peer
	first := true
	for _, p := range []struct {
		name string
		args []string
		lxml bool
	}{
		{"python pool(2) etree", []string{"--mode", "pool", "--workers", "2", "--parser", "etree"}, false},
		{"python single lxml", []string{"--mode", "single", "--parser", "lxml"}, true},
	} {
		pr := peer{name: p.name}
		if p.lxml {
			if err := exec.CommandContext(ctx, c.python, "-c", "import lxml").Run(); err != nil {
				pr.skipped = fmt.Sprintf("%s has no lxml: apt-get install -y python3-lxml", c.python)
				out = append(out, pr)
				continue
			}
		}
		// The category files are compared with the first peer's only:
		// the peers are checked against each other by their counts.
		files := first
		first = false
		pr.cmd = func(outDir string) *exec.Cmd {
			return exec.CommandContext(ctx, c.python, append([]string{script, corpus, "--out", outDir}, p.args...)...)
		}
		pr.read = func(outDir string, all bool) (*result, error) { return readPeer(outDir, all && files, c.workers) }
		out = append(out, pr)
	}
	return out
}

// runAll runs Sluice c.runs times and each peer once, interleaved (a
// Sluice run, a peer, a Sluice run, the next peer, ..., the remaining
// Sluice runs), so that a change in the machine's load during the minutes
// the peers take weighs on both sides. A peer that fails is reported in
// its row, and the others still run.
func (c *config) runAll(ctx context.Context, bin, pipeline, corpus string, peers bool) ([]row, error) {
	base := filepath.Join(c.dir, "out", strings.TrimSuffix(filepath.Base(corpus), filepath.Ext(corpus)))
	v := jobs[c.job].vars()
	if err := os.RemoveAll(base); err != nil { // earlier harness runs' outputs
		return nil, err
	}
	// The peers are looked for (and DuckDB installed) before any run.
	var toRun []peer
	if peers && !c.noPeers {
		toRun = c.peerRunners(ctx, corpus)
	}
	sl := row{runner: "sluice " + c.job, runs: c.runs}
	once := func(outDir string) (measurement, error) {
		if err := prepare(outDir, corpus); err != nil {
			return measurement{}, err
		}
		cmd := exec.CommandContext(ctx, bin, "run", "--progress", "none", pipeline)
		cmd.Dir = c.root
		cmd.Env = append(os.Environ(), v+"_INPUT="+corpus, v+"_OUT="+outDir)
		cmd.Env = append(cmd.Env, jobs[c.job].env...)
		return measure(ctx, cmd)
	}
	var runs []measurement
	runSluice := func() error {
		i := len(runs)
		outDir := filepath.Join(base, fmt.Sprintf("sluice-%d", i+1))
		m, err := once(outDir)
		if err != nil {
			return fmt.Errorf("sluice run %d: %w", i+1, err)
		}
		c.say("sluice run %d: %.2fs wall, %.2fs CPU, %.0f MB peak", i+1, m.Wall.Seconds(), m.CPU.Seconds(), float64(m.PeakMem)/1e6)
		runs = append(runs, m)
		if i > 0 {
			return os.RemoveAll(outDir)
		}
		// The first run's outputs are the ones checked.
		read := readSluice
		if jobs[c.job].format == "csv" {
			read = readCSVOutputs
		}
		sl.res, err = c.readOutputs(outDir, func(files bool) (*result, error) { return read(outDir, files, c.workers) })
		return err
	}
	// Warm-up runs, not counted: the first runs after a pause are slower
	// here, as the memory they get has been idle (see bench/README.md).
	for i := range c.warmup {
		outDir := filepath.Join(base, "sluice-warmup")
		m, err := once(outDir)
		if err != nil {
			return nil, fmt.Errorf("sluice warm-up run %d: %w", i+1, err)
		}
		c.say("sluice warm-up run %d: %.2fs wall, %.2fs CPU (not counted)", i+1, m.Wall.Seconds(), m.CPU.Seconds())
		if err := os.RemoveAll(outDir); err != nil {
			return nil, err
		}
	}
	if err := runSluice(); err != nil {
		return nil, err
	}
	var peerRows []row
	for _, p := range toRun {
		r := row{runner: p.name, runs: 1, skipped: p.skipped}
		if r.skipped != "" {
			c.say("%s: not run: %s", p.name, r.skipped)
			peerRows = append(peerRows, r)
			continue
		}
		outDir := filepath.Join(base, strings.NewReplacer(" ", "-", "(", "", ")", "").Replace(p.name))
		if err := prepare(outDir, corpus); err != nil {
			return nil, err
		}
		cmd := p.cmd(outDir)
		c.say("%s: running %s", p.name, strings.Join(cmd.Args, " "))
		m, err := measure(ctx, cmd)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			c.say("%s: failed: %v", p.name, err)
			r.skipped = "missing (failed: " + lastLine(m.Stderr, err) + ")"
			peerRows = append(peerRows, r)
			if err := os.RemoveAll(outDir); err != nil {
				return nil, err
			}
			continue
		}
		c.say("%s: %.1fs wall, %.1fs CPU, %.0f MB peak", p.name, m.Wall.Seconds(), m.CPU.Seconds(), float64(m.PeakMem)/1e6)
		r.m = m
		r.res, err = c.readOutputs(outDir, func(files bool) (*result, error) { return p.read(outDir, files) })
		if err != nil {
			return nil, fmt.Errorf("%s's outputs: %w", p.name, err)
		}
		peerRows = append(peerRows, r)
		if len(runs) < c.runs {
			if err := runSluice(); err != nil {
				return nil, err
			}
		}
	}
	for len(runs) < c.runs {
		if err := runSluice(); err != nil {
			return nil, err
		}
	}
	sl.m = median(runs)
	return append([]row{sl}, peerRows...), nil
}

// readOutputs reads a run's outputs in dir for the check (read is given
// whether to read the category files) and, unless --keep-outputs, deletes
// them. Deleting them at once keeps the machine the same for every run:
// on this one, gigabytes of idle outputs left in the page cache made later
// runs up to 30% slower and their CPU time 20% higher, as DAMON-based
// proactive reclaim evicted them while those runs ran (bench/README.md).
func (c *config) readOutputs(dir string, read func(files bool) (*result, error)) (*result, error) {
	var res *result
	if c.check != "none" {
		start := time.Now()
		var err error
		if res, err = read(c.check == "full"); err != nil {
			return nil, err
		}
		c.say("read %s for the check (%s)", dir, time.Since(start).Round(time.Second))
	}
	if c.keep {
		return res, nil
	}
	return res, os.RemoveAll(dir)
}

// prepare readies a run: it removes the run's previous outputs, flushes
// every file system (sync(2)), so that no runner pays for writing back an
// earlier runner's outputs, and reads the corpus again, so that every
// runner finds it in the page cache. (The kernel may have evicted part of
// it since the last run: this machine runs DAMON-based proactive reclaim,
// and runs after the first were 20-30% slower before the corpus was
// re-read each time.)
func prepare(dir, corpus string) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	syscall.Sync()
	return warm(corpus)
}

// lastLine returns the last non-empty line of a failed run's standard
// error, or else err's first line, for the table.
func lastLine(stderr string, err error) string {
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if l := strings.TrimSpace(lines[len(lines)-1]); l != "" {
		if len(l) > 80 {
			l = l[:77] + "..."
		}
		return l
	}
	msg, _, _ := strings.Cut(err.Error(), "\n")
	return msg
}

// checkOutputs compares Sluice's first run's outputs with each peer's, or
// with an encoding/xml (W2: encoding/csv) computation over the corpus when
// no peer ran.
func (c *config) checkOutputs(corpus string, rows []row, j job) error {
	if c.check == "none" {
		c.say("check: skipped (--check none)")
		return nil
	}
	files := c.check == "full"
	start := time.Now()
	got := rows[0].res
	var refs []row
	for _, r := range rows[1:] {
		if r.skipped == "" {
			refs = append(refs, r)
		}
	}
	var problems []string
	if len(refs) == 0 {
		compute, ref := expected, "encoding/xml"
		if j.format == "csv" {
			compute, ref = expectedCSV, "encoding/csv"
		}
		want, err := compute(corpus)
		if err != nil {
			return err
		}
		if !j.attrs {
			want.Attributes = nil
		}
		if !files {
			want.Files, want.Digests = nil, nil
		}
		for _, d := range diff(want, got) {
			problems = append(problems, "vs "+ref+": "+d)
		}
		c.say("check: Sluice's outputs against an %s computation over the corpus (%s)", ref, time.Since(start).Round(time.Second))
	}
	for _, r := range refs {
		for _, d := range diff(r.res, got) {
			problems = append(problems, "vs "+r.runner+": "+d)
		}
	}
	if len(refs) > 0 {
		what := "counts per category and per (element, attribute, value)"
		if files {
			what += ", and category files as record multisets (vs " + refs[0].runner + ")"
		}
		if j.format == "csv" {
			what = "rows per category"
			if files {
				what += ", and category files as headers and row multisets (vs every peer)"
			}
		}
		c.say("check: %s (%s)", what, time.Since(start).Round(time.Second))
	}
	if len(problems) > 0 {
		return fmt.Errorf("outputs differ:\n  %s", strings.Join(problems, "\n  "))
	}
	c.say("check: outputs equal")
	return nil
}

func (c *config) printTable(size string, bytes int64, records int, rows []row) {
	fmt.Fprintf(c.out, "\n%s: %s, %.1f MB, %d records\n", c.job, size, float64(bytes)/1e6, records)
	tw := tabwriter.NewWriter(c.out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "runner\twall s\tMB/s\trecords/s\tCPU s\tpeak MB\tpeer/sluice\t")
	sl := rows[0].m
	for _, r := range rows {
		name := r.runner
		if r.runs > 1 {
			name += fmt.Sprintf(" (median of %d)", r.runs)
		}
		if r.skipped != "" {
			fmt.Fprintf(tw, "%s\t-\t-\t-\t-\t-\t%s\t\n", name, r.skipped)
			continue
		}
		wall := r.m.Wall.Seconds()
		ratio := "1.0x"
		if r.runner != rows[0].runner {
			ratio = fmt.Sprintf("%.1fx", wall/sl.Wall.Seconds())
		}
		fmt.Fprintf(tw, "%s\t%.2f\t%.1f\t%.0f\t%.1f\t%.0f\t%s\t\n", name, wall, float64(bytes)/1e6/wall, float64(records)/wall, r.m.CPU.Seconds(), float64(r.m.PeakMem)/1e6, ratio)
	}
	tw.Flush()
}
