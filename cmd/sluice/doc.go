// The sluice command is a thin layer over packages sluice, pipeline and
// engine: each subcommand loads the pipeline with the built-in kinds
// (stages.Registry) and either prints something about the graph or runs it
// with engine.Run, turning the result into a summary and an exit code.
// `sluice schema` prints the pipeline file's JSON Schema
// (core.PipelineSchema; committed as docs/pipeline.schema.json, kept fresh
// by TestSchemaFile).
//
// While a run goes, `sluice run` watches it through a core.Monitor, which
// reads the runner's counters and never touches records: the progress
// display (progress*.go: mpb on a terminal, log lines otherwise), the
// Prometheus metrics server (metrics.go, --metrics-addr) and, at the end,
// the summary (summary.go) and the JSON report (report.go, --report, whose
// schema is docs/report.schema.json). `sluice graph --format svg|png` runs
// Graphviz's dot (graphviz.go).
//
// `sluice expr` and `sluice eval` (exprcmd.go, evalcmd.go) go through
// package stages/exprlang: the generated expression reference, and an
// expression evaluated on the records the split stage cuts from a file.
// `sluice tap` (tapcmd.go) edits the parsed Config, keeping only the
// stages upstream of the tapped one, adds a printing sink, re-roots every
// output in a temporary directory and cancels the run once it has its
// records (or its input ends), so that nothing is ever committed.
package main
