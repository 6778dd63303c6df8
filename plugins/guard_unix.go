//go:build unix

package plugins

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The go commands that build a plugin (go list, go build) start
// processes of their own (compile, link, asm, a module download's git), and
// a parent-death signal reaches only the direct child. So each runs under a
// guard: the host's own executable started again in guard mode (guardEnv
// names the host's pid). The guard is tied to the host like a plugin (own
// process group; on Linux SIGTERM as its parent-death signal, elsewhere it
// notices its parent change within guardPoll); it starts the go command in
// a process group of its own and, when the host dies or asks it to stop
// (SIGTERM), kills that whole group with SIGKILL, waits for the go command,
// and removes the build's temporary output (guardRemoveEnv). Every binary
// that imports this package can be a guard: init below runs it before main.
const (
	guardEnv       = "SLUICE_PLUGINS_GUARD"
	guardRemoveEnv = "SLUICE_PLUGINS_GUARD_REMOVE"
	guardPoll      = 100 * time.Millisecond
)

func init() {
	if os.Getenv(guardEnv) != "" {
		os.Exit(runGuard())
	}
}

// goCommand returns a command that runs the go tool (goCmd args...) in dir
// under a guard, so that every process it starts ends when the host does,
// however it ends, or when ctx is done. remove, if not "", is a file the
// guard removes when it stops the command early.
func goCommand(ctx context.Context, remove, dir, goCmd string, args ...string) *exec.Cmd {
	exe, err := guardExecutable()
	if err != nil {
		return goCommandAlone(ctx, dir, goCmd, args...) // no executable to run as a guard
	}
	cmd := exec.CommandContext(ctx, exe, append([]string{goCmd}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(withoutGuardEnv(os.Environ()),
		guardEnv+"="+strconv.Itoa(os.Getpid()), guardRemoveEnv+"="+remove)
	cmd.SysProcAttr = guardProcAttr()
	// SIGTERM makes the guard kill the go command's group and clean up; if
	// it has not returned after WaitDelay, it is killed.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// goCommandAlone returns a command that runs the go tool without a guard,
// for a go command that starts no process of its own (go env): in a
// process group of its own, with the parent-death signal of a plugin
// (sysProcAttr), and whose group is killed when ctx is done. It saves the
// guard's start (some 25 ms) on every run.
func goCommandAlone(ctx context.Context, dir, goCmd string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, goCmd, args...)
	cmd.Dir = dir
	cmd.SysProcAttr = sysProcAttr()
	cmd.Cancel = func() error { killGroup(cmd.Process.Pid); return nil }
	cmd.WaitDelay = 2 * time.Second
	return cmd
}

// runGuard is the guard's main: it runs os.Args[1:] and returns the exit
// code to exit with.
func runGuard() int {
	host, _ := strconv.Atoi(os.Getenv(guardEnv))
	remove := os.Getenv(guardRemoveEnv)
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "sluice plugin build guard: no command")
		return 2
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	stopped := func() int {
		if remove != "" {
			os.Remove(remove)
		}
		return 128 + int(syscall.SIGTERM)
	}
	if os.Getppid() != host {
		return stopped() // the host died before the guard could watch it
	}
	cmd := exec.Command(os.Args[1], os.Args[2:]...)
	cmd.Env = withoutGuardEnv(os.Environ())
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = sysProcAttr() // own group; SIGKILL should the guard itself die (Linux)
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 127
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	tick := time.NewTicker(guardPoll)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
					return 128 + int(ws.Signal())
				}
				return ee.ExitCode()
			}
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 127
			}
			return 0
		case <-sigs:
		case <-tick.C:
			if os.Getppid() == host {
				continue
			}
		}
		// The host is gone, or wants the build stopped: SIGKILL the go
		// command's group, so that nothing it started writes anything
		// more, then remove the partial output.
		killGroup(cmd.Process.Pid)
		<-done
		return stopped()
	}
}

// guardExecutable is the executable to start as a guard: this one.
func guardExecutable() (string, error) {
	if _, err := os.Stat("/proc/self/exe"); err == nil {
		// Linux: the running binary even if its file was replaced since.
		return "/proc/self/exe", nil
	}
	return os.Executable()
}

func withoutGuardEnv(env []string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, guardEnv+"=") && !strings.HasPrefix(kv, guardRemoveEnv+"=") {
			out = append(out, kv)
		}
	}
	return out
}
