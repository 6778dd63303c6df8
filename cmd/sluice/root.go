package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/engine"
	"github.com/sluicehq/sluice/pipeline"
	"github.com/sluicehq/sluice/plugins"
	"github.com/sluicehq/sluice/stage"
	"github.com/sluicehq/sluice/stages"
)

const defaultPipeline = "pipeline.yaml"

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "sluice",
		Short:         "Run declarative dataflow pipelines over large files on every core",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version(),
	}
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(schemaCmd())
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &exitError{exitInvalid, fmt.Errorf("%w (see %s --help)", err, c.CommandPath())}
	})
	root.AddCommand(runCmd(), validateCmd(), graphCmd(), stagesCmd(), testCmd(), versionCmd(), exprCmd(), evalCmd(), tapCmd(), recoverCmd(), pluginCmd())
	addCompletions(root)
	return root
}

func pipelineArg(args []string) string {
	if len(args) > 0 {
		return args[0]
	}
	return defaultPipeline
}

// load reads and plans a pipeline; every problem is an exitInvalid error.
func load(path string) (*pipeline.Graph, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		hint := ""
		if errors.Is(err, os.ErrNotExist) && path == defaultPipeline {
			hint = " (name a pipeline file: sluice run path/to/pipeline.yaml)"
		}
		return nil, &exitError{exitInvalid, fmt.Errorf("%w%s", err, hint)}
	}
	g, err := sluice.New().Load(path, src)
	if err != nil {
		n := 1
		if el, ok := err.(pipeline.ErrorList); ok {
			n = len(el)
		}
		return nil, &exitError{exitInvalid, fmt.Errorf("%s: %d problem(s):\n%w", path, n, err)}
	}
	return g, nil
}

func indent(s string) string { return strings.ReplaceAll(s, "\n", "\n  ") }

func validateCmd() *cobra.Command {
	var noPathCheck bool
	c := &cobra.Command{
		Use:   "validate [pipeline.yaml]",
		Short: "Check a pipeline (syntax, kinds, options, graph, input paths) without running it",
		Long: `Check a pipeline without running it: its syntax, stage kinds, options,
expressions and graph, and that the paths its stages read exist (read's
path, a plugin's source or executable). Paths under with: are relative to
the working directory, so run it from where the pipeline will run, or pass
--no-path-check for a pipeline meant for another machine.

A classify stage's plugin.config is checked against the config schema its
plugin describes (unknown keys, types, required keys): validate starts the
plugin once for that, without Init, when its binary is there (a command
that exists, or a source already built; validate builds nothing). When it
cannot check, it prints a note saying why. --no-path-check skips this too.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := pipelineArg(args)
			g, err := load(path)
			if err != nil {
				return err
			}
			if !noPathCheck {
				if err := g.CheckInputs(); err != nil {
					return &exitError{exitInvalid, fmt.Errorf("%s: missing inputs:\n%w\n(paths under with: are relative to the working directory: run from the directory they are written for, or fix them; --no-path-check skips this check, for a pipeline meant for another machine)", path, err)}
				}
				if err := checkPlugins(cmd, path, g); err != nil {
					return err
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: ok (%d stages)\n", path, len(g.Nodes))
			return nil
		},
	}
	c.Flags().BoolVar(&noPathCheck, "no-path-check", false, "do not check that the input paths exist (for a pipeline meant for another machine)")
	return c
}

func graphCmd() *cobra.Command {
	var format, output string
	c := &cobra.Command{
		Use:   "graph [pipeline.yaml]",
		Short: "Draw the pipeline's graph: DOT or Mermaid text, or an SVG or PNG picture",
		Long: `Draw the pipeline's graph: one box per stage (name, kind, workers), one
edge per input labelled with the record kinds on it.

--format dot and mermaid print text (Mermaid renders in GitHub and GitLab
Markdown); svg and png run Graphviz's dot, which must be on PATH.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			g, err := load(pipelineArg(args))
			if err != nil {
				return err
			}
			var out []byte
			switch format {
			case "dot":
				out = []byte(g.DOT())
			case "mermaid":
				out = []byte(g.Mermaid())
			case "svg", "png":
				if out, err = renderDot(cmd.Context(), g.DOT(), format); err != nil {
					return &exitError{exitFailed, err}
				}
			default:
				return &exitError{exitInvalid, fmt.Errorf("--format: expected dot, mermaid, svg or png, got %q", format)}
			}
			if output == "" || output == "-" {
				_, err = cmd.OutOrStdout().Write(out)
			} else {
				err = os.WriteFile(output, out, 0o644)
			}
			if err != nil {
				return &exitError{exitFailed, fmt.Errorf("write graph: %w", err)}
			}
			return nil
		},
	}
	c.Flags().StringVar(&format, "format", "dot", "output format: dot, mermaid, svg or png (svg and png need Graphviz's dot on PATH)")
	c.Flags().StringVarP(&output, "output", "o", "", "write to this file instead of stdout")
	return c
}

// runFlags are the flags of `sluice run`.
type runFlags struct {
	logLevel, logFormat string
	progress            string
	progressInterval    time.Duration
	report              string
	metricsAddr         string
	summary             string
}

func runCmd() *cobra.Command {
	var f runFlags
	c := &cobra.Command{
		Use:   "run [pipeline.yaml]",
		Short: "Run a pipeline (default ./pipeline.yaml)",
		Long: `Run a pipeline to completion and print a summary of what every stage did.

While it runs, a live display on the terminal shows the input read, the
throughput, the ETA, the file being read and a line per stage with its
counts, rate, how busy it is and how full its input queue is (the stage
marked as the bottleneck is the one holding the others back). When stderr
is not a terminal, a plain progress line is logged every few seconds
instead (--progress).

--report writes the summary as JSON (schema: docs/report.schema.json);
--metrics-addr serves Prometheus metrics at /metrics and a health check at
/healthz while the run lasts.

Outputs are written under temporary names and made final only when the
whole run succeeds, all in one commit: every output of the run becomes
final, or none does and the previous outputs stay as they were. SIGINT or
SIGTERM stops the run cleanly (exit 130) and leaves no output under a final
name; a signal during the commit lets the commit finish (the run then
succeeds); a second signal exits at once. A run killed during its commit
leaves a journal that the next run (or sluice recover) uses to finish or
undo that commit.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPipeline(cmd, pipelineArg(args), f)
		},
	}
	c.Flags().StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	c.Flags().StringVar(&f.logFormat, "log-format", "text", "log format: text (logfmt) or json")
	c.Flags().StringVar(&f.progress, "progress", progressAuto, "progress display: auto (tty on a terminal, plain otherwise), tty, plain (a log line every --progress-interval) or none")
	c.Flags().DurationVar(&f.progressInterval, "progress-interval", 5*time.Second, "time between plain progress lines")
	c.Flags().StringVar(&f.report, "report", "", "write the run report (JSON, docs/report.schema.json) to this file, whatever the outcome")
	c.Flags().StringVar(&f.summary, "summary", summaryAuto, "end-of-run summary on stderr: text (a table), json (one JSON log line holding the report), none, or auto (json with --log-format json, so every line of the stream is JSON; text otherwise)")
	c.Flags().StringVar(&f.metricsAddr, "metrics-addr", "", "serve Prometheus metrics at http://ADDR/metrics (and /healthz) during the run, e.g. :9090 or 127.0.0.1:9090; off when empty")
	return c
}

// runPipeline is `sluice run`: it loads the pipeline, starts what watches
// the run (progress display, metrics server), runs it, and prints the
// summary and writes the report whatever the outcome.
func runPipeline(cmd *cobra.Command, path string, f runFlags) error {
	stderr := cmd.ErrOrStderr()
	mode, err := resolveProgress(f.progress, stderr)
	if err != nil {
		return &exitError{exitInvalid, err}
	}
	if f.progressInterval <= 0 {
		return &exitError{exitInvalid, fmt.Errorf("--progress-interval: must be positive, got %s", f.progressInterval)}
	}
	sink := &switchWriter{base: stderr}
	log, err := newLogger(sink, f.logLevel, f.logFormat)
	if err != nil {
		return &exitError{exitInvalid, err}
	}
	summary, err := resolveSummary(f.summary, f.logFormat)
	if err != nil {
		return &exitError{exitInvalid, err}
	}
	g, err := load(path)
	if err != nil {
		return err
	}
	var report *reportFile
	if f.report != "" {
		if report, err = createReport(f.report); err != nil {
			return &exitError{exitInvalid, err}
		}
	}
	mon := &engine.Monitor{}
	if f.metricsAddr != "" {
		srv, err := serveMetrics(f.metricsAddr, mon, log)
		if err != nil {
			if report != nil {
				report.discard()
			}
			return &exitError{exitFailed, err}
		}
		defer srv.close(context.WithoutCancel(cmd.Context()))
	}
	// On a terminal, the echo of ^C moves the cursor off column 0, under
	// the display; a carriage return puts it back before the message.
	notice := "sluice: "
	if mode == progressTTY {
		notice = "\rsluice: "
	}
	ctx, stop := interruptible(cmd.Context(), sink, notice, mon)
	defer stop()
	// Plugins built from source during setup are a step of their own, shown
	// by the display and listed in the summary and the report.
	builds := &plugins.BuildSteps{}
	ctx = plugins.WithBuildSteps(ctx, builds)
	log.Debug("run starting", "pipeline", g.Name, "file", g.File, "stages", len(g.Nodes), "progress", mode)
	disp := startDisplay(mode, stderr, sink, mon, builds, log, f.progressInterval)
	rep, err := sluice.New().Run(ctx, g, engine.RunOptions{Log: log, Monitor: mon})
	disp.stop(rep)
	summary(stderr, rep, builds.Builds())
	if report != nil {
		if werr := report.write(rep, builds.Builds()); werr != nil {
			err = errors.Join(err, werr)
		} else {
			log.Debug("report written", "path", f.report)
		}
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, stage.ErrInterrupted):
		return &exitError{exitInterrupted, err}
	default:
		return &exitError{exitFailed, err}
	}
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: expected debug, info, warn or error, got %q", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format: expected text or json, got %q", format)
}

// interruptible returns a context cancelled by the first SIGINT or SIGTERM,
// which it reports on stderr after prefix, unless the run that mon watches
// is committing its outputs: that commit is finished (see
// engine.Monitor.Interrupt). A second signal exits at once.
func interruptible(parent context.Context, stderr io.Writer, prefix string, mon *engine.Monitor) (context.Context, func()) {
	if parent == nil {
		parent = context.Background()
	}
	ctx, cancel := context.WithCancel(parent)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case s := <-sigs:
			switch mon.Interrupt(cancel) {
			case engine.PhaseCommitting:
				fmt.Fprintf(stderr, "%s%v: the outputs are being committed; finishing the commit (signal again to exit at once: the next run or sluice recover then finishes or undoes it)\n", prefix, s)
			case engine.PhaseDone:
				fmt.Fprintf(stderr, "%s%v: the outputs are committed; finishing (signal again to exit at once)\n", prefix, s)
			default:
				fmt.Fprintf(stderr, "%s%v: stopping; outputs will not be committed (signal again to exit at once)\n", prefix, s)
			}
		case <-done:
			return
		}
		select {
		case <-sigs:
			os.Exit(exitInterrupted)
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(sigs)
		close(done)
		cancel()
	}
}

func recoverCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "recover [pipeline.yaml]",
		Short: "Finish or undo the commit of a run that was killed while committing its outputs",
		Long: `Finish or undo the commit of a run of this pipeline that was killed while
committing its outputs (sluice run does the same before it starts).

A run commits its outputs under a journal, a file named
.sluice-commit-<run id>.json in the directory of its first output. A
journal left behind is rolled forward (every output of that run made final)
when every output not yet in place still has its staged file and the commit
was not being undone; otherwise it is rolled back (the outputs before that
commit restored). Either way the staged files, the previous outputs kept
during the commit and the journal are removed. A commit still running in
another process is left alone.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			g, err := load(pipelineArg(args))
			if err != nil {
				return err
			}
			recs, err := engine.Recover(g)
			out := cmd.OutOrStdout()
			for _, r := range recs {
				fmt.Fprintln(out, r.String())
			}
			if err != nil {
				return &exitError{exitFailed, err}
			}
			if len(recs) == 0 {
				fmt.Fprintln(out, "no interrupted commit to recover")
			}
			return nil
		},
	}
}

// newLoader returns a loader with the built-in kinds and the search path
// from SLUICE_PATH, for the commands that parse a pipeline without
// planning it (tap, test, completion) or read a template alone.
func newLoader() *pipeline.Loader {
	return &pipeline.Loader{Registry: stages.Registry(), SearchPath: pipeline.SearchPathFromEnv()}
}
