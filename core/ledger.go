package core

import "sync/atomic"

// Counters are one stage's ledger entries, updated by the runner (and, for
// BytesIn, by the stage) with atomic adds, once per batch rather than per
// record. They are safe for concurrent use.
type Counters struct {
	In           atomic.Int64 // records received
	Out          atomic.Int64 // records emitted
	Processed    atomic.Int64 // records handled without error
	Skipped      atomic.Int64 // records rejected under on_error: skip
	DeadLettered atomic.Int64 // records rejected under on_error: dead_letter
	Errored      atomic.Int64 // records whose own error failed the run
	Cancelled    atomic.Int64 // records received but not finished because another record's (or a stage's) error failed the run
	Dropped      atomic.Int64 // records received but not finished because the run was interrupted (a signal, a cancelled context)
	BytesIn      atomic.Int64 // input bytes consumed (sources and splitters), on disk: compressed bytes for compressed files
}
