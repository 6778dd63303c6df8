package stage

import "sync/atomic"

// Counters are one stage's ledger entries, updated by the runner (and, for
// BytesIn, by the stage) with atomic adds, once per batch rather than per
// record. They are safe for concurrent use.
type Counters struct {
	In           atomic.Int64 // records received
	Out          atomic.Int64 // records emitted
	Processed    atomic.Int64 // records handled without error
	Filtered     atomic.Int64 // of Processed, records a filter dropped on purpose (Drop)
	Skipped      atomic.Int64 // records rejected under on_error: skip
	DeadLettered atomic.Int64 // records rejected under on_error: dead_letter
	Errored      atomic.Int64 // records whose own error failed the run
	Cancelled    atomic.Int64 // records received but not finished because another record's (or a stage's) error failed the run
	Dropped      atomic.Int64 // records received but not finished because the run was interrupted (a signal, a cancelled context)
	MadeRejected atomic.Int64 // records the stage made and rejected itself (a splitter's malformed rows), also in Skipped, DeadLettered or Errored
	BytesIn      atomic.Int64 // input bytes consumed (sources and splitters), on disk: compressed bytes for compressed files
}

// Drop tells the runner that r, the record being processed, is
// deliberately not passed on: a filter's decision, not a failure. It is
// counted in the stage's filtered column (a part of processed), never as
// skipped or errored. Calling it is optional (a record that is not emitted
// is simply processed) and costs one atomic add; with an Emitter that is
// not the runner's it does nothing.
func Drop(out Emitter, r *Record) {
	if d, ok := out.(interface{ CountDropped() }); ok {
		d.CountDropped()
	}
}
