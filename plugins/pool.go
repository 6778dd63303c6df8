package plugins

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/sluicehq/sluice/sdk/protocol"
	stagepkg "github.com/sluicehq/sluice/stage"
)

// Result is the answer for one record.
type Result struct {
	// Category is the plugin's category for the record ("" is a valid
	// answer).
	Category string
	// Labels are the plugin's labels for the record, or nil. They are
	// shared, read-only.
	Labels map[string]string
	// Err, when not nil, means the record was not classified: the plugin
	// rejected it, it was of a kind the plugin does not accept
	// (ErrNotAccepted), or it crashed the plugin (ErrPoisonRecord). It
	// concerns this record alone; the stage's on_error policy handles it.
	Err error
}

// Description is what a plugin says about itself.
type Description struct {
	Name    string        // the plugin's name, used in logs and errors
	Version string        // its own version, free-form
	Accepts stagepkg.Type // the record kinds it classifies
	SDK     string        // what serves it, e.g. "sluice-go-sdk"
	Path    string        // the executable that runs it
	// ConfigSchema is the JSON Schema of its plugin.config, or "" when it
	// does not describe its config (see CheckConfig).
	ConfigSchema string
}

// Pool is the running set of plugin processes ("instances") of one classify
// stage, and the only way the stage talks to them.
//
// Classify is safe for concurrent use by the stage's workers; each call
// spreads its batches over the instances that have room (plugin.in_flight
// batches each) and waits for their answers. A Pool supervises its
// instances:
//
//   - An instance whose stream fails (the process died: the error arrives
//     within milliseconds of a kill -9) is replaced by a new process, with
//     Init called again, and the batches it had in flight are sent again.
//   - A batch whose instance answers nothing for plugin.timeout after the
//     batch was sent has that instance killed and replaced, and is sent
//     again: a hang counts as a crash. (The clock restarts with every
//     answer, so batches queued behind others are not charged for them.)
//   - A crash hits every batch in flight on the instance, so after a
//     failure a batch is sent exclusively: alone on an instance, which
//     takes no other batch until it answers. A batch that fails twice, at
//     least once exclusively, is bisected: its halves are sent one after
//     the other, exclusively, and a half that fails is split again, down to
//     single records. A record that fails twice on its own gets a Result.Err
//     wrapping ErrPoisonRecord; every other record is classified. So a
//     poison record in a batch of n costs about 2 + 2·log2(n) restarts
//     (13 for 1024 records).
//   - A batch of several records that times out is not bisected: its
//     records are sent at once to one instance that takes no other batch,
//     as one-record batches (plugin.in_flight at a time), so only a record
//     that hangs, or is queued behind one, stays unanswered: at the
//     timeout, the first one sent and not answered is poison (see
//     isolateHang). A hanging record so costs 2 timeouts and restarts,
//     each further one in the batch 1 more, rather than 3 + log2(n) each.
//   - Restarts are counted against plugin.max_restarts, except those spent
//     isolating a poison record: once bisection has isolated one among
//     records that the plugin classified fine, the restarts of that search
//     (including the two that started it) are forgiven. Restarts held
//     aside during a search are capped (about log2(n) before any record of
//     the batch has been classified, 2·log2(n)+2 per poison record after),
//     so a plugin that crashes on everything still fails the run quickly.
//     Past the budget, Classify returns an error wrapping
//     ErrTooManyRestarts that names the plugin and the stage and shows the
//     last lines the plugin wrote on stderr.
//
// Every process is started in a process group of its own, with a
// parent-death signal, and stopped by killing its group, so no plugin
// process outlives Close, nor the host being killed.
type Pool struct {
	cfg        Config
	stage      string
	name       string       // the plugin's name until Describe gives one
	base       *slog.Logger // the logger Start was given
	log        *slog.Logger // base tagged with the plugin and stage
	hclog      hclog.Logger
	launch     *launcher
	configJSON []byte
	desc       Description

	ctx      context.Context // the pool's lifetime: ended by Close
	cancel   context.CancelFunc
	restarts sync.WaitGroup // restart goroutines
	seq      atomic.Uint64
	// Batches sent with their records in shared memory and over the
	// socket, logged at Close (see sharedMemory).
	sentShared, sentSocket atomic.Int64
	// peakRSS is the largest peak resident set size of a process of an
	// instance that has exited (see PeakRSS).
	peakRSS atomic.Int64

	mu      sync.Mutex
	insts   []*instance   // by slot; nil while the slot (re)starts
	changed chan struct{} // closed (and replaced) when an instance frees up, starts, or the pool ends
	fatal   error         // set once the pool cannot go on
	closed  bool
	total   int    // restarts so far
	budget  budget // plugin.max_restarts and the restarts counted against it
}

// Start starts cfg.Instances plugin processes for the stage named stage,
// each handshaken, described and initialised, and returns the Pool that
// runs them. A plugin given by Source is built first (see Config). log
// receives the plugins' stderr, one record per line, and the pool's own
// events, tagged with the plugin's name (and the instance for stderr); it
// is expected to carry the stage already, as the logger core gives a stage
// does; nil discards them. ctx bounds the start only; the pool lives
// until Close.
//
// Errors name the plugin and the stage, and say what to do: a missing
// executable, a checksum mismatch (ErrChecksum), a failed handshake
// (ErrHandshake: output on stdout before the handshake, an early exit, a
// timeout), a protocol mismatch (ErrProtocolVersion), or a failed Init
// (ErrInit, followed by the plugin's own message). On error no process is
// left running.
func Start(ctx context.Context, cfg *Config, stage string, log *slog.Logger) (*Pool, error) {
	name := guessName(cfg)
	var described atomic.Pointer[string] // the name the plugin gives itself, once known
	prefix := func(err error) error {
		n := name
		if d := described.Load(); d != nil {
			n = *d
		}
		return fmt.Errorf("plugin %q (stage %q): %w", n, stage, err)
	}
	if err := cfg.Validate(); err != nil {
		return nil, prefix(err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &Pool{
		cfg:     *cfg,
		stage:   stage,
		name:    name,
		base:    log,
		log:     log.With("plugin", name),
		changed: make(chan struct{}),
		budget:  budget{max: cfg.MaxRestarts},
	}
	p.hclog = hclogFor(ctx, p.log)
	p.configJSON, _ = json.Marshal(cfg.Config) // Validate checked it encodes
	if cfg.Config == nil {
		p.configJSON = []byte("{}")
	}
	launch, err := newLauncher(ctx, &p.cfg, p.log)
	if err != nil {
		return nil, prefix(err)
	}
	p.launch = launch
	p.ctx, p.cancel = context.WithCancel(context.WithoutCancel(ctx))
	n := cfg.Instances.Count()
	p.insts = make([]*instance, n)

	errs := make([]error, n)
	started := make([]*instance, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			started[i], errs[i] = p.startInstance(ctx, i, &described)
		})
	}
	wg.Wait()
	if err := firstError(errs); err != nil {
		for _, inst := range started {
			if inst != nil {
				inst.stop(false)
			}
		}
		p.cancel()
		p.restarts.Wait()
		return nil, prefix(err)
	}
	pids := make([]string, n)
	for i, inst := range started {
		pids[i] = inst.pid()
	}
	d := started[0].desc
	p.desc = Description{Name: d.Name, Version: d.Version, Accepts: accepted(d.Accepts), SDK: d.SDK, Path: launch.path}
	if p.desc.Name == "" {
		p.desc.Name = name
	}
	p.log = log.With("plugin", p.desc.Name)
	p.log.Info("plugin started", "version", d.Version, "instances", n, "pids", pids, "path", launch.path)
	for _, inst := range started {
		p.install(inst)
	}
	return p, nil
}

// firstError returns the first error that is not a context error, or else
// the first error.
func firstError(errs []error) error {
	var first error
	for _, err := range errs {
		if err == nil {
			continue
		}
		if !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		if first == nil {
			first = err
		}
	}
	return first
}

func guessName(cfg *Config) string {
	switch {
	case cfg.Source != "":
		abs, err := filepath.Abs(filepath.Join(cfg.Dir, cfg.Source))
		if err == nil {
			return filepath.Base(abs)
		}
		return cfg.Source
	case len(cfg.Command) > 1 && isInterpreter(cfg.Command[0]) && scriptArg(cfg.Command[1:]) != "":
		return filepath.Base(scriptArg(cfg.Command[1:])) // python3 plugin.py: "plugin.py"
	case len(cfg.Command) > 0:
		return filepath.Base(cfg.Command[0])
	}
	return "?"
}

// outputLogger is the logger for the output of the plugin called name in
// slot.
func (p *Pool) outputLogger(name string, slot int) *slog.Logger {
	return p.base.With("plugin", name, "instance", slot)
}

// Description returns what the plugin said about itself in Describe.
func (p *Pool) Description() Description { return p.desc }

// InFlight is the number of batches sent to the pool's instances and not
// answered yet. It is safe for concurrent use.
func (p *Pool) InFlight() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, inst := range p.insts {
		if inst != nil {
			n += inst.inflight
		}
	}
	return n
}

// Restarts returns how many times an instance has been replaced so far,
// whether or not the restart was counted against max_restarts.
func (p *Pool) Restarts() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.total
}

// PeakRSS returns the peak resident set size, in bytes, of the largest
// process of the plugin's (the plugin, a process it started, or the guard
// that runs them; not the go command that built it) among the instances
// stopped so far: each process's own high-water mark (Linux's VmHWM), read
// as its instance is stopped, so after Close it covers every instance
// but those that had crashed (their processes are gone). It is 0 before
// an instance stopped, and outside Linux.
func (p *Pool) PeakRSS() int64 { return p.peakRSS.Load() }

// PIDs returns the process ids of the instances running now, for
// diagnostics; an instance being restarted is left out.
func (p *Pool) PIDs() []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	var pids []int
	for _, inst := range p.insts {
		if inst != nil && inst.proc != nil {
			pids = append(pids, int(inst.proc.pid.Load()))
		}
	}
	return pids
}

// Classify classifies records and returns one Result per record, in order.
// Records are sent in batches of at most plugin.batch_size records and
// plugin.batch_bytes bytes, spread over the instances; the records must not
// change until Classify returns. Records the plugin rejects, does not
// accept, or that crash it get a Result.Err; the others are classified.
//
// An error means the stage cannot go on: ctx was cancelled, the pool was
// closed (ErrClosed), or the plugin failed more often than max_restarts
// allows (ErrTooManyRestarts). It is marked with stagepkg.Fatal.
func (p *Pool) Classify(ctx context.Context, records []stagepkg.Record) ([]Result, error) {
	out := make([]Result, len(records))
	if len(records) == 0 {
		return out, nil
	}
	send, sendOut, index := records, out, []int(nil)
	if p.desc.Accepts&stagepkg.Records != stagepkg.Records {
		for i := range records {
			if records[i].Type&p.desc.Accepts == 0 {
				out[i].Err = fmt.Errorf("plugin %q: %w: it accepts %s, not %s", p.desc.Name, ErrNotAccepted, p.desc.Accepts, records[i].Type)
				continue
			}
			index = append(index, i)
		}
		if len(index) < len(records) {
			send = make([]stagepkg.Record, len(index))
			for j, i := range index {
				send[j] = records[i]
			}
			sendOut = make([]Result, len(index))
		} else {
			index = nil
		}
	}
	if err := p.classify(ctx, send, sendOut); err != nil {
		return nil, stagepkg.Fatal(err)
	}
	for j, i := range index {
		out[i] = sendOut[j]
	}
	return out, nil
}

// classify cuts records into batches and runs them at once.
func (p *Pool) classify(ctx context.Context, records []stagepkg.Record, out []Result) error {
	cuts := p.cut(records)
	if len(cuts) == 1 {
		return p.runBatch(ctx, records, out)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make([]error, len(cuts))
	var wg sync.WaitGroup
	next := 0
	for i, hi := range cuts {
		lo := next
		wg.Go(func() {
			if errs[i] = p.runBatch(ctx, records[lo:hi], out[lo:hi]); errs[i] != nil {
				cancel()
			}
		})
		next = hi
	}
	wg.Wait()
	return firstError(errs)
}

// cut returns the end index of each batch.
func (p *Pool) cut(records []stagepkg.Record) []int {
	var cuts []int
	n, size := 0, int64(0)
	for i := range records {
		r := &records[i]
		s := int64(len(r.Data)) + 16
		for _, f := range r.Fields {
			s += int64(len(f)) + 2
		}
		if n > 0 && (n == p.cfg.BatchSize || size+s > int64(p.cfg.BatchBytes)) {
			cuts = append(cuts, i)
			n, size = 0, 0
		}
		n++
		size += s
	}
	return append(cuts, len(records))
}

// runBatch classifies one batch into out, retrying and bisecting it as
// described on Pool, and then settles the restarts it caused.
func (p *Pool) runBatch(ctx context.Context, records []stagepkg.Record, out []Result) error {
	lin := &lineage{size: len(records)}
	err := p.attempt(ctx, records, out, lin, 0)
	p.settle(lin, err)
	return err
}

// attempt sends records until they are answered, bisecting them after
// failures. depth is 0 for the batch itself and grows with each split.
//
// A crash while other batches share the instance may be theirs, so after
// any failure, and throughout bisection, records are sent exclusively
// (alone on their instance). A batch is bisected, and a single record
// called poison, only when it failed twice with at least one of those
// failures exclusive (a single record split off by bisection: twice
// exclusive), so a bystander of another batch's crash is never blamed.
func (p *Pool) attempt(ctx context.Context, records []stagepkg.Record, out []Result, lin *lineage, depth int) error {
	t := tries{size: len(records), depth: depth}
	for {
		rep, f, err := p.send(ctx, records, lin, t.exclusive())
		if err != nil {
			return err
		}
		if f == nil {
			return p.answered(rep, out, lin, len(records))
		}
		var next action
		switch next, t = afterFailure(t, f.timeout > 0); next {
		case isolate:
			return p.isolateHang(ctx, records, out, lin, depth)
		case poison:
			p.isolatePoison(records[0], &out[0], lin, f)
			return nil
		case bisect:
			return p.bisect(ctx, records, out, lin, depth)
		}
	}
}

// answered fills out with an answer to n records of lin.
func (p *Pool) answered(rep *protocol.Reply, out []Result, lin *lineage, n int) error {
	if err := p.fill(rep, out); err != nil {
		p.setFatal(err)
		return err
	}
	p.mu.Lock()
	if lin.bisecting {
		lin.succeeded += n
	}
	p.mu.Unlock()
	return nil
}

// isolatePoison gives rec, which failed twice on its own (f the last
// time), the poison record's error.
func (p *Pool) isolatePoison(rec stagepkg.Record, out *Result, lin *lineage, f *failure) {
	*out = Result{Err: p.poisonError(f)}
	p.mu.Lock()
	lin.poisons++
	p.mu.Unlock()
	p.log.Warn("plugin isolated a poison record", "record", rec.Source.String(), "failure", f.Error())
}

// bisect attempts each half of records in turn.
func (p *Pool) bisect(ctx context.Context, records []stagepkg.Record, out []Result, lin *lineage, depth int) error {
	p.mu.Lock()
	lin.bisecting = true
	p.mu.Unlock()
	mid := len(records) / 2
	if err := p.attempt(ctx, records[:mid], out[:mid], lin, depth+1); err != nil {
		return err
	}
	return p.attempt(ctx, records[mid:], out[mid:], lin, depth+1)
}

// isolateHang classifies the records of a batch that timed out and finds
// the ones that hang, instead of bisecting: it sends them to one instance
// that takes no other batch, as one-record batches in order, at most
// plugin.in_flight at a time (fanOut). A plugin that answers batches in
// order (the Python sdk, and the Go sdk unless Plugin.Concurrency is above
// 1) answers those before a hanging record and holds those queued behind
// it; one that answers concurrently answers all but the hanging ones. So
// when the instance times out, the first record sent and not answered has
// hung, for the second time (its batch timed out before): it is poison. The
// other records not answered are sent again to the replacement. A hanging
// record so costs 2 timeouts, the batch's and its own, and each further one
// in the batch one more. (A plugin that answers concurrently but serialises
// records among itself in another order than they arrived could see a
// record waiting on a later hanging one blamed; the sdks do not.) A crash
// during the fan-out could be any record in flight: the records not
// answered are bisected then (see attempt).
func (p *Pool) isolateHang(ctx context.Context, records []stagepkg.Record, out []Result, lin *lineage, depth int) error {
	p.mu.Lock()
	lin.bisecting = true
	p.mu.Unlock()
	todo := make([]int, len(records))
	for i := range todo {
		todo[i] = i
	}
	for len(todo) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		waiting, unsent, f, err := p.fanOut(ctx, records, out, todo, lin)
		if err != nil {
			return err
		}
		next := afterFanOut(waiting, unsent, f != nil, f != nil && f.timeout > 0)
		if next.bisect != nil {
			return p.attemptSome(ctx, records, out, next.bisect, lin, depth+1)
		}
		if next.poison >= 0 {
			p.isolatePoison(records[next.poison], &out[next.poison], lin, f)
		}
		todo = next.todo
	}
	return nil
}

// attemptSome runs attempt on the records at idx, gathered into a batch.
func (p *Pool) attemptSome(ctx context.Context, records []stagepkg.Record, out []Result, idx []int, lin *lineage, depth int) error {
	sub, subOut := make([]stagepkg.Record, len(idx)), make([]Result, len(idx))
	for j, i := range idx {
		sub[j] = records[i]
	}
	err := p.attempt(ctx, sub, subOut, lin, depth)
	for j, i := range idx {
		out[i] = subOut[j]
	}
	return err
}

// fanOut sends the records at idx, in that order, as one-record batches to
// one instance that takes no other batch meanwhile, at most plugin.in_flight
// at a time, and fills out with their answers. When the instance fails, it
// returns the failure (the instance has been replaced), the indexes sent
// and not answered, in the order sent, and those not sent; an error means
// the pool cannot go on.
func (p *Pool) fanOut(ctx context.Context, records []stagepkg.Record, out []Result, idx []int, lin *lineage) (waiting, unsent []int, f *failure, err error) {
	inst, err := p.acquire(ctx, true)
	if err != nil {
		return nil, nil, nil, err
	}
	// The instance stays reserved; its count is of the batches in flight.
	p.inflight(inst, -1)
	defer func() {
		p.inflight(inst, 1)
		p.release(inst)
	}()
	var (
		mu       sync.Mutex // guards answered, errs and f
		answered = make([]bool, len(idx))
		errs     []error
		wg       sync.WaitGroup
	)
	window := make(chan struct{}, p.cfg.InFlight)
	sent := 0
	for k, i := range idx {
		select {
		case window <- struct{}{}:
		case <-inst.dead:
		}
		if inst.failed.Load() || ctx.Err() != nil {
			break
		}
		sent++
		queued := make(chan struct{})
		wg.Go(func() {
			defer func() { <-window }()
			ok, rf, err := p.sendOne(ctx, inst, records[i:i+1], out[i:i+1], lin, queued)
			mu.Lock()
			defer mu.Unlock()
			answered[k] = ok
			if err != nil {
				errs = append(errs, err)
			}
			if f == nil {
				f = rf
			}
		})
		select { // send the next one only once this one is on its way
		case <-queued:
		case <-inst.dead:
		case <-ctx.Done():
		}
	}
	wg.Wait()
	if len(errs) > 0 {
		return nil, nil, nil, errs[0]
	}
	done, waiting, unsent := sortSends(idx, answered, sent)
	p.mu.Lock()
	lin.succeeded += done
	lin.failures += min(len(waiting), 1)
	p.mu.Unlock()
	if f == nil && ctx.Err() != nil {
		return nil, nil, nil, ctx.Err()
	}
	return waiting, unsent, f, nil // with f nil, unsent may be left: the instance died idle
}

// sendOne sends one record's batch (rec) to inst for fanOut, closing
// queued once it is on its way, and fills out with the answer (ok). When
// inst fails, it returns the failure (inst is replaced by then); an error
// means the pool cannot go on.
func (p *Pool) sendOne(ctx context.Context, inst *instance, rec []stagepkg.Record, out []Result, lin *lineage, queued chan struct{}) (ok bool, f *failure, err error) {
	b := encode(p.seq.Add(1), rec)
	p.inflight(inst, 1)
	rep, cerr := inst.callQueued(ctx, b, lin, func() { close(queued) })
	p.inflight(inst, -1)
	inst.forget(b.Seq())
	switch {
	case cerr == nil:
		if err := p.fill(rep, out); err != nil {
			p.setFatal(err)
			return false, nil, err
		}
		return true, nil, nil
	case ctx.Err() != nil:
		return false, nil, ctx.Err()
	}
	return false, p.replace(inst, cerr, lin), nil
}

// sortSends sorts the indexes of a fanOut, of which the first sent were
// sent: it counts those answered, and returns those sent and not answered
// (waiting) and those not sent, in order.
func sortSends(idx []int, answered []bool, sent int) (done int, waiting, unsent []int) {
	for k, i := range idx {
		switch {
		case answered[k]:
			done++
		case k < sent:
			waiting = append(waiting, i)
		default:
			unsent = append(unsent, i)
		}
	}
	return done, waiting, unsent
}

// send sends records once, alone on their instance when exclusive. It
// returns the answer; or a failure when the instance crashed or timed out
// (it has been replaced by then); or an error when the pool cannot go on.
func (p *Pool) send(ctx context.Context, records []stagepkg.Record, lin *lineage, exclusive bool) (*protocol.Reply, *failure, error) {
	inst, err := p.acquire(ctx, exclusive)
	if err != nil {
		return nil, nil, err
	}
	b := encode(p.seq.Add(1), records)
	rep, err := inst.call(ctx, b, lin)
	if err == nil {
		inst.forget(b.Seq())
		p.release(inst)
		return rep, nil, nil
	}
	if cerr := ctx.Err(); cerr != nil && errors.Is(err, cerr) {
		inst.forget(b.Seq())
		p.release(inst)
		return nil, nil, cerr
	}
	f := p.replace(inst, err, lin)
	inst.forget(b.Seq())
	p.release(inst)
	p.mu.Lock()
	lin.failures++
	p.mu.Unlock()
	if cerr := ctx.Err(); cerr != nil {
		return nil, nil, cerr
	}
	return nil, f, nil
}

// acquire returns a live instance with room for one more batch, the least
// busy one, waiting for one if need be. With exclusive, it returns an
// instance with nothing else in flight and keeps other batches off it until
// release: it reserves the least busy instance (no new batch goes to it)
// and waits for that instance to drain. A crash during an exclusive send is
// then the batch's own doing, which is what retries and bisection rely on
// to tell a poison record from a bystander.
func (p *Pool) acquire(ctx context.Context, exclusive bool) (*instance, error) {
	var reserved *instance // exclusive: the instance waited on to drain
	for {
		p.mu.Lock()
		err := p.unusableLocked()
		var inst *instance
		switch {
		case err != nil:
		case exclusive:
			reserved, inst = p.drainedLocked(reserved)
		default:
			inst = p.leastBusyLocked(false)
		}
		if err != nil || inst != nil {
			if inst == nil {
				p.unreserveLocked(reserved)
			}
			p.mu.Unlock()
			return inst, err
		}
		wait := p.changed
		p.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			p.mu.Lock()
			p.unreserveLocked(reserved)
			p.mu.Unlock()
			return nil, ctx.Err()
		}
	}
}

// unusableLocked returns why no batch can be sent any more, or nil.
func (p *Pool) unusableLocked() error {
	switch {
	case p.fatal != nil:
		return p.fatal
	case p.closed:
		return fmt.Errorf("plugin %q (stage %q): %w", p.desc.Name, p.stage, ErrClosed)
	}
	return nil
}

// leastBusyLocked returns the live instance, not reserved, with the fewest
// batches in flight, or nil; unless forExclusive, only among those with
// room for one more batch (plugin.in_flight). A shared send takes it.
func (p *Pool) leastBusyLocked(forExclusive bool) *instance {
	var best *instance
	for _, inst := range p.insts {
		if inst != nil && !inst.failed.Load() && !inst.reserved && (forExclusive || inst.inflight < p.cfg.InFlight) && (best == nil || inst.inflight < best.inflight) {
			best = inst
		}
	}
	if best != nil && !forExclusive {
		best.inflight++
	}
	return best
}

// drainedLocked moves an exclusive acquire on: it reserves an instance
// (again, if the one reserved was replaced while it drained) and returns
// the instance reserved and, once that has nothing in flight, the same
// instance taken exclusively.
func (p *Pool) drainedLocked(reserved *instance) (res, taken *instance) {
	if reserved != nil && (p.insts[reserved.slot] != reserved || reserved.failed.Load()) {
		p.unreserveLocked(reserved)
		reserved = nil
	}
	if reserved == nil {
		if reserved = p.leastBusyLocked(true); reserved != nil {
			reserved.reserved = true
		}
	}
	if reserved == nil || reserved.inflight != 0 {
		return reserved, nil
	}
	reserved.inflight++
	reserved.exclusive = true
	return reserved, reserved
}

// unreserveLocked lets other batches onto inst again, which an exclusive
// acquire reserved and no longer waits for (nil for none).
func (p *Pool) unreserveLocked(inst *instance) {
	if inst != nil && !inst.exclusive {
		inst.reserved = false
		p.notifyLocked()
	}
}

func (p *Pool) release(inst *instance) {
	p.mu.Lock()
	inst.inflight--
	if inst.exclusive {
		inst.exclusive, inst.reserved = false, false
	}
	p.notifyLocked()
	p.mu.Unlock()
}

// inflight adds d to the count of batches in flight on inst.
func (p *Pool) inflight(inst *instance, d int) {
	p.mu.Lock()
	inst.inflight += d
	p.mu.Unlock()
}

func (p *Pool) notifyLocked() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// replace handles the failure of inst, seen by a call of lin that failed
// with cause: the first caller to see it stops the process, counts the
// restart and starts a new process in the background; every caller gets
// the failure's description.
func (p *Pool) replace(inst *instance, cause error, lin *lineage) *failure {
	p.mu.Lock()
	switch {
	case inst.replacing:
		p.mu.Unlock()
		<-inst.replaced // another caller is replacing it
		return inst.failure
	case p.insts[inst.slot] != inst:
		// Not installed yet: install notices the failure and calls again.
		p.mu.Unlock()
		return &failure{slot: inst.slot, pid: inst.pid(), err: cause}
	}
	inst.replacing = true
	p.insts[inst.slot] = nil
	closed := p.closed
	var over bool
	if !closed {
		p.total++
		over = p.budget.charge(blame(lin, inst.suspects()))
	}
	p.mu.Unlock()

	if cause == errTimeout {
		inst.fail(cause)
	}
	inst.stop(false)
	f := &failure{slot: inst.slot, pid: inst.pid(), tail: inst.out.Tail(), at: inst.out.CrashSite()}
	if cause == errTimeout {
		f.timeout = time.Duration(p.cfg.Timeout)
	} else {
		f.err = cause
		if inst.proc != nil {
			f.status = inst.proc.exitStatus()
		}
	}
	inst.failure = f
	close(inst.replaced)

	switch {
	case closed:
	case over:
		p.setFatal(p.budgetError(f))
	default:
		p.log.Warn("plugin instance failed; starting a new one", "instance", inst.slot, "failure", f.Error(), "restarts", p.Restarts())
		p.restarts.Go(func() { p.restartSlot(inst.slot) })
	}
	return f
}

// install puts a started instance in its slot, unless the pool is closed.
// An instance whose stream failed before it was installed is replaced at
// once.
func (p *Pool) install(inst *instance) bool {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		inst.stop(false)
		return false
	}
	p.insts[inst.slot] = inst
	p.notifyLocked()
	p.mu.Unlock()
	if inst.failed.Load() {
		p.watch(inst, inst.deathCause())
	}
	return true
}

// watch replaces inst when its stream fails by itself, even with no batch
// in flight to notice it. It runs on the pool's restart group, since
// replacing waits for the instance's loops.
func (p *Pool) watch(inst *instance, err error) {
	p.restarts.Go(func() { p.replace(inst, err, nil) })
}

// restartSlot starts a new instance in slot, retrying with a growing pause
// while starting fails, within the restart budget.
func (p *Pool) restartSlot(slot int) {
	for attempt := 1; ; attempt++ {
		inst, err := p.startInstance(p.ctx, slot, nil)
		if err == nil {
			if p.install(inst) {
				p.log.Info("plugin instance restarted", "instance", slot, "pid", inst.pid())
			}
			return
		}
		if p.ctx.Err() != nil {
			return
		}
		if errors.Is(err, ErrChecksum) || errors.Is(err, ErrProtocolVersion) {
			p.setFatal(fmt.Errorf("plugin %q (stage %q): restarting instance %d: %w", p.desc.Name, p.stage, slot, err))
			return
		}
		p.mu.Lock()
		p.total++
		p.budget.charged++
		over := p.budget.over()
		p.mu.Unlock()
		if over {
			p.setFatal(fmt.Errorf("plugin %q (stage %q): %w: restarting instance %d failed and plugin.max_restarts (%d) is used up: %w",
				p.desc.Name, p.stage, ErrTooManyRestarts, slot, p.cfg.MaxRestarts, err))
			return
		}
		p.log.Warn("plugin instance failed to start; trying again", "instance", slot, "error", err)
		select {
		case <-time.After(min(time.Duration(attempt)*100*time.Millisecond, 2*time.Second)):
		case <-p.ctx.Done():
			return
		}
	}
}

// settle resolves the restarts lin held aside: forgiven, with the two that
// started the bisection, when it isolated poison records among records the
// plugin classified; counted otherwise.
func (p *Pool) settle(lin *lineage, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.budget.settle(lin, err == nil) && p.fatal == nil {
		p.fatal = (fmt.Errorf("plugin %q (stage %q): %w: the plugin failed %d times and plugin.max_restarts is %d; a batch failed in every part it was split into, so the plugin fails on everything (see its stderr in the log)",
			p.desc.Name, p.stage, ErrTooManyRestarts, p.total, p.cfg.MaxRestarts))
		p.notifyLocked()
	}
}

func (p *Pool) setFatal(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fatal == nil {
		p.fatal = err
		p.notifyLocked()
	}
}

func (p *Pool) budgetError(f *failure) error {
	p.mu.Lock()
	total := p.total
	p.mu.Unlock()
	return fmt.Errorf("plugin %q (stage %q): %w: the plugin failed %d times and plugin.max_restarts is %d; last failure: %s%s\nfix the plugin (its stderr, above and in the log, says why it fails; sdktest.Conformance checks it), or raise plugin.max_restarts if the failures are transient",
		p.desc.Name, p.stage, ErrTooManyRestarts, total, p.cfg.MaxRestarts, f.Error(), formatTail(f.tail))
}

// poisonError is the Result.Err of a record that failed twice on its own.
func (p *Pool) poisonError(f *failure) error {
	how := "crashed"
	if f.timeout > 0 {
		how = fmt.Sprintf("hung (no answer for plugin.timeout, %s)", f.timeout)
	} else if f.status != "" {
		how = "crashed (" + f.status + ")"
	}
	msg := fmt.Sprintf("plugin %q: %%w: sent on its own twice, the plugin %s both times", p.desc.Name, how)
	if l := keyLine(f.tail); l != "" {
		msg += fmt.Sprintf("; it wrote %q", l)
	}
	if f.at != "" {
		msg += " at " + f.at
	}
	msg += "; fix the plugin for this record, or set on_error: dead_letter (or skip) to keep going without it"
	return fmt.Errorf(msg, ErrPoisonRecord)
}

// fill copies an answer into out. It fails with ErrContract when the
// answer breaks the plugin's contract (see ErrContract).
func (p *Pool) fill(rep *protocol.Reply, out []Result) error {
	msg := rep.Err()
	switch {
	case strings.HasPrefix(msg, contractPrefix):
		return p.contractError(strings.TrimPrefix(msg, contractPrefix))
	case msg != "":
		err := fmt.Errorf("plugin %q: %s", p.desc.Name, msg)
		for i := range out {
			out[i] = Result{Err: err}
		}
		return nil
	case rep.Len() != len(out):
		return p.contractError(fmt.Sprintf("it answered a batch of %d records with %d results (it must answer one per record, in order)", len(out), rep.Len()))
	}
	for i := range out {
		cat, labels, msg := rep.Result(i)
		switch {
		case strings.HasPrefix(msg, contractPrefix):
			return p.contractError(strings.TrimPrefix(msg, contractPrefix))
		case msg != "":
			out[i] = Result{Err: fmt.Errorf("plugin %q: %s", p.desc.Name, msg)}
		default:
			out[i] = Result{Category: cat, Labels: labels}
		}
	}
	return nil
}

// contractPrefix begins the errors by which the sdks report a bug in the
// plugin's code rather than a record it cannot classify.
const contractPrefix = "plugin bug: "

// contractError is the error of a broken contract, which fails the run.
func (p *Pool) contractError(detail string) error {
	return fmt.Errorf("plugin %q: %w: %s\nthis is a bug in the plugin, not in a record, so on_error does not apply: fix the plugin (sdktest.Conformance in Go, python3 -m sluice_plugin.check in Python, find such bugs)",
		p.desc.Name, ErrContract, detail)
}

// Close shuts the pool down: it calls each instance's Shutdown (bounded by
// ctx and a few seconds), then stops its process group, every wait bounded.
// Classify must not be running. Close is safe to call more than once; the
// error reports Shutdown calls that failed.
func (p *Pool) Close(ctx context.Context) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.notifyLocked()
	insts := append([]*instance(nil), p.insts...)
	p.mu.Unlock()

	errs := make([]error, len(insts))
	var wg sync.WaitGroup
	for i, inst := range insts {
		if inst == nil {
			continue
		}
		wg.Go(func() { errs[i] = inst.shutdown(ctx) })
	}
	wg.Wait()
	p.cancel() // ends restarts in progress; restartSlot stops what they started
	p.restarts.Wait()
	p.log.Debug("plugin batches sent", "shared_memory", p.sentShared.Load(), "socket", p.sentSocket.Load())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("plugin %q (stage %q): %w", p.desc.Name, p.stage, err)
	}
	return nil
}
