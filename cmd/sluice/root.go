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

	"github.com/spf13/cobra"

	"github.com/sluicehq/sluice/core"
	"github.com/sluicehq/sluice/stages"
)

const defaultPipeline = "pipeline.yaml"

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "sluice",
		Short:         "Run declarative dataflow pipelines over large files on every core",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &exitError{exitInvalid, fmt.Errorf("%w (see %s --help)", err, c.CommandPath())}
	})
	root.AddCommand(runCmd(), validateCmd(), graphCmd(), stagesCmd())
	return root
}

func pipelineArg(args []string) string {
	if len(args) > 0 {
		return args[0]
	}
	return defaultPipeline
}

// load reads and plans a pipeline; every problem is an exitInvalid error.
func load(path string) (*core.Graph, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		hint := ""
		if errors.Is(err, os.ErrNotExist) && path == defaultPipeline {
			hint = " (name a pipeline file: sluice run path/to/pipeline.yaml)"
		}
		return nil, &exitError{exitInvalid, fmt.Errorf("%w%s", err, hint)}
	}
	g, err := core.Load(path, src, stages.Registry())
	if err != nil {
		n := 1
		if el, ok := err.(core.ErrorList); ok {
			n = len(el)
		}
		return nil, &exitError{exitInvalid, fmt.Errorf("%s: %d problem(s):\n%w", path, n, err)}
	}
	return g, nil
}

func indent(s string) string { return strings.ReplaceAll(s, "\n", "\n  ") }

func validateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "validate [pipeline.yaml]",
		Short: "Check a pipeline (syntax, kinds, options, graph) without running it",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := pipelineArg(args)
			g, err := load(path)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: ok (%d stages)\n", path, len(g.Nodes))
			return nil
		},
	}
}

func graphCmd() *cobra.Command {
	var format string
	c := &cobra.Command{
		Use:   "graph [pipeline.yaml]",
		Short: "Print the pipeline's graph as DOT (Graphviz) or Mermaid",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			g, err := load(pipelineArg(args))
			if err != nil {
				return err
			}
			switch format {
			case "dot":
				fmt.Fprint(cmd.OutOrStdout(), g.DOT())
			case "mermaid":
				fmt.Fprint(cmd.OutOrStdout(), g.Mermaid())
			default:
				return &exitError{exitInvalid, fmt.Errorf("--format: expected dot or mermaid, got %q", format)}
			}
			return nil
		},
	}
	c.Flags().StringVar(&format, "format", "dot", "output format: dot or mermaid")
	return c
}

func runCmd() *cobra.Command {
	var logLevel, logFormat string
	c := &cobra.Command{
		Use:   "run [pipeline.yaml]",
		Short: "Run a pipeline (default ./pipeline.yaml)",
		Long: `Run a pipeline to completion and print a summary of what every stage did.

Outputs are written under temporary names and renamed only when the whole
run succeeds. SIGINT or SIGTERM stops the run cleanly (exit 130) and leaves
no output under a final name; a second signal exits at once.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			log, err := newLogger(cmd.ErrOrStderr(), logLevel, logFormat)
			if err != nil {
				return &exitError{exitInvalid, err}
			}
			g, err := load(pipelineArg(args))
			if err != nil {
				return err
			}
			ctx, stop := interruptible(cmd.Context(), cmd.ErrOrStderr())
			defer stop()
			rep, err := core.Run(ctx, g, core.RunOptions{Log: log})
			printSummary(cmd.ErrOrStderr(), rep)
			switch {
			case err == nil:
				return nil
			case errors.Is(err, core.ErrInterrupted):
				return &exitError{exitInterrupted, err}
			default:
				return &exitError{exitFailed, err}
			}
		},
	}
	c.Flags().StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn or error")
	c.Flags().StringVar(&logFormat, "log-format", "text", "log format: text or json")
	return c
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

// interruptible returns a context cancelled by the first SIGINT or SIGTERM;
// a second signal exits at once.
func interruptible(parent context.Context, stderr io.Writer) (context.Context, func()) {
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
			fmt.Fprintf(stderr, "sluice: %v: stopping; outputs will not be committed (signal again to exit at once)\n", s)
			cancel()
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
