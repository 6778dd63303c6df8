// Package pipeline is Sluice's pipeline language: it parses a pipeline
// file (YAML) with the files it includes and the templates it uses into a
// Config, and plans a Config into a Graph of stages built from the kinds
// of a stage.Registry. Package engine runs the Graph.
//
// The two steps are kept apart, as text/template keeps parse apart from
// execute:
//
//	cfg, err := pipeline.Parse("pipeline.yaml", src)  // YAML → Config, positions kept (or a Loader)
//	g, err := pipeline.Plan(cfg, registry)            // kinds, options, edges, types, cycles
//	rep, err := engine.Run(ctx, g, engine.RunOptions{})
//
// LoadWith and LoadFile do both steps with a Loader, reporting the
// problems of both at once.
//
// Parse and Plan report every problem at once, each as
// "file:line:col: stage "x": message" with a "did you mean" where one
// helps (see ErrorList). Plan is pure: building a stage must not touch the
// outside world, so `sluice validate` is safe to run anywhere; the one
// look at the filesystem it adds is Graph.CheckInputs, a stat of each path
// a stage reads (InputPather), which it skips with --no-path-check.
//
// # Includes and templates
//
// A Loader reads a pipeline with the files it names: `include:` merges
// other files' stages, and a stage whose `use:` names a Template (a file
// of stages with typed parameters) is replaced by the template's stages,
// its parameters bound to the stage's `with:`. The parser records where
// every YAML node came from (which file, through which template uses), so
// an error inside a template is reported where the pipeline uses it, with
// the template's position in Error.Trace. Config can also be edited in Go
// between Parse and Plan (AddStage, SetOptions, RemoveStages, OutputDir);
// the pipeline test runner, package pipetest, does so.
//
// The keys of a pipeline (PipelineKeys, StageKeys) and each Kind's options
// struct (its yaml, doc and enum tags, its defaults) drive decoding, the
// option reference (DescribeOptions) and the JSON Schema editors use
// (PipelineSchema, schema.go), so the three cannot disagree.
package pipeline
