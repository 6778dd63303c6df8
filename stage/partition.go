package stage

import (
	"context"
)

// Partitioner is an optional capability of a Processor whose input records
// can be cut into parts that the stage's workers process at once: split
// cuts one uncompressed file into byte ranges, so that a single file uses
// every worker.
//
// Partition is called once per input record, on the goroutine that feeds
// the stage's workers, so it must be cheap (a stat, not a read). It returns
// at least one part, or an error that is the record's (handled by the
// stage's on_error policy). The runner then runs each part as one task on
// the stage's workers and starts them in order: part i is taken up by a
// worker before part i+1 is handed out, so a part may wait for an earlier
// part of the same record (selecting on ctx.Done()) without deadlock. Under
// ordered: true the parts' outputs are sent in part order.
//
// In the ledger the record counts once: as processed when every part has
// returned nil, or as failed with the first error a part returns (a part
// that sees an earlier part fail returns nil, so that the error in input
// order is the one reported). The parts must not keep r: Partition copies
// what they need.
type Partitioner interface {
	Processor
	Partition(ctx context.Context, r *Record) ([]Part, error)
}

// Part is one piece of a partitioned record's work. It emits through out as
// Process does; an error is the whole record's. A part that waits for
// another (for its handoff) waits inside Idle, so that the stage's busy
// time, which the progress display and the bottleneck marker read, counts
// its work and not its waiting.
type Part func(ctx context.Context, out Emitter) error

// Idle runs wait, a wait for something another part does, and tells the
// runner that out's part was idle meanwhile. With an Emitter that is not
// the runner's it just runs wait.
func Idle(out Emitter, wait func()) {
	if i, ok := out.(interface{ Idle(wait func()) }); ok {
		i.Idle(wait)
		return
	}
	wait()
}
