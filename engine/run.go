package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicehq/sluice/pipeline"
	"github.com/sluicehq/sluice/stage"
	"github.com/sourcegraph/conc"
	"github.com/sourcegraph/conc/panics"
	"github.com/sourcegraph/conc/pool"
)

// RunOptions configure a run.
type RunOptions struct {
	// Log receives the run's logs; nil discards them.
	Log *slog.Logger
	// TeardownTimeout bounds Teardown calls (stopping plugins), which run
	// even after the run's context is cancelled; default 30s.
	TeardownTimeout time.Duration
	// Monitor, if set, lets other goroutines observe the run while it goes
	// (progress displays, metrics); see Monitor.
	Monitor *Monitor
}

// RecordError is a record that failed a stage under on_error: fail. Its
// text names the stage and where the record came from, once: when the
// cause is itself a RecordError of the stage (a row of the file record
// that failed), or names its own place in the record's file
// ("file:line:col: ..."), that more precise position stands alone.
type RecordError struct {
	Stage  string
	Source stage.Position
	Err    error
}

func (e *RecordError) Error() string {
	var inner *RecordError
	if errors.As(e.Err, &inner) && inner.Stage == e.Stage {
		return inner.Error()
	}
	msg := e.Err.Error()
	if e.Source.File != "" && strings.HasPrefix(msg, e.Source.File+":") {
		return fmt.Sprintf("stage %q: %s", e.Stage, msg)
	}
	return fmt.Sprintf("stage %q: %s: %s", e.Stage, e.Source, msg)
}

func (e *RecordError) Unwrap() error { return e.Err }

// Run runs a planned graph to completion and returns its report, which is
// non-nil even when the run fails.
//
// The runner owns every goroutine and channel. Each stage runs on a conc
// pool of its workers, fed by a bounded channel of batches (the pipeline's
// queue setting), so a slow stage holds back its producers instead of
// letting memory grow. Sources run on one goroutine. With ordered: true a
// stage with several workers emits each input batch's output in input
// order: a batch's output waits in a bounded queue of its own until every
// earlier batch's output has been sent, so its cost is that waiting (a
// worker whose queue is full idles), not memory.
//
// The first error cancels the run (under on_error: fail, a record error is
// such an error). Outputs are committed only when every stage finished
// without error; otherwise they are aborted. The commit is all or nothing
// across every stage: every output of the run becomes final, or the
// previous outputs are left as they were (see Committer). Once the commit
// has begun, cancelling ctx no longer stops the run: the commit is
// finished and the run succeeds (Monitor.Interrupt tells which happened).
// Before setting up stages, Run finishes or undoes any commit that an
// earlier run over the same outputs left unfinished (see Recover); the
// Report lists them. Teardown runs in every case.
func Run(ctx context.Context, g *pipeline.Graph, opt RunOptions) (*Report, error) {
	log := opt.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opt.TeardownTimeout == 0 {
		opt.TeardownTimeout = 30 * time.Second
	}
	r := &runner{g: g, log: log, byNode: map[*pipeline.Node]*stageRun{}, started: time.Now()}
	r.runID = newRunID(r.started)
	r.phase.Store(int32(PhaseSetup))
	rep := &Report{Pipeline: g.Name, File: g.File, Started: r.started, RunID: r.runID}
	for _, n := range g.Nodes {
		sr := &stageRun{r: r, node: n, c: &stage.Counters{}, batchSize: g.BatchSize, log: log.With("stage", n.Name)}
		sr.warn = stage.NewWarnings(sr.log)
		if len(n.Inputs) > 0 {
			sr.in = make(chan *batch, g.Queue)
			sr.producers.Store(int32(len(n.Inputs)))
		}
		if n.OnError == pipeline.OnErrorDeadLetter {
			sr.dl = &deadLetters{path: n.DeadLetter}
		}
		r.stages = append(r.stages, sr)
		r.byNode[n] = sr
	}
	for _, sr := range r.stages {
		for _, o := range sr.node.Outputs {
			sr.outs = append(sr.outs, r.byNode[o])
		}
	}
	opt.Monitor.attach(r)
	err := r.run(ctx, opt)
	rep.Duration = time.Since(rep.Started)
	r.ended.Store(rep.Started.Add(rep.Duration).UnixNano())
	r.fill(rep, err)
	if err == nil {
		err = rep.Check()
	}
	rep.setErr(err)
	r.phase.Store(int32(PhaseDone))
	return rep, err
}

type runner struct {
	g      *pipeline.Graph
	log    *slog.Logger
	stages []*stageRun
	byNode map[*pipeline.Node]*stageRun
	runID  string

	// gate makes the decision to commit and an interruption exclusive: a
	// run is either cancelled before its commit or commits (see
	// Monitor.Interrupt).
	gate      sync.Mutex
	committed bool       // under gate: the commit is over
	recovered []Recovery // earlier runs' commits finished or undone at start

	// For observers (Monitor); none of these is touched per record.
	started    time.Time
	phase      atomic.Int32 // a Phase
	running    atomic.Int64 // unix nanoseconds when records started to flow, 0 before
	ended      atomic.Int64 // unix nanoseconds when Run finished, 0 before
	totalBytes atomic.Int64 // input size from Sizers, known after Setup
	lastFile   atomic.Pointer[string]

	// failing is set, before the run's context is cancelled, when a
	// record's or a stage's error fails the run: records stopped after it
	// are counted as cancelled, not dropped.
	failing atomic.Bool
}

func (r *runner) run(ctx context.Context, opt RunOptions) (err error) {
	var setUp []*stageRun
	defer func() {
		tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), opt.TeardownTimeout)
		defer cancel()
		for i := len(setUp) - 1; i >= 0; i-- {
			if td, ok := setUp[i].node.Stage.(stage.Teardowner); ok {
				if terr := setUp[i].protect(func() error { return td.Teardown(tctx) }); terr != nil {
					err = errors.Join(err, fmt.Errorf("stage %q: teardown: %w", setUp[i].node.Name, terr))
				}
			}
		}
	}()
	if err := r.recoverCommits(); err != nil {
		return err
	}
	for _, sr := range r.stages {
		env := stage.Env{Stage: sr.node.Name, Workers: sr.node.Workers, Log: sr.log, Counters: sr.c, Warnings: sr.warn}
		if su, ok := sr.node.Stage.(stage.Setupper); ok {
			if err := sr.protect(func() error { return su.Setup(ctx, env) }); err != nil {
				r.abort()
				return r.g.SetupError(sr.node, err)
			}
		}
		setUp = append(setUp, sr)
	}
	r.totalBytes.Store(r.inputBytes())
	r.running.Store(time.Now().UnixNano())
	r.phase.Store(int32(PhaseRunning))

	p := pool.New().WithErrors().WithContext(ctx).WithCancelOnError().WithFirstError()
	for _, sr := range r.stages {
		p.Go(func(ctx context.Context) error {
			err := sr.protect(func() error { return sr.run(ctx) })
			if err != nil {
				if ctx.Err() == nil {
					r.failing.Store(true)
				}
				return sr.wrap(err)
			}
			sr.done.Store(true)
			sr.log.Debug("stage finished", "in", sr.c.In.Load(), "out", sr.c.Out.Load(), "busy", time.Duration(sr.busy.Load()))
			for _, o := range sr.outs {
				if o.producers.Add(-1) == 0 {
					close(o.in) // the last producer of o has returned: nobody sends on it again
				}
			}
			return nil
		})
	}
	err = p.Wait()
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	for _, sr := range r.stages {
		if dlErr := sr.dl.close(); dlErr != nil {
			err = errors.Join(err, fmt.Errorf("stage %q: dead letters: %w", sr.node.Name, dlErr))
		}
	}
	if err == nil {
		err = r.checkLedger()
	}
	if err == nil && !r.startCommit(ctx) {
		err = ctx.Err()
	}
	if err != nil {
		err = errors.Join(err, r.abort())
		if ctx.Err() != nil && errors.Is(err, context.Canceled) {
			return fmt.Errorf("%w: no outputs were committed", stage.ErrInterrupted)
		}
		return err
	}
	return r.commit(context.WithoutCancel(ctx))
}

// recoverCommits finishes or undoes the commits that earlier runs over the same
// outputs left unfinished.
func (r *runner) recoverCommits() error {
	recs, err := Recover(r.g)
	for _, rc := range recs {
		r.log.Warn(rc.String())
	}
	r.recovered = recs
	return err
}

// checkLedger checks, before anything is committed, that the ledger adds
// up (see Report.Check).
func (r *runner) checkLedger() error {
	rep := Report{}
	for _, sr := range r.stages {
		rep.Stages = append(rep.Stages, sr.ledger())
	}
	return rep.Check()
}

// startCommit moves the run to its commit phase, unless ctx was cancelled
// first; interrupt cannot come in between.
func (r *runner) startCommit(ctx context.Context) bool {
	r.gate.Lock()
	defer r.gate.Unlock()
	if ctx.Err() != nil {
		return false
	}
	r.phase.Store(int32(PhaseCommitting))
	return true
}

// interrupt calls cancel unless the run is committing; it returns the
// phase the run was in, PhaseDone once the commit is over.
func (r *runner) interrupt(cancel func()) Phase {
	r.gate.Lock()
	defer r.gate.Unlock()
	p := Phase(r.phase.Load())
	if r.committed {
		return PhaseDone // committed; only teardown is left
	}
	if p != PhaseCommitting {
		cancel()
	}
	return p
}

// commit gathers every stage's plan (and the dead letters) and commits
// them as one. A commit that fails is undone and every stage aborted.
func (r *runner) commit(ctx context.Context) error {
	var plans []stage.CommitPlan
	keep := map[string]string{}
	for _, sr := range r.stages {
		if c, ok := sr.node.Stage.(stage.Committer); ok {
			var p stage.CommitPlan
			err := sr.protect(func() (err error) { p, err = c.Prepare(ctx); return err })
			if err != nil {
				return errors.Join(fmt.Errorf("stage %q: commit: %w", sr.node.Name, err), r.abort())
			}
			plans = append(plans, p)
		}
		plans = append(plans, sr.dl.plan(r.runID, keep))
	}
	meta := journal{Run: r.runID, Pipeline: r.g.Name, File: r.g.File, Started: r.started}
	err := commitPlans(meta, plans, keep, journalDirs(r.g))
	var ce *CleanupError
	if err != nil && !errors.As(err, &ce) {
		return errors.Join(err, r.abort())
	}
	if ce != nil {
		r.log.Warn(ce.Error())
	}
	var errs []error
	for _, sr := range r.stages {
		if c, ok := sr.node.Stage.(stage.Committer); ok {
			if err := sr.protect(c.Committed); err != nil {
				errs = append(errs, fmt.Errorf("stage %q: after the commit: %w", sr.node.Name, err))
			}
		}
		sr.dl.settle(r.runID, true)
	}
	r.gate.Lock()
	r.committed = true
	r.gate.Unlock()
	return errors.Join(errs...)
}

// abort aborts every stage and keeps the dead letters of the failed run
// under their failed names.
func (r *runner) abort() error {
	var errs []error
	for _, sr := range r.stages {
		sr.abortStage()
		if err := sr.dl.settle(r.runID, false); err != nil {
			errs = append(errs, fmt.Errorf("stage %q: %w", sr.node.Name, err))
		}
	}
	return errors.Join(errs...)
}

// stageRun is the runner's state for one stage.
type stageRun struct {
	r         *runner
	node      *pipeline.Node
	in        chan *batch // nil for sources; closed by the last producer's task
	producers atomic.Int32
	outs      []*stageRun
	c         *stage.Counters
	dl        *deadLetters // nil unless on_error: dead_letter
	log       *slog.Logger
	batchSize int
	busy      atomic.Int64 // nanoseconds spent in tasks
	batches   sync.Pool    // of *Batch with room for batchSize records
	skipLogs  atomic.Int64
	warn      *stage.Warnings // what the stage warned about (Env.Warnings)

	// For observers, updated once per batch at most.
	lat   latency                // batch latencies
	file  atomic.Pointer[string] // the last File record taken up
	files atomic.Int64           // File records taken up
	done  atomic.Bool            // the stage's task returned without error
}

// stopped counts n records received and not finished because the run is
// stopping: cancelled when an error failed it, dropped when it was
// interrupted.
func (sr *stageRun) stopped(n int64) {
	if sr.r.failing.Load() {
		sr.c.Cancelled.Add(n)
	} else {
		sr.c.Dropped.Add(n)
	}
}

func (sr *stageRun) abortStage() {
	if c, ok := sr.node.Stage.(stage.Committer); ok {
		_ = sr.protect(func() error { c.Abort(); return nil })
	}
}

func (sr *stageRun) wrap(err error) error {
	var re *RecordError
	if errors.As(err, &re) || errors.Is(err, context.Canceled) {
		return err
	}
	return fmt.Errorf("stage %q: %w", sr.node.Name, err)
}

// protect runs f, turning a panic into an error that names the stage; the
// stack goes to the debug log.
func (sr *stageRun) protect(f func() error) (err error) {
	if rec := panics.Try(func() { err = f() }); rec != nil {
		sr.log.Debug("stage panicked", "panic", fmt.Sprint(rec.Value), "stack", string(rec.Stack))
		return fmt.Errorf("stage %q: panic: %v (run with --log-level debug for the stack)", sr.node.Name, rec.Value)
	}
	return err
}

func (sr *stageRun) run(ctx context.Context) error {
	switch st := sr.node.Stage.(type) {
	case stage.Source:
		em := sr.emitter(ctx, nil)
		if err := st.Read(ctx, em); err != nil {
			return err
		}
		return em.flush()
	case stage.Aggregator:
		return sr.runAggregator(ctx, st)
	}
	if sr.node.Ordered && sr.node.Workers > 1 {
		return sr.runOrdered(ctx)
	}
	return sr.runUnordered(ctx)
}

// receive returns the next input batch, or false at the end of input or
// on cancellation.
func (sr *stageRun) receive(ctx context.Context) (*batch, bool) {
	select {
	case b, ok := <-sr.in:
		return b, ok
	case <-ctx.Done():
		return nil, false
	}
}

// dispatch feeds every input batch to task on a conc pool of the stage's
// workers (for a Partitioner, every part of its records), and stops at the
// first error.
func (sr *stageRun) dispatch(ctx context.Context, task func(ctx context.Context, w work) error) error {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	p := pool.New().WithErrors().WithFirstError().WithMaxGoroutines(sr.node.Workers)
	sr.works(sctx, func(w work) bool {
		p.Go(func() error {
			err := sr.protect(func() error { return task(sctx, w) })
			if err != nil {
				cancel()
				return err
			}
			if w.batch != nil {
				w.batch.release()
			}
			return nil
		})
		return true
	})
	if err := p.Wait(); err != nil {
		return err
	}
	return ctx.Err()
}

func (sr *stageRun) runUnordered(ctx context.Context) error {
	err := sr.dispatch(ctx, func(ctx context.Context, w work) error {
		em := sr.emitter(ctx, nil)
		if err := sr.process(ctx, w, em); err != nil {
			return err
		}
		return em.flush()
	})
	if err != nil {
		return err
	}
	return sr.finish(ctx)
}

// runOrdered runs an ordered stage with several workers. Each input batch
// is a task on a conc pool that emits into a queue of its own, bounded like
// a stage's input; one sequencer forwards the queues downstream in the
// order the batches arrived. A task whose turn has not come blocks when its
// queue is full, so memory stays bounded (workers × queue batches) even
// when one task emits a whole 60 GB file's records, which conc's stream
// would have held until the task returned.
func (sr *stageRun) runOrdered(ctx context.Context) error {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type slot struct {
		out chan *batch // the task's output; closed when the task returns
		err error       // the task's error, set before out is closed
	}
	slots := make(chan *slot, sr.node.Workers)
	var seqErr error // owned by the sequencer until seq.Wait returns
	var seq conc.WaitGroup
	seq.Go(func() {
		for s := range slots {
			for b := range s.out {
				if seqErr == nil {
					if seqErr = sr.send(sctx, b); seqErr != nil {
						cancel()
					}
				}
			}
			if seqErr == nil && s.err != nil {
				seqErr = s.err
				cancel()
			}
		}
	})
	p := pool.New().WithMaxGoroutines(sr.node.Workers)
	sr.works(sctx, func(w work) bool {
		s := &slot{out: make(chan *batch, cap(sr.in))}
		select {
		case slots <- s:
		case <-sctx.Done():
			return false
		}
		p.Go(func() {
			em := sr.emitter(sctx, s.out)
			s.err = sr.protect(func() error {
				if err := sr.process(sctx, w, em); err != nil {
					return err
				}
				if w.batch != nil {
					w.batch.release()
				}
				return em.flush()
			})
			close(s.out)
		})
		return true
	})
	p.Wait()
	close(slots)
	seq.Wait()
	if seqErr != nil {
		return seqErr
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return sr.finish(ctx)
}

func (sr *stageRun) finish(ctx context.Context) error {
	f, ok := sr.node.Stage.(stage.Finisher)
	if !ok {
		return nil
	}
	em := sr.emitter(ctx, nil)
	if err := f.Finish(ctx, em); err != nil {
		return err
	}
	return em.flush()
}

func (sr *stageRun) runAggregator(ctx context.Context, st stage.Aggregator) error {
	free := make(chan stage.Accumulator, sr.node.Workers)
	all := make([]stage.Accumulator, sr.node.Workers)
	for i := range all {
		all[i] = st.NewAccumulator()
		free <- all[i]
	}
	err := sr.dispatch(ctx, func(ctx context.Context, w work) error {
		b := w.batch
		acc := <-free // never blocks: at most Workers tasks run at once
		defer func() { free <- acc }()
		em := sr.emitter(ctx, nil)
		return sr.eachRecord(ctx, b, em, func(r *stage.Record) error { return acc.Add(ctx, r) })
	})
	if err != nil {
		return err
	}
	merged := all[0]
	for _, a := range all[1:] {
		if err := merged.Merge(a); err != nil {
			return fmt.Errorf("merge: %w", err)
		}
	}
	em := sr.emitter(ctx, nil)
	if err := st.Finish(ctx, merged, em); err != nil {
		return err
	}
	return em.flush()
}

// process runs one work: a part of a partitioned record, or a batch.
func (sr *stageRun) process(ctx context.Context, w work, em *emitter) error {
	if w.part != nil {
		return sr.runPart(ctx, w, em)
	}
	return sr.processBatch(ctx, w.batch, em)
}

func (sr *stageRun) processBatch(ctx context.Context, b *batch, em *emitter) error {
	switch st := sr.node.Stage.(type) {
	case stage.Processor:
		return sr.eachRecord(ctx, b, em, func(r *stage.Record) error { return st.Process(ctx, r, em) })
	case stage.BatchProcessor:
		start := time.Now()
		sr.noteFile(b)
		n := int64(len(b.Records))
		sr.c.In.Add(n)
		err := st.ProcessBatch(ctx, b.Records, em)
		d := time.Since(start)
		sr.busy.Add(int64(d))
		sr.lat.observe(d)
		if err != nil {
			// The records the stage did not reject did nothing wrong: a
			// rejected one, or the stage itself, failed the run.
			if ctx.Err() == nil {
				sr.r.failing.Store(true)
			}
			sr.stopped(n - em.rejected)
			return err
		}
		sr.c.Processed.Add(n - em.rejected)
		return nil
	}
	return fmt.Errorf("stage kind %s implements no execution interface", sr.node.Kind)
}

// eachRecord applies f to every record of b, sending failures through the
// error policy, and keeps the ledger.
func (sr *stageRun) eachRecord(ctx context.Context, b *batch, em *emitter, f func(r *stage.Record) error) error {
	start := time.Now()
	sr.noteFile(b)
	n := len(b.Records)
	sr.c.In.Add(int64(n))
	em.rejected = 0
	var err error
	done := 0
	for i := range b.Records {
		if i&63 == 0 && ctx.Err() != nil {
			err = ctx.Err()
			break
		}
		done++
		if ferr := f(&b.Records[i]); ferr != nil {
			if err = em.Reject(&b.Records[i], ferr); err != nil {
				break
			}
		}
	}
	sr.stopped(int64(n - done))
	sr.c.Processed.Add(int64(done) - em.rejected)
	d := time.Since(start)
	sr.busy.Add(int64(d))
	sr.lat.observe(d)
	return err
}

func (sr *stageRun) send(ctx context.Context, b *batch) error {
	b.refs.Store(int32(len(sr.outs)))
	for _, o := range sr.outs {
		select {
		case o.in <- b:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// emitter returns an emitter that sends full batches downstream, or into
// to when it is not nil (an ordered stage's per-task queue).
func (sr *stageRun) emitter(ctx context.Context, to chan<- *batch) *emitter {
	return &emitter{sr: sr, ctx: ctx, to: to}
}

// emitter is the runner's Emitter: it fills batches and sends them
// downstream (or into a per-task queue, for ordered stages), and applies the stage's
// error policy to rejected records.
type emitter struct {
	sr       *stageRun
	ctx      context.Context
	b        *batch // the batch being filled, from sr.batches
	buf      []stage.Record
	to       chan<- *batch
	rejected int64         // records rejected in the current batch, for the ledger
	idle     time.Duration // time spent in Idle, not counted as busy
}

var _ stage.Emitter = (*emitter)(nil)

func (e *emitter) Emit(r *stage.Record) error {
	if e.buf == nil {
		if b, ok := e.sr.batches.Get().(*batch); ok {
			e.b = b
		} else {
			e.b = &batch{Records: make([]stage.Record, 0, e.sr.batchSize), origin: e.sr}
		}
		e.buf = e.b.Records
	}
	e.buf = append(e.buf, *r)
	// A File record is a whole file of work for the next stage: send it at
	// once so that files spread over that stage's workers.
	if len(e.buf) == cap(e.buf) || r.Type == stage.File {
		return e.flush()
	}
	return nil
}

func (e *emitter) flush() error {
	if len(e.buf) == 0 {
		return nil
	}
	b := e.b
	b.Records = e.buf
	e.b, e.buf = nil, nil
	e.sr.c.Out.Add(int64(len(b.Records)))
	if e.to != nil {
		select {
		case e.to <- b:
			return nil
		case <-e.ctx.Done():
			return e.ctx.Err()
		}
	}
	return e.sr.send(e.ctx, b)
}

func (e *emitter) Reject(r *stage.Record, cause error) error {
	if err := e.ctx.Err(); err != nil {
		return err // failures while stopping are not the record's fault
	}
	sr := e.sr
	e.rejected++
	if stage.IsFatal(cause) {
		sr.c.Errored.Add(1)
		sr.r.failing.Store(true)
		return cause
	}
	switch sr.node.OnError {
	case pipeline.OnErrorSkip:
		sr.c.Skipped.Add(1)
		if n := sr.skipLogs.Add(1); n <= 10 {
			sr.log.Warn("record skipped", "record", r.Source.String(), "error", cause.Error())
			if n == 10 {
				sr.log.Warn("further skipped records of this stage are counted, not logged")
			}
		}
		return nil
	case pipeline.OnErrorDeadLetter:
		if err := sr.dl.write(sr.node.Name, r, cause); err != nil {
			sr.c.Errored.Add(1)
			return stage.Fatal(fmt.Errorf("write dead letter %s: %w", sr.dl.path, err))
		}
		sr.c.DeadLettered.Add(1)
		return nil
	}
	sr.c.Errored.Add(1)
	sr.r.failing.Store(true)
	return &RecordError{Stage: sr.node.Name, Source: r.Source, Err: cause}
}

// CountDropped counts a record the stage drops on purpose (see Drop).
func (e *emitter) CountDropped() { e.sr.c.Filtered.Add(1) }

// Idle runs wait and counts the time as the part's idle time (see Idle).
func (e *emitter) Idle(wait func()) {
	start := time.Now()
	wait()
	e.idle += time.Since(start)
}
