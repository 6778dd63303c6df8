package plugins

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

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/sluicehq/sluice/sdk/protocol"
)

// Bounds on stopping a process. A plugin that ignores Shutdown, or a process
// that keeps the output pipes open, costs at most these.
const (
	shutdownTimeout = 5 * time.Second        // the Shutdown call
	killTimeout     = 3 * time.Second        // go-plugin's Kill, after which the pipes are cut
	outputGrace     = 500 * time.Millisecond // reading the last output of a dead process
)

var (
	errStopped = errors.New("instance stopped")
	errTimeout = errors.New("batch timed out")
)

// instance is one running plugin process with its open Classify stream.
type instance struct {
	pool   *Pool
	slot   int
	out    *outputLog
	proc   *process
	client *plugin.Client
	rpc    *protocol.Client
	desc   *protocol.Description
	stream *protocol.Stream
	shm    *sharedMemory      // nil when batches go over the socket whole
	cancel context.CancelFunc // ends the stream
	sendq  chan *protocol.Batch
	loops  sync.WaitGroup // sendLoop and recvLoop

	inflight  int  // batches handed to this instance; guarded by pool.mu
	reserved  bool // an exclusive send waits for it to drain: no new batches; guarded by pool.mu
	exclusive bool // the one batch in flight has it to itself; guarded by pool.mu
	replacing bool // replace has begun; guarded by pool.mu

	failed    atomic.Bool
	lastReply atomic.Int64 // when the last answer arrived, in Unix nanoseconds
	mu        sync.Mutex
	pending   map[uint64]*call
	dead      chan struct{} // closed by fail
	deadErr   error

	stopOnce sync.Once
	// replaced is closed once the instance that failed has been stopped and
	// failure describes why.
	replaced chan struct{}
	failure  *failure
}

// call is one batch waiting for its answer.
type call struct {
	reply chan *protocol.Reply
	lin   *lineage
}

// failure says why an instance was given up on, for retry decisions and
// error messages.
type failure struct {
	slot    int
	pid     string
	timeout time.Duration // > 0 when the batch timed out
	err     error         // the stream error, for crashes
	status  string        // the process's exit status, when known
	tail    []string      // the last lines it wrote
	at      string        // file:line of a Go panic, when known
}

func (f *failure) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "instance %d (pid %s) ", f.slot, f.pid)
	if f.timeout > 0 {
		fmt.Fprintf(&b, "answered nothing for plugin.timeout (%s) while a batch waited", f.timeout)
	} else {
		b.WriteString("crashed")
		if f.status != "" {
			fmt.Fprintf(&b, " (%s)", f.status)
		}
		if f.at != "" {
			fmt.Fprintf(&b, " at %s", f.at)
		}
		if msg := plainError(f.err); msg != "" {
			fmt.Fprintf(&b, ": %s", msg)
		}
	}
	return b.String()
}

// plainError is err's message without gRPC's framing ("rpc error: code =
// Unavailable desc = ..."): the status's own message, or "" for a lost
// connection, which says nothing the exit status and stderr do not.
func plainError(err error) string {
	if err == nil {
		return ""
	}
	st, ok := status.FromError(err)
	switch {
	case !ok:
		return err.Error()
	case st.Code() == codes.Unavailable || st.Code() == codes.Canceled:
		return ""
	}
	return st.Message()
}

// sendLoop sends the batches handed to the instance, one at a time (a gRPC
// stream's Send is not safe for concurrent use, and it may block on flow
// control while the plugin is busy).
func (inst *instance) sendLoop() {
	for {
		select {
		case b := <-inst.sendq:
			var err error
			if off, n, ok := inst.shm.place(b); ok {
				inst.pool.sentShared.Add(1)
				err = inst.stream.SendShared(b, off, n)
			} else {
				inst.pool.sentSocket.Add(1)
				err = inst.stream.Send(b)
			}
			if err != nil {
				if err != io.EOF {
					err = fmt.Errorf("sending a batch: %w", err)
					if inst.fail(err) {
						inst.pool.watch(inst, err)
					}
				}
				// On io.EOF the stream has ended; Recv reports why.
				return
			}
		case <-inst.dead:
			return
		}
	}
}

// recvLoop hands each answer to the call waiting for it. The first error
// marks the instance dead: after kill -9 the stream fails with
// codes.Unavailable within milliseconds, which is how a crash is noticed
// (go-plugin's Exited lags behind).
func (inst *instance) recvLoop() {
	for {
		rep, err := inst.stream.Recv()
		if err != nil {
			if inst.fail(err) {
				inst.pool.watch(inst, err)
			}
			return
		}
		inst.lastReply.Store(time.Now().UnixNano())
		inst.shm.answered(rep.Seq())
		inst.mu.Lock()
		c := inst.pending[rep.Seq()]
		inst.mu.Unlock()
		if c != nil {
			select {
			case c.reply <- rep:
			default: // a second answer to one batch: a plugin bug, ignored
			}
		}
	}
}

// fail marks the instance dead with err, once, and reports whether err was
// the cause.
func (inst *instance) fail(err error) bool {
	inst.mu.Lock()
	defer inst.mu.Unlock()
	if inst.deadErr != nil {
		return false
	}
	inst.deadErr = err
	inst.failed.Store(true)
	close(inst.dead)
	return true
}

func (inst *instance) deathCause() error {
	inst.mu.Lock()
	defer inst.mu.Unlock()
	return inst.deadErr
}

// call sends b and waits for its answer. It returns the answer; or
// errTimeout or the instance's death cause (an instance failure); or ctx's
// error. The caller must call forget(seq) afterwards.
//
// The timeout is about the instance, not the batch alone: the batch times
// out when the instance has answered nothing for plugin.timeout since the
// batch was sent. So a batch queued in the plugin behind others (in_flight
// above 1) is not charged for their time.
func (inst *instance) call(ctx context.Context, b *protocol.Batch, lin *lineage) (*protocol.Reply, error) {
	return inst.callQueued(ctx, b, lin, nil)
}

// callQueued is call that also calls queued, when not nil, once b is handed
// to the send loop, so a caller can send batches in a known order.
func (inst *instance) callQueued(ctx context.Context, b *protocol.Batch, lin *lineage, onQueued func()) (*protocol.Reply, error) {
	c := &call{reply: make(chan *protocol.Reply, 1), lin: lin}
	inst.mu.Lock()
	if inst.deadErr != nil {
		err := inst.deadErr
		inst.mu.Unlock()
		return nil, err
	}
	inst.pending[b.Seq()] = c
	inst.mu.Unlock()

	timeout := time.Duration(inst.pool.cfg.Timeout)
	sent := time.Now()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	expired := func() bool {
		since := max(sent.UnixNano(), inst.lastReply.Load())
		if wait := time.Until(time.Unix(0, since).Add(timeout)); wait > 0 {
			timer.Reset(wait)
			return false
		}
		return true
	}
	queued := false
	for {
		var sendq chan<- *protocol.Batch
		if !queued {
			sendq = inst.sendq
		}
		select {
		case sendq <- b:
			queued = true
			if onQueued != nil {
				onQueued()
			}
		case rep := <-c.reply:
			return rep, nil
		case <-inst.dead:
			// An answer may have arrived just before the stream failed.
			select {
			case rep := <-c.reply:
				return rep, nil
			default:
			}
			return nil, inst.deathCause()
		case <-timer.C:
			if expired() {
				return nil, errTimeout
			}
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// forget drops the bookkeeping for a batch.
func (inst *instance) forget(seq uint64) {
	inst.mu.Lock()
	delete(inst.pending, seq)
	inst.mu.Unlock()
}

// suspects returns the lineages of the batches in flight.
func (inst *instance) suspects() []*lineage {
	inst.mu.Lock()
	defer inst.mu.Unlock()
	out := make([]*lineage, 0, len(inst.pending))
	for _, c := range inst.pending {
		out = append(out, c.lin)
	}
	return out
}

// shutdown asks the plugin to release its state, then stops the process.
func (inst *instance) shutdown(ctx context.Context) error {
	var err error
	if inst.rpc != nil && !inst.failed.Load() {
		sctx, cancel := context.WithTimeout(ctx, shutdownTimeout)
		err = inst.rpc.Shutdown(sctx)
		cancel()
		if err != nil {
			err = fmt.Errorf("instance %d: Shutdown: %w", inst.slot, err)
		}
	}
	inst.stop(true)
	return err
}

// stop ends the instance and its process group, whatever state they are in,
// with every wait bounded. With graceful set, go-plugin first asks the
// process to exit (it has up to two seconds); otherwise the group is killed
// at once.
func (inst *instance) stop(graceful bool) {
	inst.stopOnce.Do(func() {
		if inst.proc != nil {
			inst.proc.notePeak() // before anything stops it
		}
		inst.fail(errStopped)
		if !graceful && inst.proc != nil {
			inst.proc.killGroup()
		}
		if inst.cancel != nil {
			inst.cancel()
		}
		killed := make(chan struct{})
		go func() {
			defer close(killed)
			inst.client.Kill()
		}()
		select {
		case <-killed:
		case <-time.After(killTimeout):
		}
		if inst.proc != nil {
			inst.proc.killGroup()
			if !waitTimeout(&inst.proc.readers, outputGrace) {
				inst.pool.log.Warn("plugin output still open after the process was killed; closing it", "instance", inst.slot)
			}
			inst.proc.closePipes()
		}
		select {
		case <-killed:
		case <-time.After(killTimeout):
			inst.pool.log.Warn("plugin process did not go away in time", "instance", inst.slot, "pid", inst.pid())
		}
		inst.loops.Wait()
		inst.shm.close() // no loop is left to use it
	})
}

func (inst *instance) pid() string {
	if inst.proc == nil {
		return "?"
	}
	return inst.proc.ID()
}

// waitTimeout waits for wg up to d and reports whether it finished.
func waitTimeout(wg *sync.WaitGroup, d time.Duration) bool {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}

// hclogFor adapts the pool's logger for go-plugin's own messages, at debug
// level.
func hclogFor(ctx context.Context, log *slog.Logger) hclog.Logger {
	if !log.Enabled(ctx, slog.LevelDebug) {
		return hclog.NewNullLogger()
	}
	return hclog.New(&hclog.LoggerOptions{
		Name:        "go-plugin",
		Level:       hclog.Debug,
		Output:      debugWriter{log},
		DisableTime: true,
	})
}

type debugWriter struct{ log *slog.Logger }

func (w debugWriter) Write(p []byte) (int, error) {
	w.log.Debug(strings.TrimSpace(string(p)))
	return len(p), nil
}
