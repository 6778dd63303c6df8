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
	return &cobra.Command{
		Use:   "stages [kind]",
		Short: "List stage kinds, or show one kind's options, defaults and sample",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			reg := stages.Registry()
			w := cmd.OutOrStdout()
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
