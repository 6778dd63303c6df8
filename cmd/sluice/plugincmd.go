package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/sluicehq/sluice/pipeline"
	"github.com/sluicehq/sluice/plugins"
)

// pluginCmd is `sluice plugin`, about classifier plugins on their own.
func pluginCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "plugin",
		Short: "Work with classifier plugins: describe one",
	}
	c.AddCommand(pluginDescribeCmd())
	return c
}

func pluginDescribeCmd() *cobra.Command {
	var source string
	var asJSON bool
	c := &cobra.Command{
		Use:   "describe [--source DIR | COMMAND [ARG...]]",
		Short: "Start a plugin only to ask what it is, and print its config reference",
		Long: `Start a classifier plugin once, only to call its Describe (no Init, no
records), and print its name, version, sdk and record kinds, and the keys
its plugin.config takes: type, default and description of each, as the
plugin describes them. Name the plugin as a stage does: its command (an
executable and its arguments, e.g. python3 plugin.py; put -- before
arguments that start with -), or --source for a Go package directory,
which is built as a run builds it. --json prints the config's JSON Schema
as the plugin sent it.`,
		Example: `  sluice plugin describe --source ./examples/go-classifier
  sluice plugin describe -- python3 examples/python-classifier/plugin.py`,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg := plugins.DefaultConfig()
			cfg.Source, cfg.Command = source, args
			if (source == "") == (len(args) == 0) {
				return &exitError{exitInvalid, fmt.Errorf("name the plugin: its command (sluice plugin describe ./my-plugin) or --source DIR, not both")}
			}
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn}))
			d, err := plugins.Describe(cmd.Context(), cfg, log)
			if err != nil {
				return &exitError{exitFailed, err}
			}
			w := cmd.OutOrStdout()
			if asJSON {
				return printSchema(w, d.ConfigSchema)
			}
			return describePlugin(w, d)
		},
	}
	c.Flags().StringVar(&source, "source", "", "the plugin's Go main package directory, built (and cached) as plugin.source is")
	c.Flags().BoolVar(&asJSON, "json", false, "print the JSON Schema of the plugin's config (null when it describes none)")
	return c
}

// printSchema prints a plugin's config schema indented, or null.
func printSchema(w io.Writer, schema string) error {
	if schema == "" {
		_, err := fmt.Fprintln(w, "null")
		return err
	}
	var v any
	if err := json.Unmarshal([]byte(schema), &v); err != nil {
		return &exitError{exitFailed, fmt.Errorf("the plugin's config schema is not JSON: %w", err)}
	}
	b, _ := json.MarshalIndent(v, "", "  ")
	_, err := fmt.Fprintf(w, "%s\n", b)
	return err
}

// describePlugin prints what `sluice plugin describe` shows.
func describePlugin(w io.Writer, d *plugins.Description) error {
	fmt.Fprintf(w, "%s", d.Name)
	if d.Version != "" {
		fmt.Fprintf(w, " %s", d.Version)
	}
	fmt.Fprintf(w, " — sdk %s, accepts %s\n  %s\n\nconfig (under plugin.config:):\n", orNone(d.SDK), d.Accepts, d.Path)
	if d.ConfigSchema == "" {
		fmt.Fprintln(w, "  not described by the plugin: sluice validate cannot check it")
		return nil
	}
	keys, err := plugins.ConfigKeys(d.ConfigSchema)
	if err != nil {
		return &exitError{exitFailed, err}
	}
	if len(keys) == 0 {
		fmt.Fprintln(w, "  none: the plugin takes no config keys")
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  key\ttype\tdefault\tdescription")
	for _, k := range keys {
		def := k.Default
		if k.Required {
			def = "(required)"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", k.Key, orNone(k.Type), def, k.Doc)
	}
	return tw.Flush()
}

func orNone(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// checkPlugins is the part of `sluice validate` that starts plugins: each
// classify stage's plugin.config is checked against the schema its plugin
// describes. Notes (what could not be checked) go to stderr; problems are
// an exitInvalid error.
func checkPlugins(cmd *cobra.Command, path string, g *pipeline.Graph) error {
	notes, err := g.Check(cmd.Context())
	for _, n := range notes {
		fmt.Fprintf(cmd.ErrOrStderr(), "note: %s\n", n)
	}
	if err != nil {
		n := 1
		if el, ok := err.(pipeline.ErrorList); ok {
			n = len(el)
		}
		return &exitError{exitInvalid, fmt.Errorf("%s: %d problem(s) in plugin config:\n%w", path, n, err)}
	}
	return nil
}
