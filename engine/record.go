package engine

import (
	"github.com/sluicehq/sluice/stage"
	"sync/atomic"
)

// Batch is a slice of records moved between stages as one unit, so that
// the cost of a channel operation is paid once per batch, not per record.
// A batch is read-only once sent. Batches come from a pool of the stage
// that fills them: every consumer releases the batch when it has processed
// it, and the last release clears the records and returns the batch to
// the pool, so that its backing array carries a later batch without being
// allocated again.
type batch struct {
	Records []stage.Record

	refs   atomic.Int32 // consumers that have not released it yet
	origin *stageRun    // whose pool it returns to; nil: none
}

// release is called by each consumer of b once it is done with it: the
// last one clears it (so that it keeps no record data alive) and returns
// it to its producer's pool, to carry a later batch.
func (b *batch) release() {
	if b.origin == nil || b.refs.Add(-1) != 0 {
		return
	}
	clear(b.Records)
	b.Records = b.Records[:0]
	b.origin.batches.Put(b)
}
