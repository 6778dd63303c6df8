// The sluice command is a thin layer over package core: each subcommand
// loads the pipeline with core.Load against the built-in registry
// (stages.Registry) and either prints something about the graph or runs it
// with core.Run, turning the result into a summary and an exit code.
package main
