// Package engine runs a planned pipeline (a pipeline.Graph): it owns
// every goroutine and channel, moves records between stages in recycled
// batches, applies each stage's on_error policy, commits the outputs of a
// run all at once, and reports the run (Report) and its progress (Monitor).
// It knows no particular stage kind and no YAML: stages reach it through
// the interfaces of package stage.
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
package engine
