package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sluicehq/sluice/stages/exprlang"
	"github.com/sluicehq/sluice/stages/split"
)

// evalFlags are the flags of `sluice eval`.
type evalFlags struct {
	record string
	input  exprlang.Input
	as     string
	limit  int
	// split names a split stage of pipeline whose options cut the file.
	split, pipeline string
}

func evalCmd() *cobra.Command {
	var f evalFlags
	c := &cobra.Command{
		Use:   "eval EXPR --record FILE",
		Short: "Evaluate an expression on each record of a file, as classify would",
		Long: `Evaluate an expression on the records of a file, cut exactly as the split
stage cuts them (same code, same positions), and print each record's
position and the value, or the error. The record kind comes from --kind or
the file's extension (.xml, .csv, .tsv, .jsonl, .ndjson, .txt, .log; gzip
and zstd are read); XML needs --element, the split element. --split STAGE takes every option
from a split stage of the pipeline instead.

--as bool checks the value as a classify when does, --as string as a
category, label or count key (nil is then an error); any shows the value
as it is. Exit status: 0 when every record gave a value, 1 when some
failed, 2 when the expression or a flag is wrong.

Examples:
  sluice eval 'attr("type") ?? "none"' --record catalog.xml --element record
  sluice eval 'field("lang") == "fr"' --record books.csv --as bool -n 5
  sluice eval 'text("title")' --record data/a.xml --split records --pipeline pipeline.yaml`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runEval(cmd, args[0], f)
		},
	}
	c.Flags().StringVar(&f.record, "record", "", "the file whose records to evaluate on (required)")
	c.Flags().StringVar(&f.input.Kind, "kind", "", "record kind: xml, csv, lines or jsonl (default: from the file's extension)")
	c.Flags().StringVar(&f.input.Element, "element", "", "xml: the element whose subtrees are records, as split's xml.element (record, p:record, catalog/record)")
	c.Flags().StringVar(&f.input.Delimiter, "delimiter", "", `csv: the field delimiter, as split's csv.delimiter (default ",", "\t" for .tsv)`)
	c.Flags().BoolVar(&f.input.NoHeader, "no-header", false, `csv: the first row is a record, and fields are named "1", "2", ...`)
	c.Flags().StringVar(&f.as, "as", string(exprlang.Any), "what the value must be: any, bool (as a when) or string (as a category, label or key)")
	c.Flags().IntVarP(&f.limit, "records", "n", 0, "stop after this many records (0: all)")
	c.Flags().StringVar(&f.split, "split", "", "cut the file as this split stage of --pipeline does, with all its options (instead of --kind and the flags after it)")
	c.Flags().StringVar(&f.pipeline, "pipeline", defaultPipeline, "the pipeline file that --split names a stage of")
	_ = c.MarkFlagRequired("record")
	return c
}

func runEval(cmd *cobra.Command, src string, f evalFlags) error {
	if f.limit < 0 {
		return &exitError{exitInvalid, fmt.Errorf("-n: must be 0 (all records) or more, got %d", f.limit)}
	}
	want := exprlang.Want(f.as)
	if err := exprlang.Compile(src, want); err != nil {
		return &exitError{exitInvalid, err}
	}
	opts := exprlang.Options{Input: f.input, Want: want, Limit: f.limit}
	if f.split != "" {
		if f.input != (exprlang.Input{}) {
			return &exitError{exitInvalid, errors.New("--split: the split stage gives the options; drop --kind, --element, --delimiter and --no-header")}
		}
		sp, err := pipelineSplit(f.pipeline, f.split)
		if err != nil {
			return err
		}
		opts.Split = sp
	}
	w := cmd.OutOrStdout()
	var n, failed int
	err := exprlang.Eval(cmd.Context(), src, f.record, opts, func(r exprlang.Result) error {
		n++
		if r.Err != nil {
			failed++
			_, err := fmt.Fprintf(w, "%s: error: %s\n", r.Source, oneLine(r.Err.Error()))
			return err
		}
		_, err := fmt.Fprintf(w, "%s: %s\n", r.Source, exprlang.Format(r.Value))
		return err
	})
	if err != nil {
		code := exitFailed
		if n == 0 && isFlagError(err) {
			code = exitInvalid
		}
		return &exitError{code, err}
	}
	if n == 0 {
		fmt.Fprintf(cmd.ErrOrStderr(), "sluice: %s holds no records\n", f.record)
	}
	if failed > 0 {
		return &exitError{exitFailed, fmt.Errorf("the expression failed on %d of %d records", failed, n)}
	}
	return nil
}

// isFlagError reports whether err is about the command line (a flag).
func isFlagError(err error) bool {
	s := err.Error()
	return strings.HasPrefix(s, "--") || strings.HasPrefix(s, "split options:")
}

// oneLine keeps a multi-line message on the record's line.
func oneLine(s string) string { return strings.ReplaceAll(s, "\n", " ") }

// pipelineSplit returns the split stage named name in the pipeline file.
func pipelineSplit(path, name string) (*split.Stage, error) {
	g, err := load(path)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, n := range g.Nodes {
		if n.Name == name {
			sp, ok := n.Stage.(*split.Stage)
			if !ok {
				return nil, &exitError{exitInvalid, fmt.Errorf("--split: stage %q of %s is a %s stage, not a split", name, path, n.Kind)}
			}
			return sp, nil
		}
		if _, ok := n.Stage.(*split.Stage); ok {
			names = append(names, n.Name)
		}
	}
	return nil, &exitError{exitInvalid, fmt.Errorf("--split: no stage %q in %s (split stages: %s)", name, path, strings.Join(names, ", "))}
}
