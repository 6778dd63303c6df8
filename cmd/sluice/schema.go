package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/pipeline"
	"github.com/sluicehq/sluice/stages"
)

func schemaCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema of pipeline files, for editors",
		Long: `Print the JSON Schema (draft 2020-12) of pipeline files, included files
and templates: every key, every stage kind's options with their types,
defaults and descriptions, and the parameters of the templates found on
SLUICE_PATH. With SLUICE_PATH unset it prints docs/pipeline.schema.json.

An editor with the YAML language server (VS Code's YAML extension, and
others) completes and checks a pipeline that starts with
  # yaml-language-server: $schema=path/to/pipeline.schema.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			eng := sluice.New()
			templates, err := eng.Templates()
			if err != nil {
				fmt.Fprintf(cmd.ErrOrStderr(), "sluice: some templates on %s do not load; the schema leaves them out:\n%s\n", pipeline.SearchPathEnv, indentBlock(err.Error(), "  "))
			}
			_, err = cmd.OutOrStdout().Write(pipeline.PipelineSchema(stages.Registry(), templates))
			return err
		},
	}
}
