package stage

import (
	"context"
	"errors"
	"log/slog"
)

// Stage is what a stage kind builds from its options: a value that tells the
// planner what it accepts and emits, and that implements exactly one of the
// execution interfaces Source, Processor, BatchProcessor or Aggregator.
//
// A stage never starts goroutines and never closes channels: the runner owns
// both. Building a stage must not touch the outside world (open files, start
// processes): that belongs in Setup, so that `sluice validate` stays pure.
//
// The contract maps onto Apache Beam on purpose: a Processor is a DoFn's
// ProcessElement, Setup/Teardown are the DoFn's, an Aggregator is a CombineFn
// (create/add/merge/extract), a Committer is a sink that is safe to retry.
//
// # Lifetime of records and batches
//
// The runner recycles batches: once every consumer of a batch has finished
// with it, its []Record backing array is cleared and carries a later batch.
// So the *Record given to Process, Accumulator.Add and Emitter.Reject, and
// the records slice given to ProcessBatch (with the address of any of its
// elements), are valid only until that call returns. A stage must not keep
// them (in a field, a map, a closure or a goroutine that outlives the call);
// to keep a record it copies the Record value (kept := *r, or
// append(mine, records...)). What a Record refers to is never recycled:
// Data, Fields, Header, Labels and the strings stay valid and unchanged
// for as long as anything refers to them, so a copy may share them (they
// are read-only; see Record). A stage that starts goroutines inside
// ProcessBatch must be done with records before it returns, also when it
// returns an error.
//
// The same holds in the other direction: Emit and Reject copy the Record
// value they are given before returning, so a stage may pass the address
// of a variable it reuses for its next record.
type Stage interface {
	Signature() Signature
}

// Signature describes a stage to the planner.
type Signature struct {
	// In is the set of record kinds the stage accepts; None for a source.
	In Type
	// Out is the set of kinds it emits; None for a pure sink.
	Out Type
	// Passthrough means the stage emits the kinds it receives (Out is then
	// ignored and taken as the union of its inputs' kinds).
	Passthrough bool
	// Terminal means the stage is useful when nothing consumes its output
	// (a sink such as write or count). A non-terminal stage whose output
	// nobody consumes is a planning error.
	Terminal bool
	// MaxWorkers caps the stage's workers; 0 means no cap. A stage that owns
	// a resource through one goroutine (the writer owns its files) sets 1.
	MaxWorkers int
}

// Emitter receives what a stage produces. Emit copies the record into the
// current output batch; the runner sends full batches downstream, blocking
// while consumers are behind (backpressure). Emit returns an error only when
// the run is being cancelled; the stage should then return it.
//
// Reject reports that one input record could not be processed. The runner
// applies the stage's on_error policy: it returns nil after skipping or
// dead-lettering the record, or an error (to be returned by the stage) when
// the policy is fail.
//
// Both copy the Record value (not what its slices and map refer to) before
// returning, so r may be reused by the caller at once. An Emitter belongs to
// one call of Process, ProcessBatch, Read or Finish and must not be kept
// after it returns.
type Emitter interface {
	Emit(r *Record) error
	Reject(r *Record, err error) error
}

// Source produces records from outside the pipeline. Read is called once,
// from one goroutine, and returns when the input is exhausted, on error, or
// when ctx is cancelled.
type Source interface {
	Stage
	Read(ctx context.Context, out Emitter) error
}

// Processor handles one record at a time. Process is called concurrently
// from the stage's workers and must be safe for that; state that is not
// read-only belongs in an Aggregator. An error returned by Process is about
// that record and is handled by the stage's on_error policy, unless it is
// wrapped with Fatal. r points into a batch that the runner reuses once
// every consumer is done with it: r is valid only during the call, and a
// stage that keeps the record keeps a copy of the value (*r), never r (see
// "Lifetime of records and batches" on Stage).
type Processor interface {
	Stage
	Process(ctx context.Context, r *Record, out Emitter) error
}

// BatchProcessor handles a whole batch per call, for stages whose cost is per
// call rather than per record (a plugin round trip). Per-record failures are
// reported with out.Reject; a returned error fails the run. records is
// reused by the runner once the call returns, whatever it returned: nothing
// may refer to the slice or to its elements after that, goroutines started
// by the call included; copy the Record values that must be kept (see
// "Lifetime of records and batches" on Stage).
type BatchProcessor interface {
	Stage
	ProcessBatch(ctx context.Context, records []Record, out Emitter) error
}

// Aggregator is a stage whose state is a mergeable accumulator, so that
// workers never share it: each worker adds records to its own accumulator,
// and when the input is exhausted the runner merges them and calls Finish
// once with the result.
type Aggregator interface {
	Stage
	// NewAccumulator returns an empty accumulator for one worker.
	NewAccumulator() Accumulator
	// Finish receives the merged accumulator once the input is exhausted; it
	// may emit records and prepare outputs (to be made final by Commit).
	Finish(ctx context.Context, acc Accumulator, out Emitter) error
}

// Accumulator is one worker's share of an Aggregator's state. Add is called
// from one goroutine at a time; an error is about that record and goes to
// the on_error policy (unless wrapped with Fatal). r is valid only during
// the call: an accumulator that keeps records keeps copies of the values
// (*r), never r. Merge folds other (an accumulator of the same stage) into
// the receiver; other is not used afterwards, so the receiver may keep it
// and do the work later (count merges its workers' counts as it writes
// them).
type Accumulator interface {
	Add(ctx context.Context, r *Record) error
	Merge(other Accumulator) error
}

// Setupper is implemented by stages that acquire resources before the run
// (open files, start plugin processes). Setup is called once, before any
// record flows; if any stage's Setup fails the run does not start.
type Setupper interface {
	Setup(ctx context.Context, env Env) error
}

// Finisher is implemented by Processor and BatchProcessor stages that have
// something to do once their input is exhausted (flush buffers, emit
// trailing records). It is called once, after every worker has returned.
type Finisher interface {
	Finish(ctx context.Context, out Emitter) error
}

// Committer is implemented by stages that write outputs. A stage writes
// its outputs under temporary names (staged, beside their final names, on
// the same filesystem). When every stage has finished without error the
// runner calls Prepare on each and commits all their plans at once:
// either every output of the run becomes final, or none does and the
// files they would have replaced are as they were, even if the process is
// killed during the commit (a journal lets the next run finish or undo
// it; see Recover). Committed is then called after a commit that made the
// outputs final; an error from it (a copy of the outputs to standard
// output that failed) fails the run, though its files stay final; Abort after a failed or cancelled run or a commit that
// was undone, and must remove what the stage staged. Prepare must not
// make anything final. Each method is called at most once.
type Committer interface {
	Prepare(ctx context.Context) (CommitPlan, error)
	Committed() error
	Abort()
}

// Teardowner is implemented by stages holding resources acquired in Setup.
// Teardown is called once at the end of every run whose Setup succeeded,
// whatever the outcome.
type Teardowner interface {
	Teardown(ctx context.Context) error
}

// Outputter is implemented by stages that write files, so the run summary
// can say where outputs went. It is called after Committed.
type Outputter interface {
	Outputs() []Output
}

// Output describes one file a stage wrote.
type Output struct {
	Path    string `json:"path"`
	Records int64  `json:"records"` // rows written: records, or a count output's rows
	Bytes   int64  `json:"bytes"`
	Note    string `json:"note,omitempty"` // e.g. why a category was given another file name
}

// Sizer is implemented by sources that know the total input size up front.
// TotalBytes is called after Setup.
type Sizer interface {
	TotalBytes() int64
}

// Env is what the runner gives a stage at Setup.
type Env struct {
	// Stage is the stage's name in the pipeline.
	Stage string
	// Workers is the number of workers the stage will run with.
	Workers int
	// Log is the stage's logger (already carrying the stage name).
	Log *slog.Logger
	// Counters lets a stage report the input bytes it consumes; it is safe
	// for concurrent use.
	Counters *Counters
	// Warnings takes what the stage must tell the user that is not an
	// error (a file that gave no records): it goes to the log, the run
	// summary and the report. It is safe for concurrent use; nil in a
	// zero Env, where Warn does nothing.
	Warnings *Warnings
}

// fatalError marks an error that fails the run whatever the on_error policy.
type fatalError struct{ err error }

func (e fatalError) Error() string { return e.err.Error() }
func (e fatalError) Unwrap() error { return e.err }

// Fatal wraps err so that it fails the run even under on_error skip or
// dead_letter: use it for failures that are not about one record (a full
// disk, a plugin that cannot be restarted). Fatal(nil) is nil.
func Fatal(err error) error {
	if err == nil {
		return nil
	}
	return fatalError{err}
}

// IsFatal reports whether err was marked with Fatal.
func IsFatal(err error) bool {
	var f fatalError
	return errors.As(err, &f)
}
