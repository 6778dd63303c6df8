package plugins

import (
	"context"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/go-plugin/runner"
)

// process is one plugin process, as go-plugin's runner.Runner. It exists to
// close go-plugin's gaps: the process is started without a shell under a
// guard (see guard_unix.go; where there is none, in a process group of its
// own with a parent-death signal, see sysProcAttr), so that Kill reaches
// everything the plugin started and a host killed with SIGKILL takes its
// plugins and all they started with it; stdin is /dev/null; and stdout and
// stderr are read by the host itself, so that a stuck reader can be cut off.
type process struct {
	name    string    // the plugin's executable
	cmd     *exec.Cmd // set before Start
	guarded bool      // cmd runs the plugin under a guard
	out     *outputLog
	killing sync.Once // the guard's SIGKILL fallback is armed

	pid     atomic.Int64
	stdout  *os.File // read ends, closed by closePipes
	stderr  *os.File
	readers sync.WaitGroup // the stderr reader
	closed  sync.Once

	exited chan struct{} // closed when Wait returns
	state  *os.ProcessState
	// peak, when not nil, is raised by notePeak (see Pool.PeakRSS).
	peak *atomic.Int64
}

var _ runner.Runner = (*process)(nil)

// raise sets v to n if n is larger.
func raise(v *atomic.Int64, n int64) {
	for old := v.Load(); n > old && !v.CompareAndSwap(old, n); old = v.Load() {
	}
}

func newProcess(name string, out *outputLog) *process {
	return &process{name: name, out: out, exited: make(chan struct{})}
}

// Start starts the process.
func (p *process) Start(context.Context) error {
	outR, outW, err := os.Pipe()
	if err != nil {
		return err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return err
	}
	p.cmd.Stdout, p.cmd.Stderr = outW, errW
	err = p.cmd.Start()
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		return err
	}
	p.stdout, p.stderr = outR, errR
	p.pid.Store(int64(p.cmd.Process.Pid))
	p.readers.Go(func() { p.out.readLines("stderr", errR) })
	return nil
}

// Wait waits for the process to exit. go-plugin calls it once.
func (p *process) Wait(context.Context) error {
	err := p.cmd.Wait()
	p.state = p.cmd.ProcessState
	close(p.exited)
	return err
}

// notePeak raises peak to the largest peak resident set size of the
// process and those below it, which must still run (see treePeak).
func (p *process) notePeak() {
	if pid := int(p.pid.Load()); pid > 0 && p.peak != nil {
		raise(p.peak, treePeak(pid))
	}
}

// Kill kills the process and all it started.
func (p *process) Kill(context.Context) error {
	p.killGroup()
	return nil
}

// killGroup kills the plugin and every process it started. Under a guard
// it sends the guard SIGTERM, on which the guard SIGKILLs all below it and
// exits at once (a SIGKILL of the guard itself would orphan what left the
// plugin's group); a guard still there after killTimeout is killed with
// its group. Without one, it SIGKILLs the process group, which holds the
// plugin and anything it started that did not leave the group. It is safe
// to call at any time, from any goroutine, any number of times.
func (p *process) killGroup() {
	pid := int(p.pid.Load())
	switch {
	case pid <= 0:
	case !p.guarded:
		killGroup(pid)
	default:
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		p.killing.Do(func() {
			time.AfterFunc(killTimeout, func() {
				select {
				case <-p.exited:
				default:
					killGroup(pid)
				}
			})
		})
	}
}

// closePipes closes the host's ends of the output pipes, which ends the
// readers even if some process outside the group still holds the other
// ends.
func (p *process) closePipes() {
	p.closed.Do(func() {
		if p.stdout != nil {
			p.stdout.Close()
		}
		if p.stderr != nil {
			p.stderr.Close()
		}
	})
}

// Stdout returns the process's stdout, from which go-plugin reads the
// handshake; later lines are logged.
func (p *process) Stdout() io.ReadCloser {
	return &handshakeReader{r: p.stdout, w: p.out.writer("stdout")}
}

// Stderr returns an empty reader: the host reads stderr itself (see Start),
// so that go-plugin neither parses nor re-logs it.
func (p *process) Stderr() io.ReadCloser { return io.NopCloser(strings.NewReader("")) }

// Name returns the plugin executable's path.
func (p *process) Name() string { return p.name }

// ID returns the pid, or "" before Start.
func (p *process) ID() string {
	if pid := p.pid.Load(); pid > 0 {
		return strconv.FormatInt(pid, 10)
	}
	return ""
}

// Diagnose adds to go-plugin's message for a failed handshake.
func (p *process) Diagnose(context.Context) string {
	return "a sluice plugin must call sdk.Serve from main (sluice_plugin.serve in Python) and print nothing on stdout before it"
}

// PluginToHost implements runner.AddrTranslator; addresses need no
// translation for a local process.
func (p *process) PluginToHost(network, addr string) (string, string, error) {
	return network, addr, nil
}

// HostToPlugin implements runner.AddrTranslator.
func (p *process) HostToPlugin(network, addr string) (string, string, error) {
	return network, addr, nil
}

// waitExited waits up to d for the process to have been reaped.
func (p *process) waitExited(d time.Duration) {
	select {
	case <-p.exited:
	case <-time.After(d):
	}
}

// exitStatus describes how the process ended ("exit status 2", "signal:
// killed"), or "" if it has not been reaped yet.
func (p *process) exitStatus() string {
	select {
	case <-p.exited:
		if p.state != nil {
			return p.state.String()
		}
	default:
	}
	return ""
}

// alive reports whether the process still exists (a zombie counts as gone).
func (p *process) alive() bool {
	pid := int(p.pid.Load())
	if pid <= 0 {
		return false
	}
	return processAlive(pid)
}
