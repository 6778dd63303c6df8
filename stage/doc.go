// Package stage is the contract between Sluice and a stage kind: what a
// stage author imports, and all they import. It holds records and their
// kinds and positions, the stage shapes and their optional capabilities,
// the Emitter and Env the runner hands a stage, the option types and
// option errors, and Kind and Registry, through which the planner finds a
// kind by name. It knows no YAML and no runner: options reach a stage as
// the typed struct its Kind declares (see Define), decoded by package
// pipeline, and package engine runs stages through these interfaces.
//
// A stage kind lives in a folder of its own under stages/ that imports
// this package and stages/internal/... only (a test in
// docs/architecture_test.go checks it); package stagetest drives one stage
// in tests without a pipeline or a runner.
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
package stage
