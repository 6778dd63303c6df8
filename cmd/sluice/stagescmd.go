package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/pipeline"
	"github.com/sluicehq/sluice/stage"
	"github.com/sluicehq/sluice/stages"
)

func stagesCmd() *cobra.Command {
	var markdown bool
	c := &cobra.Command{
		Use:   "stages [kind|template]",
		Short: "List stage kinds and templates, or show one's options or parameters",
		Long: `List the stage kinds, and the templates found on SLUICE_PATH (directories
separated by ':'), or show one kind's options, defaults and sample, or one
template's parameters. A template can also be named by its file path.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			eng := sluice.New()
			reg := stages.Registry()
			w := cmd.OutOrStdout()
			if markdown {
				markdownReference(w, reg)
				return nil
			}
			templates, terr := eng.Templates()
			if terr != nil {
				fmt.Fprintf(cmd.ErrOrStderr(), "sluice: some templates on %s do not load:\n%s\n", pipeline.SearchPathEnv, indentBlock(terr.Error(), "  "))
			}
			if len(args) == 0 {
				tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
				for _, k := range reg.Kinds() {
					fmt.Fprintf(tw, "%s\t%s\n", k.Name, k.Summary)
				}
				tw.Flush()
				if len(templates) > 0 {
					fmt.Fprintf(w, "\ntemplates (on %s):\n", pipeline.SearchPathEnv)
					tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
					for _, t := range templates {
						var params []string
						for _, p := range t.Params {
							if p.Required {
								params = append(params, p.Name+" ("+p.Type+")")
							} else {
								params = append(params, p.Name+" ("+p.Type+", default "+p.Default+")")
							}
						}
						fmt.Fprintf(tw, "%s\t%s\t%s\n\t  with: %s\n", t.Name, firstLine(t.Doc), t.File, strings.Join(params, ", "))
					}
					tw.Flush()
				}
				fmt.Fprintln(w, "\nsluice stages NAME shows a kind's options and a sample pipeline, or a template's parameters.")
				return nil
			}
			if k, ok := reg.Lookup(args[0]); ok {
				describeKind(w, k)
				expressionsNote(w, k.Name)
				return nil
			}
			for _, t := range templates {
				if t.Name == args[0] || t.File == args[0] {
					describeTemplate(w, t)
					return nil
				}
			}
			if strings.ContainsRune(args[0], '/') || strings.HasSuffix(args[0], ".yaml") {
				t, err := newLoader().ReadTemplate(args[0])
				if err != nil {
					return &exitError{exitInvalid, err}
				}
				describeTemplate(w, t)
				return nil
			}
			names := []string{}
			for _, k := range reg.Kinds() {
				names = append(names, k.Name)
			}
			for _, t := range templates {
				names = append(names, t.Name)
			}
			return &exitError{exitInvalid, fmt.Errorf("unknown stage kind or template %q (known: %s)", args[0], strings.Join(names, ", "))}
		},
	}
	c.Flags().BoolVar(&markdown, "markdown", false, "print every kind's options as the Markdown reference the README holds")
	return c
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

// describeTemplate prints a template as `sluice stages NAME` shows it.
func describeTemplate(w io.Writer, t *pipeline.Template) {
	fmt.Fprintf(w, "%s — template in %s\n", t.Name, t.File)
	if t.Doc != "" {
		fmt.Fprintf(w, "\n%s", indentBlock(strings.TrimSpace(t.Doc)+"\n", "  "))
	}
	fmt.Fprintln(w, "\nparameters (under with:):")
	if len(t.Params) == 0 {
		fmt.Fprintln(w, "  none")
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if len(t.Params) > 0 {
		fmt.Fprintln(tw, "  parameter\ttype\tdefault\tdescription")
	}
	for _, p := range t.Params {
		def := p.Default
		if p.Required {
			def = "(required)"
		}
		typ := p.Type
		if len(p.Enum) > 0 {
			typ += " (" + strings.Join(p.Enum, "|") + ")"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", p.Name, typ, def, p.Doc)
	}
	tw.Flush()
	input := strings.Join(t.Input, ", ")
	if input == "" {
		input = "none (a use takes no from:)"
	}
	output := t.Output
	if output == "" {
		output = "none (nothing can read from a use)"
	}
	fmt.Fprintf(w, "\nstages: %s\ninput:  %s\noutput: %s\n", strings.Join(t.Stages, ", "), input, output)
}

// describeKind prints a kind as `sluice stages KIND` shows it.
func describeKind(w io.Writer, k stage.Kind) {
	fmt.Fprintf(w, "%s — %s\n\noptions (under with:):\n", k.Name, k.Summary)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  option\ttype\tdefault\tdescription")
	for _, o := range pipeline.DescribeOptions(k) {
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
func markdownReference(w io.Writer, reg *stage.Registry) {
	keyTable := func(docs []pipeline.KeyDoc) {
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
	keyTable(pipeline.PipelineKeys())
	fmt.Fprint(w, "Keys of each stage:\n\n")
	keyTable(pipeline.StageKeys())
	fmt.Fprint(w, "Scalar values may use environment variables: `${NAME}`, `${NAME:-default}` (used when NAME is unset or empty); `$${` stands for a literal `${`. An unset variable without a default is an error. How paths resolve: paths under `with:` (inputs such as `read`'s `path` and a plugin's `source` or `command`, outputs such as `write`'s `dir`) and `dead_letter:` are relative to the working directory, so run a pipeline from the directory its paths are written for; `sluice validate` checks that its input paths exist there (`--no-path-check` skips that, for a pipeline meant for another machine). Paths in `include:` and in `use:` (a `use:` naming a file, such as `./lib/x.yaml`) are relative to the file that names them; a `use:` that is a bare name and no stage kind is a template found as NAME.yaml in the directories of `SLUICE_PATH`; a plugin `command:` that is a bare name is found on `PATH`.\n\n")
	for _, k := range reg.Kinds() {
		fmt.Fprintf(w, "### `%s`\n\n%s\n\n", k.Name, k.Summary)
		fmt.Fprintln(w, "| option | type | default | description |")
		fmt.Fprintln(w, "|---|---|---|---|")
		for _, o := range pipeline.DescribeOptions(k) {
			def := o.Default
			if def != "" {
				def = "`" + def + "`"
			}
			fmt.Fprintf(w, "| `%s` | %s | %s | %s |\n", o.Path, o.Type, def, strings.ReplaceAll(o.Doc, "|", `\|`))
		}
		fmt.Fprintln(w)
	}
}
