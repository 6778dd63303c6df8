package pipetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	udiff "github.com/aymanbagabas/go-udiff"
	"gopkg.in/yaml.v3"

	"github.com/sluicehq/sluice/engine"
	"github.com/sluicehq/sluice/pipeline"
	stagepkg "github.com/sluicehq/sluice/stage"
)

// Options tune a test run.
type Options struct {
	// Run, when set, selects the cases whose names it matches.
	Run *regexp.Regexp
	// Log receives the pipelines' logs; nil discards them.
	Log *slog.Logger
	// KeepOutputs leaves each case's output directory in place (its path
	// is in the Result) instead of removing it.
	KeepOutputs bool
}

// FileResult is the outcome of one test file.
type FileResult struct {
	Path     string
	Pipeline string
	// Err is set when the pipeline could not be loaded: every case fails.
	Err   error
	Cases []*Result
}

// Failed reports whether the file or any of its cases failed.
func (f *FileResult) Failed() bool {
	if f.Err != nil {
		return true
	}
	for _, c := range f.Cases {
		if !c.Passed() {
			return true
		}
	}
	return false
}

// Result is the outcome of one case.
type Result struct {
	Name string
	At   pipeline.Location
	// Failures describe each expectation not met, with a diff where one
	// helps; empty when the case passed.
	Failures []string
	Duration time.Duration
	// OutputDir is where the case's outputs went (removed afterwards
	// unless Options.KeepOutputs).
	OutputDir string
}

// Passed reports whether every expectation was met.
func (r *Result) Passed() bool { return len(r.Failures) == 0 }

// Find returns the test files at path: path itself when it is a file, or
// every *_test.yaml (and _test.yml) under it, sorted.
func Find(path string) ([]string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return []string{path}, nil
	}
	var files []string
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != path && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if !d.IsDir() && (strings.HasSuffix(p, "_test.yaml") || strings.HasSuffix(p, "_test.yml")) {
			files = append(files, p)
		}
		return nil
	})
	sort.Strings(files)
	return files, err
}

// RunPath runs every test file at path (see Find) with the stage kinds
// and templates of l. It returns an error when no test file is found or
// one cannot be parsed; failing cases are in the results.
func RunPath(ctx context.Context, l *pipeline.Loader, path string, opts Options) ([]*FileResult, error) {
	files, err := Find(path)
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s: no test files (*_test.yaml)", path)
	}
	var parsed []*File
	var errs []error
	for _, f := range files {
		tf, err := ParseFile(f)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		parsed = append(parsed, tf)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	var out []*FileResult
	for _, tf := range parsed {
		if ctx.Err() != nil {
			return out, ctx.Err()
		}
		out = append(out, RunFile(ctx, l, tf, opts))
	}
	return out, nil
}

// RunFile runs the cases of one test file.
func RunFile(ctx context.Context, l *pipeline.Loader, f *File, opts Options) *FileResult {
	res := &FileResult{Path: f.Path, Pipeline: f.Pipeline}
	cfg, err := l.ParseFile(f.Pipeline)
	if err != nil {
		res.Err = err
		return res
	}
	for _, c := range f.Cases {
		if opts.Run != nil && !opts.Run.MatchString(c.Name) {
			continue
		}
		res.Cases = append(res.Cases, runCase(ctx, l, f, cfg, c, opts))
	}
	return res
}

const (
	feedKind    = "sluice-test-feed"
	captureKind = "sluice-test-capture"
)

// runCase plans the pipeline as the case changes it, runs it with its
// outputs under a temporary directory, and checks the expectations.
func runCase(ctx context.Context, l *pipeline.Loader, f *File, base *pipeline.Config, c *Case, opts Options) *Result {
	start := time.Now()
	res := &Result{Name: c.Name, At: c.At}
	defer func() { res.Duration = time.Since(start) }()
	fail := func(at pipeline.Location, format string, args ...any) {
		res.Failures = append(res.Failures, at.String()+": "+fmt.Sprintf(format, args...))
	}
	dir, err := os.MkdirTemp("", "sluice-test-")
	if err != nil {
		fail(c.At, "%v", err)
		return res
	}
	res.OutputDir = dir
	if !opts.KeepOutputs {
		defer os.RemoveAll(dir)
	}

	cfg := base.Clone()
	cfg.OutputDir = dir
	for _, s := range c.set {
		if err := cfg.SetOptions(s.stage, f.Path, s.node); err != nil {
			fail(s.at, "set: %v", err)
		}
	}
	feeds := map[string][]stagepkg.Record{}
	for _, fs := range c.feed {
		// A template use is fed through the stages its from: goes to.
		targets := []string{fs.stage}
		if cfg.Stage(fs.stage) == nil {
			ins, _, ok := cfg.Use(fs.stage)
			if !ok || len(ins) == 0 {
				fail(fs.at, "feed: %v", noStage(cfg, fs.stage))
				continue
			}
			targets = ins
		}
		name := "feed " + fs.stage
		feeds[name] = fs.records
		cfg.AddStage(&pipeline.StageConfig{Name: name, Use: feedKind, With: stageOption(name)})
		for _, t := range targets {
			cfg.Stage(t).SetFrom(name)
		}
	}
	if len(c.feed) > 0 {
		prune(cfg, c)
	}
	captured := map[string]*capture{}
	for _, stage := range c.tapped() {
		// A template use is tapped at the stage whose output it emits.
		from := stage.name
		if cfg.Stage(from) == nil {
			_, out, ok := cfg.Use(from)
			if !ok || out == "" {
				fail(stage.at, "%v", noStage(cfg, stage.name))
				continue
			}
			from = out
		}
		name := "expect " + stage.name
		captured[name] = &capture{}
		cfg.AddStage(&pipeline.StageConfig{Name: name, Use: captureKind, From: []string{from}, With: stageOption(name)})
	}
	if !res.Passed() {
		return res
	}

	reg := stagepkg.NewRegistry()
	for _, k := range l.Registry.Kinds() {
		reg.Register(k)
	}
	reg.Register(feedKindFor(feeds))
	reg.Register(captureKindFor(captured))
	g, err := pipeline.Plan(cfg, reg)
	if err != nil {
		fail(c.At, "the pipeline does not plan:\n%v", err)
		return res
	}
	_, runErr := engine.Run(ctx, g, engine.RunOptions{Log: opts.Log})

	switch {
	case c.err != nil && runErr == nil:
		fail(c.err.at, "the run succeeded, but it should fail with an error containing %q", c.err.text)
	case c.err != nil && !strings.Contains(runErr.Error(), c.err.text):
		fail(c.err.at, "the run failed with an error that does not contain %q:\n%v", c.err.text, runErr)
	case c.err == nil && runErr != nil:
		fail(c.At, "the run failed: %v", runErr)
		return res
	}
	for _, w := range c.records {
		got := captured["expect "+w.stage].rendered()
		want := slices.Sorted(slices.Values(w.want))
		if d := diff(lines(want), lines(got)); d != "" {
			fail(w.at, "records emitted by %q differ (order ignored; - want, + got):\n%s", w.stage, d)
		}
	}
	for _, w := range c.cats {
		got := captured["expect "+w.stage].categories()
		if d := diff(categoryLines(w.want), categoryLines(got)); d != "" {
			fail(w.at, "records per category emitted by %q differ (- want, + got):\n%s", w.stage, d)
		}
	}
	for _, w := range c.counts {
		if got := int64(len(captured["expect "+w.stage].records)); got != w.want {
			fail(w.at, "%q emitted %d records, want %d", w.stage, got, w.want)
		}
	}
	for _, w := range c.files {
		checkFile(dir, w, fail)
	}
	return res
}

// tap is a stage whose output a case looks at, and where it first does.
type tap struct {
	name string
	at   pipeline.Location
}

// tapped returns the stages whose output the case looks at, once each.
func (c *Case) tapped() []tap {
	var out []tap
	seen := map[string]bool{}
	add := func(name string, at pipeline.Location) {
		if !seen[name] {
			seen[name] = true
			out = append(out, tap{name, at})
		}
	}
	for _, w := range c.records {
		add(w.stage, w.at)
	}
	for _, w := range c.cats {
		add(w.stage, w.at)
	}
	for _, w := range c.counts {
		add(w.stage, w.at)
	}
	return out
}

func noStage(cfg *pipeline.Config, name string) error {
	var names, inside []string
	for _, n := range cfg.StageNames() {
		if !strings.HasPrefix(n, "feed ") {
			names = append(names, n)
		}
		if strings.HasPrefix(n, name+".") {
			inside = append(inside, n)
		}
	}
	if len(inside) > 0 {
		return fmt.Errorf("%q uses a template with no input or no output here: name one of its stages (%s)", name, strings.Join(inside, ", "))
	}
	return fmt.Errorf("no stage %q in the pipeline (stages: %s)", name, strings.Join(names, ", "))
}

// prune keeps only the fed stages, their feeds and what is downstream of
// them: the rest would read the pipeline's real inputs.
func prune(cfg *pipeline.Config, c *Case) {
	consumers := map[string][]string{}
	for _, st := range cfg.Stages {
		for _, f := range st.From {
			consumers[f] = append(consumers[f], st.Name)
		}
	}
	keep := map[string]bool{}
	var visit func(string)
	visit = func(n string) {
		if keep[n] {
			return
		}
		keep[n] = true
		for _, o := range consumers[n] {
			visit(o)
		}
	}
	for _, fs := range c.feed {
		visit("feed " + fs.stage)
	}
	var drop []string
	for _, n := range cfg.StageNames() {
		if !keep[n] {
			drop = append(drop, n)
		}
	}
	cfg.RemoveStages(drop...)
}

func stageOption(name string) *yaml.Node {
	return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: []*yaml.Node{
		{Kind: yaml.ScalarNode, Tag: "!!str", Value: "stage"},
		{Kind: yaml.ScalarNode, Tag: "!!str", Value: name},
	}}
}

// checkFile compares an output file with what the case expects.
func checkFile(dir string, w fileWant, fail func(pipeline.Location, string, ...any)) {
	path := filepath.Join(dir, strings.TrimPrefix(filepath.Clean(w.path), string(filepath.Separator)))
	b, err := os.ReadFile(path)
	if err != nil {
		var written []string
		filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				rel, _ := filepath.Rel(dir, p)
				written = append(written, rel)
			}
			return nil
		})
		if len(written) == 0 {
			written = []string{"none"}
		}
		fail(w.at, "%s was not written (files written: %s)", w.path, strings.Join(written, ", "))
		return
	}
	got := string(b)
	want := w.want
	if w.json {
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			fail(w.at, "%s is not JSON: %v", w.path, err)
			return
		}
		got, want = indentJSON(v), indentJSON(jsonValue(w.want))
	}
	if d := diff(want, got); d != "" {
		fail(w.at, "%s differs (- want, + got):\n%s", w.path, d)
	}
}

func jsonValue(s string) any {
	var v any
	json.Unmarshal([]byte(s), &v)
	return v
}

func indentJSON(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b) + "\n"
}

// diff returns a unified diff of want and got, or "" when they are equal.
func diff(want, got string) string {
	if want == got {
		return ""
	}
	if !strings.HasSuffix(want, "\n") || !strings.HasSuffix(got, "\n") {
		want, got = want+"\n", got+"\n"
		if want == got {
			return "(they differ only in the final newline)\n"
		}
	}
	d := udiff.Unified("want", "got", want, got)
	// The file header lines say nothing the message does not.
	if i := strings.Index(d, "@@"); i > 0 {
		d = d[i:]
	}
	return d
}

func lines(items []string) string {
	if len(items) == 0 {
		return ""
	}
	return strings.Join(items, "\n") + "\n"
}

func categoryLines(m map[string]int64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		name := k
		if name == "" {
			name = "(none)"
		}
		fmt.Fprintf(&b, "%s: %d\n", name, m[k])
	}
	return b.String()
}

// capture collects the records a tapped stage emits.
type capture struct {
	mu      sync.Mutex
	records []stagepkg.Record
}

func (c *capture) rendered() []string {
	if c == nil {
		return nil
	}
	out := make([]string, len(c.records))
	for i := range c.records {
		out[i] = render(&c.records[i])
	}
	sort.Strings(out)
	return out
}

func (c *capture) categories() map[string]int64 {
	m := map[string]int64{}
	if c == nil {
		return m
	}
	for _, r := range c.records {
		m[r.Category]++
	}
	return m
}

type stageOptions struct {
	Stage string `yaml:"stage" doc:"The test stage's name."`
}

// feedKindFor is a source kind emitting the records given for each feed
// stage name.
func feedKindFor(feeds map[string][]stagepkg.Record) stagepkg.Kind {
	return stagepkg.Define(feedKind, "Emits a test case's records.", nil,
		func() *stageOptions { return &stageOptions{} },
		func(o *stageOptions) (stagepkg.Stage, error) {
			recs, ok := feeds[o.Stage]
			if !ok {
				return nil, fmt.Errorf("no records for %q", o.Stage)
			}
			var out stagepkg.Type
			for _, r := range recs {
				out |= r.Type
			}
			if out == stagepkg.None {
				out = stagepkg.Records
			}
			return &feedStage{records: recs, out: out}, nil
		})
}

type feedStage struct {
	records []stagepkg.Record
	out     stagepkg.Type
}

func (s *feedStage) Signature() stagepkg.Signature { return stagepkg.Signature{Out: s.out} }

func (s *feedStage) Read(ctx context.Context, out stagepkg.Emitter) error {
	for i := range s.records {
		r := s.records[i]
		if err := out.Emit(&r); err != nil {
			return err
		}
	}
	return nil
}

// captureKindFor is a sink kind keeping what it receives in the capture
// of its stage name.
func captureKindFor(caps map[string]*capture) stagepkg.Kind {
	return stagepkg.Define(captureKind, "Keeps what a tapped stage emits.", nil,
		func() *stageOptions { return &stageOptions{} },
		func(o *stageOptions) (stagepkg.Stage, error) {
			c, ok := caps[o.Stage]
			if !ok {
				return nil, fmt.Errorf("no capture for %q", o.Stage)
			}
			return &captureStage{c: c}, nil
		})
}

type captureStage struct{ c *capture }

func (s *captureStage) Signature() stagepkg.Signature {
	return stagepkg.Signature{In: stagepkg.Any, Out: stagepkg.None, Terminal: true}
}

func (s *captureStage) Process(ctx context.Context, r *stagepkg.Record, out stagepkg.Emitter) error {
	s.c.mu.Lock()
	s.c.records = append(s.c.records, *r) // a copy: r is the runner's
	s.c.mu.Unlock()
	return nil
}

// Print writes results as `sluice test` shows them, and returns the
// numbers of cases passed and failed (a file that cannot be loaded counts
// as one failure).
func Print(w io.Writer, results []*FileResult, verbose bool) (passed, failed int) {
	for _, f := range results {
		fmt.Fprintf(w, "%s (%s)\n", f.Path, f.Pipeline)
		if f.Err != nil {
			failed++
			fmt.Fprintf(w, "  FAIL  the pipeline does not load:\n%s\n", indent(f.Err.Error(), "        "))
			continue
		}
		for _, c := range f.Cases {
			if c.Passed() {
				passed++
				if verbose {
					fmt.Fprintf(w, "  ok    %s (%s)\n", c.Name, c.Duration.Round(time.Millisecond))
				}
				continue
			}
			failed++
			fmt.Fprintf(w, "  FAIL  %s (%s)\n", c.Name, c.Duration.Round(time.Millisecond))
			for _, msg := range c.Failures {
				fmt.Fprintln(w, indent(strings.TrimRight(msg, "\n"), "        "))
			}
		}
		if !verbose && !f.Failed() {
			fmt.Fprintf(w, "  ok    %d case(s)\n", len(f.Cases))
		}
	}
	return passed, failed
}

func indent(s, pre string) string {
	return pre + strings.ReplaceAll(s, "\n", "\n"+pre)
}
