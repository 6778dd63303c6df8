package core

import (
	"context"
	"sync/atomic"
	"time"
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

// work is one task for a stage's workers: a batch of input records, or one
// part of a partitioned record.
type work struct {
	batch *Batch
	part  Part
	group *partGroup
}

// partGroup is the runner's state for the parts of one partitioned record.
type partGroup struct {
	rec    Record // the input record, copied, for Reject and the ledger
	left   atomic.Int32
	failed atomic.Bool
}

// works receives the stage's input batches and passes each to yield as
// work: whole, or, for a Partitioner, as the parts of its records. It
// returns false when yield did, and true at the end of input.
func (sr *stageRun) works(ctx context.Context, yield func(work) bool) bool {
	pt, _ := sr.node.Stage.(Partitioner)
	for {
		b, ok := sr.receive(ctx)
		if !ok {
			return true
		}
		if pt == nil {
			if !yield(work{batch: b}) {
				return false
			}
			continue
		}
		if !sr.partition(ctx, pt, b, yield) {
			return false
		}
	}
}

// partition hands out the parts of every record of b. A record whose
// Partition fails is rejected through the error policy; if the policy
// fails the run, the error goes to yield as a part that returns it.
func (sr *stageRun) partition(ctx context.Context, pt Partitioner, b *Batch, yield func(work) bool) bool {
	sr.noteFile(b)
	recs := b.Records
	for i := range recs {
		sr.c.In.Add(1)
		g := &partGroup{rec: recs[i]}
		parts, err := pt.Partition(ctx, &g.rec)
		if err == nil && len(parts) == 0 {
			parts = []Part{func(context.Context, Emitter) error { return nil }}
		}
		if err != nil {
			parts = []Part{func(context.Context, Emitter) error { return err }}
		}
		g.left.Store(int32(len(parts)))
		for _, p := range parts {
			if !yield(work{part: p, group: g}) {
				b.release()
				return false
			}
		}
	}
	b.release()
	return true
}

// runPart runs one part and keeps the ledger of its record: busy time per
// part, and the record counted once, when its last part returns or when
// the first one fails. What a part rejects (a malformed CSV row) is a
// record the stage made, not one it received: it is counted as skipped,
// dead-lettered or errored, and as Made-rejected, so that the ledger adds
// up.
func (sr *stageRun) runPart(ctx context.Context, w work, em *emitter) error {
	g := w.group
	start := time.Now()
	em.idle = 0
	em.rejected = 0
	err := w.part(ctx, em)
	sr.c.MadeRejected.Add(em.rejected)
	d := time.Since(start) - em.idle
	sr.busy.Add(int64(d))
	sr.lat.observe(d)
	if err != nil {
		// The failure is recorded before the count goes down, so that the
		// part that brings it to zero sees it.
		first := g.failed.CompareAndSwap(false, true)
		g.left.Add(-1)
		if !first {
			return nil
		}
		if ctx.Err() != nil {
			sr.stopped(1)
			return ctx.Err()
		}
		em.rejected = 0
		return em.Reject(&g.rec, err)
	}
	if g.left.Add(-1) == 0 && !g.failed.Load() {
		sr.c.Processed.Add(1)
	}
	return nil
}
