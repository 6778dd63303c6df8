package plugins

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"github.com/hashicorp/go-plugin/runner"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/sluicehq/sluice/sdk/protocol"
)

// startInstance starts a process for slot, handshakes, calls Describe and
// Init, and opens the Classify stream. It gives up when ctx is done. The
// error names what failed; the caller adds the plugin and stage. On error
// no process is left running.
//
// When described is not nil, it receives the name the plugin gives itself.
func (p *Pool) startInstance(ctx context.Context, slot int, described *atomic.Pointer[string]) (*instance, error) {
	if err := p.launch.verify(); err != nil {
		return nil, err
	}
	inst, sp := p.newInstance(slot)
	fail := func(err error) (*instance, error) {
		inst.proc = sp.proc.Load()
		inst.stop(false)
		return nil, err
	}
	if err := inst.connect(ctx, sp); err != nil {
		return fail(err)
	}
	cctx, cancel := context.WithTimeout(ctx, time.Duration(p.cfg.StartTimeout))
	defer cancel()
	desc, err := inst.describe(cctx)
	if err != nil {
		return fail(err)
	}
	// The host is connected: the socket's name is no longer needed. go-plugin
	// removes its directory when it kills the process, but a host killed
	// with SIGKILL cannot, so it goes now.
	if sp.socketDir != "" {
		os.RemoveAll(sp.socketDir)
	}
	inst.adopt(desc, described)
	if p.cfg.describeOnly {
		return inst, nil
	}
	if err := inst.initPlugin(cctx); err != nil {
		return fail(err)
	}
	if err := inst.openStream(); err != nil {
		return fail(err)
	}
	return inst, nil
}

// spawned is what go-plugin's RunnerFunc learns as it starts the process,
// on go-plugin's goroutine: the process (as soon as there is one) and the
// directory of the plugin's socket (read once the handshake is done).
type spawned struct {
	proc      atomic.Pointer[process]
	socketDir string
}

// newInstance returns an instance for slot, not started, with its output
// log, its shared memory when plugin.shared_memory allows, and its
// go-plugin client, which starts the process through sp.
func (p *Pool) newInstance(slot int) (*instance, *spawned) {
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
	sp := &spawned{}
	return &instance{
		pool:     p,
		slot:     slot,
		out:      out,
		client:   p.newClient(out, shm, sp),
		shm:      shm,
		sendq:    make(chan *protocol.Batch, p.cfg.InFlight),
		pending:  map[uint64]*call{},
		dead:     make(chan struct{}),
		replaced: make(chan struct{}),
	}, sp
}

// newClient returns the go-plugin client of one instance: it runs the
// launcher's command (under a guard), with shm passed as descriptor 3 when
// there is one, and records what it started in sp.
func (p *Pool) newClient(out *outputLog, shm *sharedMemory, sp *spawned) *plugin.Client {
	return plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig: protocol.Handshake(),
		Plugins:         plugin.PluginSet{protocol.PluginName: protocol.ClientPlugin{}},
		RunnerFunc: func(_ hclog.Logger, cmd *exec.Cmd, dir string) (runner.Runner, error) {
			sp.socketDir = dir
			env := cmd.Env
			var extra []*os.File
			if shm != nil {
				env = append(env, protocol.SharedMemoryEnv+"=3") // ExtraFiles start at 3
				extra = []*os.File{shm.file}
			}
			pr := newProcess(p.launch.path, out)
			pr.cmd, pr.guarded = p.launch.command(env, extra)
			pr.peak = &p.peakRSS
			sp.proc.Store(pr)
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
}

// connect starts the process, waits for its handshake and opens the
// plugin's RPC client. A failed handshake is described by startError.
func (inst *instance) connect(ctx context.Context, sp *spawned) error {
	rpc, cancelled, err := handshake(ctx, inst.client, &sp.proc)
	inst.proc = sp.proc.Load()
	switch {
	case cancelled:
		return ctx.Err()
	case err != nil:
		if inst.proc != nil {
			inst.proc.killGroup()
			waitTimeout(&inst.proc.readers, outputGrace)
			inst.proc.waitExited(outputGrace)
		}
		return startError(err, inst, time.Duration(inst.pool.cfg.StartTimeout))
	}
	raw, err := rpc.Dispense(protocol.PluginName)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrHandshake, err)
	}
	inst.rpc = raw.(*protocol.Client)
	return nil
}

// handshake runs go-plugin's start and handshake, which waits up to
// plugin.start_timeout but not for ctx. When ctx is done first, it kills
// the process (every 50 ms, since it may not have started yet) until
// go-plugin gives up, and reports cancelled.
func handshake(ctx context.Context, client *plugin.Client, proc *atomic.Pointer[process]) (rpc plugin.ClientProtocol, cancelled bool, err error) {
	type started struct {
		rpc plugin.ClientProtocol
		err error
	}
	ch := make(chan started, 1)
	go func() {
		rpc, err := client.Client()
		ch <- started{rpc, err}
	}()
	select {
	case st := <-ch:
		return st.rpc, false, st.err
	case <-ctx.Done():
	}
	for {
		if pr := proc.Load(); pr != nil {
			pr.killGroup()
		}
		select {
		case st := <-ch:
			if st.err != nil {
				return nil, true, st.err
			}
			return nil, true, ctx.Err() // connected after all: the caller stops it
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// describe calls Describe and checks the plugin's protocol version.
func (inst *instance) describe(ctx context.Context) (*protocol.Description, error) {
	desc, err := inst.rpc.Describe(ctx)
	if err != nil {
		return nil, inst.callError("Describe", err)
	}
	if desc.ProtocolVersion != 0 && desc.ProtocolVersion != protocol.ProtocolVersion {
		return nil, fmt.Errorf("%w: the plugin speaks protocol version %d and this sluice speaks %d; rebuild the plugin against this version of the sluice sdk",
			ErrProtocolVersion, desc.ProtocolVersion, protocol.ProtocolVersion)
	}
	return desc, nil
}

// adopt takes what the plugin said of itself: shared memory is dropped for
// a plugin that reads batches from the socket only, and its name tags its
// output and is stored in described (when not nil).
func (inst *instance) adopt(desc *protocol.Description, described *atomic.Pointer[string]) {
	inst.desc = desc
	if !desc.SharedMemory {
		inst.shm.close()
		inst.shm = nil
	}
	if desc.Name != "" {
		inst.out.setLogger(inst.pool.outputLogger(desc.Name, inst.slot))
		if described != nil {
			described.Store(&desc.Name)
		}
	}
}

// initPlugin calls Init with the plugin's configuration; a refusal is ErrInit
// with the plugin's own message.
func (inst *instance) initPlugin(ctx context.Context) error {
	p := inst.pool
	err := inst.rpc.Init(ctx, &protocol.InitRequest{
		Config:    p.configJSON,
		Stage:     p.stage,
		Instance:  inst.slot,
		Instances: len(p.insts),
	})
	var ie *protocol.InitError
	switch {
	case errors.As(err, &ie):
		return inst.initError(ie)
	case err != nil:
		return inst.callError("Init", err)
	}
	return nil
}

// openStream opens the Classify stream, which lives as long as the pool,
// and starts the loops that send batches on it and receive the answers.
func (inst *instance) openStream() error {
	sctx, scancel := context.WithCancel(inst.pool.ctx)
	inst.cancel = scancel
	var err error
	if inst.stream, err = inst.rpc.Classify(sctx); err != nil {
		return inst.callError("opening the Classify stream", err)
	}
	inst.loops.Go(inst.sendLoop)
	inst.loops.Go(inst.recvLoop)
	return nil
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
		return fmt.Errorf("%w: the plugin speaks net/rpc; sluice plugins speak gRPC (use sdk.Serve): %w", ErrHandshake, err)
	}
	var ee *exec.Error
	if errors.As(err, &ee) || strings.Contains(msg, "fork/exec") || strings.Contains(msg, "exec format error") {
		return fmt.Errorf("cannot start the plugin: %w", err)
	}
	return fmt.Errorf("%w: %w%s", ErrHandshake, err, formatTail(tail))
}

// with formats an exit status after "exited": " with exit status 3".
func with(status string) string {
	if status == "" {
		return ""
	}
	return " with " + status
}
