package plugins

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"github.com/hashicorp/go-plugin/runner"
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

// startInstance starts a process for slot, handshakes, calls Describe and
// Init, and opens the Classify stream. It gives up when ctx is done. The
// error names what failed; the caller adds the plugin and stage.
//
// When described is not nil, it receives the name the plugin gives itself.
func (p *Pool) startInstance(ctx context.Context, slot int, described *atomic.Pointer[string]) (*instance, error) {
	if err := p.launch.verify(); err != nil {
		return nil, err
	}
	name := p.name
	if p.desc.Name != "" {
		name = p.desc.Name
	}
	out := newOutputLog(p.outputLogger(name, slot))
	var shm *sharedMemory
	if p.cfg.SharedMemory {
		var err error
		if shm, err = newSharedMemory(p.cfg.InFlight, sharedSlotBytes(&p.cfg)); err != nil {
			p.log.Debug("plugin batches go over the socket", "instance", slot, "error", err)
		}
	}
	var (
		proc      atomic.Pointer[process]
		socketDir string // go-plugin's directory for the plugin's socket
	)
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig: protocol.Handshake(),
		Plugins:         plugin.PluginSet{protocol.PluginName: protocol.ClientPlugin{}},
		RunnerFunc: func(_ hclog.Logger, cmd *exec.Cmd, dir string) (runner.Runner, error) {
			socketDir = dir
			env := cmd.Env
			if shm != nil {
				env = append(env, protocol.SharedMemoryEnv+"=3") // ExtraFiles start at 3
			}
			var extra []*os.File
			if shm != nil {
				extra = []*os.File{shm.file}
			}
			pr := newProcess(p.launch.path, out)
			pr.cmd, pr.guarded = p.launch.command(env, extra)
			proc.Store(pr)
			return pr, nil
		},
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         p.launch.mtls, // Go plugins only (see launcher.mtls)
		SkipHostEnv:      true,          // the launcher adds the host's environment itself
		StartTimeout:     time.Duration(p.cfg.StartTimeout),
		SyncStdout:       out.writer("stdout"),
		SyncStderr:       out.writer("stderr"),
		Logger:           p.hclog,
	})
	inst := &instance{
		pool:     p,
		slot:     slot,
		out:      out,
		client:   client,
		shm:      shm,
		sendq:    make(chan *protocol.Batch, p.cfg.InFlight),
		pending:  map[uint64]*call{},
		dead:     make(chan struct{}),
		replaced: make(chan struct{}),
	}
	fail := func(err error) (*instance, error) {
		inst.proc = proc.Load()
		inst.stop(false)
		return nil, err
	}

	// go-plugin's Start waits for the handshake up to StartTimeout but not
	// for ctx, so a cancelled ctx kills the process to end the wait.
	type started struct {
		rpc plugin.ClientProtocol
		err error
	}
	ch := make(chan started, 1)
	go func() {
		rpc, err := client.Client()
		ch <- started{rpc, err}
	}()
	var st started
	select {
	case st = <-ch:
	case <-ctx.Done():
		for st.err == nil {
			if pr := proc.Load(); pr != nil {
				pr.killGroup()
			}
			select {
			case st = <-ch:
				if st.err == nil {
					st.err = ctx.Err()
				}
			case <-time.After(50 * time.Millisecond):
			}
		}
		return fail(ctx.Err())
	}
	inst.proc = proc.Load()
	if st.err != nil {
		if inst.proc != nil {
			inst.proc.killGroup()
			waitTimeout(&inst.proc.readers, outputGrace)
			inst.proc.waitExited(outputGrace)
		}
		return fail(startError(st.err, inst, time.Duration(p.cfg.StartTimeout)))
	}
	raw, err := st.rpc.Dispense(protocol.PluginName)
	if err != nil {
		return fail(fmt.Errorf("%w: %v", ErrHandshake, err))
	}
	inst.rpc = raw.(*protocol.Client)

	cctx, cancel := context.WithTimeout(ctx, time.Duration(p.cfg.StartTimeout))
	defer cancel()
	desc, err := inst.rpc.Describe(cctx)
	if err != nil {
		return fail(inst.callError("Describe", err))
	}
	if desc.ProtocolVersion != 0 && desc.ProtocolVersion != protocol.ProtocolVersion {
		return fail(fmt.Errorf("%w: the plugin speaks protocol version %d and this sluice speaks %d; rebuild the plugin against this version of the sluice sdk",
			ErrProtocolVersion, desc.ProtocolVersion, protocol.ProtocolVersion))
	}
	inst.desc = desc
	if p.cfg.describeOnly {
		return inst, nil
	}
	// The host is connected: the socket's name is no longer needed. go-plugin
	// removes its directory when it kills the process, but a host killed
	// with SIGKILL cannot, so it goes now.
	if socketDir != "" {
		os.RemoveAll(socketDir)
	}
	if !desc.SharedMemory {
		inst.shm.close() // the plugin reads batches from the socket only
		inst.shm = nil
	}
	if desc.Name != "" {
		out.setLogger(p.outputLogger(desc.Name, slot))
		if described != nil {
			described.Store(&desc.Name)
		}
	}
	err = inst.rpc.Init(cctx, &protocol.InitRequest{
		Config:    p.configJSON,
		Stage:     p.stage,
		Instance:  slot,
		Instances: len(p.insts),
	})
	var ie *protocol.InitError
	switch {
	case errors.As(err, &ie):
		return fail(inst.initError(ie))
	case err != nil:
		return fail(inst.callError("Init", err))
	}

	sctx, scancel := context.WithCancel(p.ctx)
	inst.cancel = scancel
	inst.stream, err = inst.rpc.Classify(sctx)
	if err != nil {
		return fail(inst.callError("opening the Classify stream", err))
	}
	inst.loops.Go(inst.sendLoop)
	inst.loops.Go(inst.recvLoop)
	return inst, nil
}

// callError describes a failed call during start; a crash shows the exit
// status and the last lines the plugin wrote.
func (inst *instance) callError(what string, err error) error {
	timedOut := status.Code(err) == codes.DeadlineExceeded || errors.Is(err, context.DeadlineExceeded)
	if inst.proc != nil && (status.Code(err) == codes.Unavailable || timedOut) {
		inst.proc.killGroup()
		waitTimeout(&inst.proc.readers, outputGrace)
		inst.proc.waitExited(outputGrace)
		how := "crashed"
		switch st := inst.proc.exitStatus(); {
		case timedOut:
			how = fmt.Sprintf("did not answer within plugin.start_timeout (%s)", time.Duration(inst.pool.cfg.StartTimeout))
		case st != "":
			how = "crashed (" + st + ")"
		}
		if at := inst.out.CrashSite(); at != "" && !timedOut {
			how += " at " + at
		}
		return fmt.Errorf("the plugin %s during %s; fix the plugin (its stderr, below and in the log, says why), then run again%s", how, what, formatTail(inst.out.Tail()))
	}
	if _, ok := status.FromError(err); !ok {
		return fmt.Errorf("%s: %w", what, err)
	}
	return fmt.Errorf("%s: %s", what, plainError(err))
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

var pluginVersionRE = regexp.MustCompile(`Plugin version: (\d+)`)

// startError turns go-plugin's handshake errors into errors that say what
// the user should do.
func startError(err error, inst *instance, startTimeout time.Duration) error {
	msg := err.Error()
	tail := inst.out.Tail()
	status := ""
	if inst.proc != nil {
		status = inst.proc.exitStatus()
	}
	switch {
	case strings.Contains(msg, "incompatible API version"):
		got := "another version"
		if m := pluginVersionRE.FindStringSubmatch(msg); m != nil {
			got = "version " + m[1]
		}
		return fmt.Errorf("%w: the plugin speaks protocol %s and this sluice speaks version %d; rebuild the plugin against this version of the sluice sdk",
			ErrProtocolVersion, got, protocol.ProtocolVersion)
	case strings.Contains(msg, "incompatible core API version"):
		return fmt.Errorf("%w: the plugin was built with an incompatible go-plugin; rebuild it against this version of the sluice sdk", ErrProtocolVersion)
	case strings.Contains(msg, "Unrecognized remote plugin message"):
		line := strings.TrimSpace(strings.SplitN(strings.TrimPrefix(msg[strings.Index(msg, "Unrecognized remote plugin message"):], "Unrecognized remote plugin message:"), "\n", 2)[0])
		if line == "" {
			return fmt.Errorf("%w: the plugin exited before the handshake%s; is it a sluice plugin? (its main must call sdk.Serve, or sluice_plugin.serve in Python)%s",
				ErrHandshake, with(status), formatTail(tail))
		}
		return fmt.Errorf("%w: the plugin wrote %q on stdout instead of the handshake; a plugin must print nothing on stdout before sdk.Serve (log to stderr instead; in Python, import sluice_plugin first)%s",
			ErrHandshake, line, formatTail(tail))
	case strings.Contains(msg, "plugin exited before we could connect"):
		return fmt.Errorf("%w: the plugin exited before the handshake%s; is it a sluice plugin? (its main must call sdk.Serve, or sluice_plugin.serve in Python)%s",
			ErrHandshake, with(status), formatTail(tail))
	case strings.Contains(msg, "timeout while waiting for plugin to start"):
		return fmt.Errorf("%w: no handshake within plugin.start_timeout (%s); a plugin's main must call sdk.Serve promptly%s",
			ErrHandshake, startTimeout, formatTail(tail))
	case strings.Contains(msg, "unsupported plugin protocol"):
		return fmt.Errorf("%w: the plugin speaks net/rpc; sluice plugins speak gRPC (use sdk.Serve): %v", ErrHandshake, err)
	}
	var ee *exec.Error
	if errors.As(err, &ee) || strings.Contains(msg, "fork/exec") || strings.Contains(msg, "exec format error") {
		return fmt.Errorf("cannot start the plugin: %w", err)
	}
	return fmt.Errorf("%w: %v%s", ErrHandshake, err, formatTail(tail))
}

// with formats an exit status after "exited": " with exit status 3".
func with(status string) string {
	if status == "" {
		return ""
	}
	return " with " + status
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
