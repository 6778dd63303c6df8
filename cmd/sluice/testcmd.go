package main

import (
	"fmt"
	"regexp"

	"github.com/spf13/cobra"

	"github.com/sluicehq/sluice/pipetest"
)

func testCmd() *cobra.Command {
	var run string
	var verbose, keep bool
	c := &cobra.Command{
		Use:   "test [dir|file]...",
		Short: "Run pipeline test files (*_test.yaml): feed records to stages, check what they emit and write",
		Long: `Run the pipeline test files at each path (default: the current directory,
searched recursively for *_test.yaml). A test file sits beside the pipeline
it tests (pipeline_test.yaml for pipeline.yaml); each case can change
options (set:), feed records to stages (feed:) and check the records a
stage emits, the records per category, and the files the pipeline writes.
Outputs go to a temporary directory, never to the pipeline's own paths.

Exit status: 0 when every case passes, 1 when one fails (with a diff),
2 when a test file or a pipeline cannot be read.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				args = []string{"."}
			}
			opts := pipetest.Options{KeepOutputs: keep}
			if run != "" {
				re, err := regexp.Compile(run)
				if err != nil {
					return &exitError{exitInvalid, fmt.Errorf("--run: %v", err)}
				}
				opts.Run = re
			}
			l := newLoader()
			var passed, failed int
			for _, path := range args {
				results, err := pipetest.RunPath(cmd.Context(), l, path, opts)
				p, f := pipetest.Print(cmd.OutOrStdout(), results, verbose)
				passed, failed = passed+p, failed+f
				if err != nil {
					return &exitError{exitInvalid, err}
				}
				for _, r := range results {
					if r.Err != nil {
						return &exitError{exitInvalid, fmt.Errorf("%s: %s does not load", r.Path, r.Pipeline)}
					}
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d passed, %d failed\n", passed, failed)
			if failed > 0 {
				return &exitError{exitFailed, fmt.Errorf("%d case(s) failed", failed)}
			}
			return nil
		},
	}
	c.Flags().StringVar(&run, "run", "", "run only the cases whose names match this regular expression")
	c.Flags().BoolVarP(&verbose, "verbose", "v", false, "list every case, not only failures")
	c.Flags().BoolVar(&keep, "keep", false, "keep each case's output directory (its path is printed on failure)")
	return c
}
