package main

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/sluicehq/sluice"
)

// completeWords offers a fixed set of words for a flag's value.
func completeWords(words ...string) cobra.CompletionFunc {
	return cobra.FixedCompletions(words, cobra.ShellCompDirectiveNoFileComp)
}

// completePipeline offers YAML files for a command's one pipeline argument.
func completePipeline(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return []string{"yaml", "yml"}, cobra.ShellCompDirectiveFilterFileExt
}

// completeStage offers the stage kinds and the templates on SLUICE_PATH
// (what `sluice stages NAME` can show), each with its summary.
func completeStage(_ *cobra.Command, args []string, prefix string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	eng := sluice.New()
	var out []string
	add := func(name, desc string) {
		if strings.HasPrefix(name, prefix) {
			out = append(out, cobra.CompletionWithDesc(name, desc))
		}
	}
	for _, k := range eng.Kinds() {
		add(k.Name, k.Summary)
	}
	templates, _ := eng.Templates() // the templates that load; stages reports the rest
	for _, t := range templates {
		add(t.Name, firstLine(t.Doc))
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// addCompletions teaches shell completion (`sluice completion bash|zsh|fish|
// powershell`) the values of every enumerated flag and what each command's
// argument is. It panics if a command or flag it names is missing, which
// TestCompletion catches.
func addCompletions(root *cobra.Command) {
	sub := func(name string) *cobra.Command {
		c, _, err := root.Find([]string{name})
		if err != nil || c == root {
			panic("completion: no command " + name)
		}
		return c
	}
	flag := func(c *cobra.Command, name string, f cobra.CompletionFunc) {
		if err := c.RegisterFlagCompletionFunc(name, f); err != nil {
			panic("completion: " + err.Error())
		}
	}
	for _, name := range []string{"run", "validate", "graph"} {
		sub(name).ValidArgsFunction = completePipeline
	}
	sub("stages").ValidArgsFunction = completeStage
	run := sub("run")
	flag(run, "log-level", completeWords("debug", "info", "warn", "error"))
	flag(run, "log-format", completeWords("text", "json"))
	flag(run, "progress", completeWords(progressAuto, "tty", "plain", "none"))
	flag(run, "summary", completeWords(summaryAuto, "text", "json", "none"))
	flag(run, "report", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return []string{"json"}, cobra.ShellCompDirectiveFilterFileExt
	})
	flag(sub("graph"), "format", completeWords("dot", "mermaid", "svg", "png"))
	eval := sub("eval")
	eval.ValidArgsFunction = cobra.NoFileCompletions
	flag(eval, "kind", completeWords("xml", "csv", "lines", "jsonl"))
	flag(eval, "as", completeWords("any", "bool", "string"))
	flag(eval, "record", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return nil, cobra.ShellCompDirectiveDefault
	})
	flag(eval, "pipeline", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return []string{"yaml", "yml"}, cobra.ShellCompDirectiveFilterFileExt
	})
	tap := sub("tap")
	tap.ValidArgsFunction = completeTap
	flag(tap, "format", completeWords("text", "json"))
}

// completeTap offers the stage names of the pipeline (the one named on the
// line, else ./pipeline.yaml) for tap's first argument, and YAML files for
// its second.
func completeTap(_ *cobra.Command, args []string, prefix string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return completePipeline(nil, args[1:], prefix)
	}
	cfg, err := newLoader().ParseFile(defaultPipeline)
	if cfg == nil || err != nil && len(cfg.Stages) == 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []string
	for _, name := range cfg.StageNames() {
		if strings.HasPrefix(name, prefix) {
			out = append(out, name)
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}
