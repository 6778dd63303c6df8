// Package core is Sluice's engine: it parses a pipeline file, plans it into
// a graph of stages, and runs the graph on every core. It knows no
// particular stage kind; those live in package stages and are found
// through a Registry.
//
// The three steps are kept apart, as text/template keeps parse apart from
// execute:
//
//	cfg, err := core.Parse("pipeline.yaml", src)  // YAML → Config, positions kept (or a Loader)
//	g, err := core.Plan(cfg, registry)            // kinds, options, edges, types, cycles
//	rep, err := core.Run(ctx, g, core.RunOptions{})
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
//
// # Records and batches
//
// A Record carries its bytes, where it came from (Position) and what stages
// attached (Category, Labels). Records move between stages in batches over
// bounded channels: the channel cost is paid per batch, and a slow stage
// holds back its producers (backpressure), so memory is bounded by
// batch_size × queue × record size per edge, not by the input. Records are
// read-only once emitted, because a fan-out hands the same batch to every
// consumer. Batches are recycled: when the last consumer is done with one,
// its array of records carries a later batch, so a stage must not keep a
// *Record or a records slice past its call (it copies the Record value;
// the bytes a record refers to are never reused). See Stage.
//
// # Stages
//
// A stage implements one execution interface: Source (produces records),
// Processor (one record at a time, called concurrently by the stage's
// workers), BatchProcessor (a batch per call, for per-call costs such as a
// plugin round trip) or Aggregator (mergeable per-worker accumulators, so
// workers never share state and no lock is on the hot path). Optional
// capabilities are found by type assertion: Setupper, Finisher, Committer,
// Teardowner, Outputter, Sizer, StatsReporter, and Partitioner, with which a
// Processor cuts one input record into parts that the stage's workers run
// at once (split cuts a file into byte ranges, so one file uses every
// worker; the record still counts once in the ledger). The contract is
// shaped like Apache Beam's (DoFn with Setup/Teardown, CombineFn, sinks
// safe to retry, a Partitioner's parts a splittable DoFn's restrictions)
// so that a pipeline can later be mapped onto a distributed runner.
//
// # Running
//
// The runner owns every goroutine and channel: stages never start
// goroutines and never close channels. Each stage runs on a conc pool of its
// workers; with `ordered: true` each input batch's output goes into a
// bounded queue of its own and a sequencer forwards the queues in input
// order, so order is kept while a batch whose turn has not come waits
// (memory stays bounded even when one task emits a whole file). The first error under `on_error: fail` cancels everything and is
// reported with the stage and the record's position; `skip` counts and logs
// the record; `dead_letter` writes it with the reason to a JSON-lines file.
// A panic in a stage becomes an error naming the stage (the stack goes to
// the debug log) and the process stays alive. Outputs are written under
// temporary names and committed only when every stage succeeded, so no
// partial output is left under a final name after a failure or a signal.
//
// # Committing
//
// The commit is the runner's, and all or nothing across every stage:
// each Committer hands over its renames (Prepare), the dead-letter files
// join them, and the runner writes a journal (.sluice-commit-<run id>.json,
// in the directory of the first output, written whole and synced), keeps
// each file it replaces (or removes) beside it, renames, syncs the
// directories, records in the journal that the commit is done, and only
// then removes the kept files and the journal. A failed step is undone:
// the previous outputs come back. A process killed during the commit
// leaves the journal; Recover (called by Run before it sets stages up, and
// by `sluice recover`) finishes that commit when every output not yet in
// place still has its staged file and it was not being undone, and undoes
// it otherwise; every step of a recovery looks at the files first, so a
// recovery can itself be stopped and run again. A failed or interrupted
// run keeps its dead letters under <dead_letter>.failed-<run id>.
//
// Every run returns a Report, a ledger per stage (in, out, processed,
// skipped, dead-lettered, errored, dropped) that adds up: Report.Check
// verifies it, and Run fails a run whose ledger does not balance. The
// Report's JSON form is the run report (docs/report.schema.json).
//
// # Watching a run
//
// A Monitor passed in RunOptions lets other goroutines take Snapshots of a
// run while it goes: its phase, the input bytes read of the total known up
// front (Sizer), the file being read, and per stage the ledger so far, how
// many batches wait in its input queue, its batch latency histogram and,
// for stages that implement StatsReporter, their own numbers (a plugin's
// restarts). Observation costs nothing per record: the runner updates its
// counters once per batch whether or not anyone looks, and a snapshot
// only reads them. The sluice command draws its progress display and
// serves its Prometheus metrics from snapshots.
package core
