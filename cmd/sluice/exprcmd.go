package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/sluicehq/sluice/stages/exprlang"
)

func exprCmd() *cobra.Command {
	var markdown bool
	c := &cobra.Command{
		Use:   "expr",
		Short: "Show the expression language's reference: variables, functions, examples",
		Long: `Show the reference of the expressions that classify (rules[].when,
rules[].expr, labels), filter (keep, drop) and count (by) evaluate on each
record: every variable and function with its signature, what it does and
examples, by record kind. The reference is generated from the code;
docs/expressions.md holds the same in Markdown (--markdown). Try an
expression with sluice eval, look at a stage's records with sluice tap.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if markdown {
				exprlang.WriteMarkdown(cmd.OutOrStdout())
				return nil
			}
			exprlang.WriteText(cmd.OutOrStdout())
			return nil
		},
	}
	c.Flags().BoolVar(&markdown, "markdown", false, "print the reference as docs/expressions.md holds it")
	return c
}

// expressionsNote lists the expression language under the options of the
// kinds whose options are expressions (sluice stages classify).
func expressionsNote(w io.Writer, kind string) {
	if kind != "classify" && kind != "count" && kind != "filter" {
		return
	}
	fmt.Fprintln(w, "\nexpressions (classify's rules[].when, rules[].expr and labels, filter's keep and drop, count's by):")
	exprlang.WriteSummary(w)
	fmt.Fprintln(w, "\nsluice expr shows examples and pitfalls (docs/expressions.md); sluice eval tries an expression on a file.")
}
