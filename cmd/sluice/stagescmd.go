package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/sluicehq/sluice/core"
	"github.com/sluicehq/sluice/stages"
)

func stagesCmd() *cobra.Command {
	var markdown bool
	c := &cobra.Command{
		Use:   "stages [kind]",
		Short: "List stage kinds, or show one kind's options, defaults and sample",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			reg := stages.Registry()
			w := cmd.OutOrStdout()
			if markdown {
				markdownReference(w, reg)
				return nil
			}
			if len(args) == 0 {
				tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
				for _, k := range reg.Kinds() {
					fmt.Fprintf(tw, "%s\t%s\n", k.Name, k.Summary)
				}
				tw.Flush()
				fmt.Fprintln(w, "\nsluice stages KIND shows a kind's options and a sample pipeline.")
				return nil
			}
			k, ok := reg.Lookup(args[0])
			if !ok {
				var names []string
				for _, k := range reg.Kinds() {
					names = append(names, k.Name)
				}
				return &exitError{exitInvalid, fmt.Errorf("unknown stage kind %q (known kinds: %s)", args[0], strings.Join(names, ", "))}
			}
			describeKind(w, k)
			return nil
		},
	}
	c.Flags().BoolVar(&markdown, "markdown", false, "print every kind's options as the Markdown reference the README holds")
	return c
}

// describeKind prints a kind as `sluice stages KIND` shows it.
func describeKind(w io.Writer, k core.Kind) {
	fmt.Fprintf(w, "%s — %s\n\noptions (under with:):\n", k.Name, k.Summary)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  option\ttype\tdefault\tdescription")
	for _, o := range core.DescribeOptions(k) {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", o.Path, o.Type, o.Default, o.Doc)
	}
	tw.Flush()
	if len(k.Sample) > 0 {
		fmt.Fprintf(w, "\nsample:\n%s", indentBlock(string(k.Sample), "  "))
	}
}

func indentBlock(s, prefix string) string {
	lines := strings.SplitAfter(s, "\n")
	for i, l := range lines {
		if l != "" && l != "\n" {
			lines[i] = prefix + l
		}
	}
	return strings.Join(lines, "")
}

// markdownReference renders every kind's options as the README's stage
// reference; a test keeps the README equal to it.
func markdownReference(w io.Writer, reg *core.Registry) {
	keyTable := func(docs []core.KeyDoc) {
		fmt.Fprintln(w, "| key | type | default | description |")
		fmt.Fprintln(w, "|---|---|---|---|")
		for _, d := range docs {
			def := d.Default
			if def != "" {
				def = "`" + def + "`"
			}
			fmt.Fprintf(w, "| `%s` | %s | %s | %s |\n", d.Key, d.Type, def, d.Doc)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprint(w, "### Pipeline file\n\nTop-level keys:\n\n")
	keyTable(core.PipelineKeys())
	fmt.Fprint(w, "Keys of each stage:\n\n")
	keyTable(core.StageKeys())
	fmt.Fprint(w, "Scalar values may use environment variables: `${NAME}`, `${NAME:-default}` (used when NAME is unset or empty); `$${` stands for a literal `${`. An unset variable without a default is an error. Paths in `with:` are relative to the working directory; paths in `include:` and `use:` are relative to the file that names them.\n\n")
	for _, k := range reg.Kinds() {
		fmt.Fprintf(w, "### `%s`\n\n%s\n\n", k.Name, k.Summary)
		fmt.Fprintln(w, "| option | type | default | description |")
		fmt.Fprintln(w, "|---|---|---|---|")
		for _, o := range core.DescribeOptions(k) {
			def := o.Default
			if def != "" {
				def = "`" + def + "`"
			}
			fmt.Fprintf(w, "| `%s` | %s | %s | %s |\n", o.Path, o.Type, def, strings.ReplaceAll(o.Doc, "|", `\|`))
		}
		fmt.Fprintln(w)
	}
}
