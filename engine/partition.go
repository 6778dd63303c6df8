package engine

import (
	"context"
	"github.com/sluicehq/sluice/stage"
	"sync/atomic"
	"time"
)

// work is one task for a stage's workers: a batch of input records, or one
// part of a partitioned record.
type work struct {
	batch *batch
	part  stage.Part
	group *partGroup
}

// partGroup is the runner's state for the parts of one partitioned record.
type partGroup struct {
	rec    stage.Record // the input record, copied, for Reject and the ledger
	left   atomic.Int32
	failed atomic.Bool
}

// works receives the stage's input batches and passes each to yield as
// work: whole, or, for a Partitioner, as the parts of its records. It
// returns false when yield did, and true at the end of input.
func (sr *stageRun) works(ctx context.Context, yield func(work) bool) bool {
	pt, _ := sr.node.Stage.(stage.Partitioner)
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
func (sr *stageRun) partition(ctx context.Context, pt stage.Partitioner, b *batch, yield func(work) bool) bool {
	sr.noteFile(b)
	recs := b.Records
	for i := range recs {
		sr.c.In.Add(1)
		g := &partGroup{rec: recs[i]}
		parts, err := pt.Partition(ctx, &g.rec)
		if err == nil && len(parts) == 0 {
			parts = []stage.Part{func(context.Context, stage.Emitter) error { return nil }}
		}
		if err != nil {
			parts = []stage.Part{func(context.Context, stage.Emitter) error { return err }}
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
