package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/engine"
	"github.com/sluicehq/sluice/internal/suggest"
	"github.com/sluicehq/sluice/pipeline"
	stagepkg "github.com/sluicehq/sluice/stage"
)

// tapFlags are the flags of `sluice tap`.
type tapFlags struct {
	n      int
	width  int
	format string
}

func tapCmd() *cobra.Command {
	var f tapFlags
	c := &cobra.Command{
		Use:   "tap STAGE [pipeline.yaml]",
		Short: "Print the first records a stage emits, without writing any output",
		Long: `Run the pipeline up to STAGE (only the stages it reads from, directly or
not) and print the first -n records it emits: position, kind, category,
labels and data (cut to --width bytes; --format json prints them whole, one
JSON object a line, with CSV header and fields: the records file that a Go
plugin's tests read with sdktest.ReadRecords and the Python sdk's check
reads with --records). Then stop.

Nothing is committed: no output file appears under its final name, and
whatever the stages upstream write (dead letters included) goes to a
temporary directory that is removed. STAGE may name a template use, which
is tapped at the stage whose output it emits.`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runTap(cmd, args[0], pipelineArg(args[1:]), f)
		},
	}
	c.Flags().IntVarP(&f.n, "records", "n", 10, "how many records to print before stopping")
	c.Flags().IntVar(&f.width, "width", 160, "text format: show at most this many bytes of each record's data (0: all)")
	c.Flags().StringVar(&f.format, "format", "text", "text (one line a record) or json (one JSON object a line, data whole)")
	return c
}

// tapKind is the sink kind that receives what the tapped stage emits.
const tapKind = "sluice-tap"

func runTap(cmd *cobra.Command, stage, path string, f tapFlags) error {
	if f.n <= 0 {
		return &exitError{exitInvalid, fmt.Errorf("-n: must be 1 or more, got %d", f.n)}
	}
	if f.width < 0 {
		return &exitError{exitInvalid, fmt.Errorf("--width: must be 0 (all) or more, got %d", f.width)}
	}
	if f.format != "text" && f.format != "json" {
		return &exitError{exitInvalid, fmt.Errorf("--format: expected text or json, got %q", f.format)}
	}
	scratch, err := os.MkdirTemp("", "sluice-tap-")
	if err != nil {
		return &exitError{exitFailed, fmt.Errorf("tap: %w", err)}
	}
	defer os.RemoveAll(scratch)
	// A closed stdout (sluice tap … | head) is then a write error, which
	// stops the run cleanly, instead of SIGPIPE killing sluice before it
	// removes scratch and stops its plugins.
	signal.Ignore(syscall.SIGPIPE)

	eng := sluice.New()
	cfg, err := newLoader().ParseFile(path)
	if err != nil {
		return &exitError{exitInvalid, fmt.Errorf("%s: %w", path, err)}
	}
	target, err := tapTarget(cfg, stage)
	if err != nil {
		return &exitError{exitInvalid, err}
	}
	cut := upstream(cfg, target)
	cut.OutputDir = scratch                                                       // what the upstream stages write goes here, and is removed
	ctx, stop := interruptible(cmd.Context(), cmd.ErrOrStderr(), "sluice: ", nil) // tap never commits
	defer stop()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sink := &tapSink{w: cmd.OutOrStdout(), f: f, stop: cancel}
	cut.AddStage(&pipeline.StageConfig{Name: "tap " + target, Use: tapKind, From: []string{target}})
	reg := stagepkg.NewRegistry()
	for _, k := range eng.Kinds() {
		reg.Register(k)
	}
	reg.Register(stagepkg.Define(tapKind, "Prints what a tapped stage emits.", nil,
		func() *struct{} { return &struct{}{} },
		func(*struct{}) (stagepkg.Stage, error) { return sink, nil }))
	g, err := pipeline.Plan(cut, reg)
	if err != nil {
		return &exitError{exitInvalid, fmt.Errorf("%s: cannot run the pipeline up to %q:\n%w", path, target, err)}
	}
	log, _ := newLogger(cmd.ErrOrStderr(), "warn", "text")
	_, err = eng.Run(ctx, g, engine.RunOptions{Log: log})
	n, ended, closed := sink.result()
	switch {
	case closed:
		return nil // stdout's reader has all it wanted
	case ended || n >= f.n:
		// The tap stopped the run itself, so it was interrupted: nothing
		// was committed.
	case errors.Is(err, stagepkg.ErrInterrupted):
		return &exitError{exitInterrupted, err}
	case err != nil:
		return &exitError{exitFailed, err}
	}
	why := "stopped there"
	if ended {
		why = "its output ended"
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "sluice: tap: %d record(s) from %q (%s); no output was written\n", n, target, why)
	return nil
}

// tapTarget returns the stage whose output tapping name shows: the stage,
// or the output stage of a template use.
func tapTarget(cfg *pipeline.Config, name string) (string, error) {
	if cfg.Stage(name) != nil {
		return name, nil
	}
	if _, out, ok := cfg.Use(name); ok {
		if out == "" {
			return "", fmt.Errorf("tap: template use %q emits nothing; tap one of its stages", name)
		}
		return out, nil
	}
	names := cfg.StageNames()
	hint := ""
	if best, ok := suggest.Closest(name, names); ok {
		hint = fmt.Sprintf("; did you mean %q?", best)
	}
	return "", fmt.Errorf("tap: no stage %q in %s (stages: %s)%s", name, cfg.File, strings.Join(names, ", "), hint)
}

// upstream returns a copy of cfg holding target and the stages it reads
// from, directly or not; nothing downstream of them runs.
func upstream(cfg *pipeline.Config, target string) *pipeline.Config {
	keep := map[string]bool{}
	var visit func(string)
	visit = func(name string) {
		if keep[name] {
			return
		}
		keep[name] = true
		if st := cfg.Stage(name); st != nil {
			for _, from := range st.From {
				visit(from)
			}
		}
	}
	visit(target)
	cut := cfg.Clone()
	var gone []string
	for _, n := range cut.StageNames() {
		if !keep[n] {
			gone = append(gone, n)
		}
	}
	cut.RemoveStages(gone...)
	return cut
}

// tapSink is the stage that prints the tapped stage's records. It takes
// one worker, and cancels the run once it has printed n records, or when
// its input ends: a cancelled run commits nothing.
type tapSink struct {
	w    io.Writer
	f    tapFlags
	stop context.CancelFunc

	mu     sync.Mutex
	n      int
	ended  bool
	closed bool // the reader of stdout went away (| head): stop quietly
}

var (
	_ stagepkg.Processor = (*tapSink)(nil)
	_ stagepkg.Finisher  = (*tapSink)(nil)
)

func (s *tapSink) Signature() stagepkg.Signature {
	return stagepkg.Signature{In: stagepkg.Any, Out: stagepkg.None, Terminal: true, MaxWorkers: 1}
}

func (s *tapSink) Process(ctx context.Context, r *stagepkg.Record, _ stagepkg.Emitter) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n >= s.f.n || s.closed {
		return nil
	}
	s.n++
	var err error
	if s.f.format == "json" {
		err = writeTapJSON(s.w, r)
	} else {
		_, err = fmt.Fprintln(s.w, tapLine(s.n, r, s.f.width))
	}
	if errors.Is(err, syscall.EPIPE) {
		s.closed = true
		s.stop()
		return nil
	}
	if err != nil {
		return stagepkg.Fatal(fmt.Errorf("tap: write: %w", err))
	}
	if s.n >= s.f.n {
		s.stop()
	}
	return nil
}

// Finish runs when the tapped stage's output ends before n records: the
// run is cancelled all the same, so that nothing is committed.
func (s *tapSink) Finish(ctx context.Context, _ stagepkg.Emitter) error {
	s.mu.Lock()
	s.ended = true
	s.mu.Unlock()
	s.stop()
	return nil
}

func (s *tapSink) result() (n int, ended, closed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n, s.ended && s.n < s.f.n, s.closed
}

// tapLine renders a record on one line: its number, position, kind,
// category, labels and data, whitespace runs with a line end shown as one
// space and the data cut to width bytes (on a rune boundary).
func tapLine(i int, r *stagepkg.Record, width int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "#%d %s %s", i, r.Source, r.Type)
	if r.Category != "" {
		fmt.Fprintf(&b, " category=%q", r.Category)
	}
	if len(r.Labels) > 0 {
		for i, k := range slices.Sorted(maps.Keys(r.Labels)) {
			sep := ","
			if i == 0 {
				sep = " labels{"
			}
			fmt.Fprintf(&b, "%s%s=%q", sep, k, r.Labels[k])
		}
		b.WriteByte('}')
	}
	if len(r.Data) > 0 {
		b.WriteString(": ")
		b.WriteString(cut(flatten(r.Data), width))
	}
	return b.String()
}

// flatten turns every run of whitespace holding a line end into one
// space, so that a multi-line record shows on one line.
func flatten(data []byte) string {
	var b strings.Builder
	s := string(data)
	for s != "" {
		i := strings.IndexAny(s, "\r\n")
		if i < 0 {
			b.WriteString(s)
			break
		}
		head := strings.TrimRight(s[:i], " \t")
		b.WriteString(head)
		s = strings.TrimLeft(s[i:], " \t\r\n")
		if head != "" && s != "" {
			b.WriteByte(' ')
		}
	}
	return b.String()
}

// cut shortens s to at most width bytes, on a rune boundary, saying how
// much was left out.
func cut(s string, width int) string {
	if width == 0 || len(s) <= width {
		return s
	}
	end := width
	for end > 0 && !utf8.RuneStart(s[end]) {
		end--
	}
	return fmt.Sprintf("%s… (%d more bytes)", s[:end], len(s)-end)
}

// tapRecord is a record as --format json prints it.
type tapRecord struct {
	File     string            `json:"file"`
	Line     int64             `json:"line,omitempty"`
	Offset   int64             `json:"offset"`
	Ordinal  int64             `json:"ordinal,omitempty"`
	Kind     string            `json:"kind"`
	Category string            `json:"category,omitempty"`
	Labels   map[string]string `json:"labels,omitempty"`
	Header   []string          `json:"header,omitempty"`
	Fields   []string          `json:"fields,omitempty"`
	Data     string            `json:"data"`
}

func writeTapJSON(w io.Writer, r *stagepkg.Record) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false) // records are often markup: keep < and > as they are
	rec := tapRecord{
		File: r.Source.File, Line: r.Source.Line, Offset: r.Source.Offset, Ordinal: r.Source.Ordinal,
		Kind: r.Type.String(), Category: r.Category, Labels: r.Labels, Fields: r.Fields, Data: string(r.Data),
	}
	if r.Header != nil {
		rec.Header = r.Header.Names
	}
	return enc.Encode(rec)
}
