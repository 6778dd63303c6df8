//go:build unix

package plugins

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sluicehq/sluice/stage"
)

// Every plugin process, and the go commands that build a plugin (go list,
// go build), runs under a guard: the host's own executable started again
// in guard mode (guardEnv names the host's pid). A parent-death signal
// reaches only the direct child, and a plugin may start processes of its
// own that leave its process group (setsid, a daemon's double fork, a
// shell wrapper's background job), so the guard is what ties all of them
// to the host:
//
//   - it is started in a process group of its own with SIGTERM as its
//     parent-death signal (Linux; elsewhere it notices its parent change
//     within guardPoll);
//   - it makes itself a child subreaper (Linux), so that every process
//     below it whose parent dies is reparented to it rather than to init;
//   - it starts the command in another process group, with SIGKILL as its
//     parent-death signal, passing stdin, stdout, stderr and guardFilesEnv
//     more descriptors through unchanged (go-plugin's handshake is on
//     stdout; shared memory is descriptor 3);
//   - when the command exits, when the host dies (even by SIGKILL) or when
//     the host asks it to stop (SIGTERM, SIGINT or SIGHUP), it SIGKILLs the
//     command's group and every process still below it, reaps them, removes
//     guardRemoveEnv's file if it was stopped, and exits as the command did
//     (the same exit code, or killed by the same signal);
//   - with guardMemoryEnv set, it sums the resident memory of every process
//     below it every guardPoll (Linux) and, over the limit, says so on
//     stderr (which the host logs and quotes), kills them all and exits
//     with guardMemoryExit, which the host handles as a crash.
//
// Every binary that imports this package can be a guard: init below runs
// it before main. Starting one costs some 25 ms.
const (
	guardEnv       = "SLUICE_PLUGINS_GUARD"
	guardRemoveEnv = "SLUICE_PLUGINS_GUARD_REMOVE"
	guardFilesEnv  = "SLUICE_PLUGINS_GUARD_FILES"
	guardMemoryEnv = "SLUICE_PLUGINS_GUARD_MEMORY" // plugin.max_memory in bytes
	guardPoll      = 100 * time.Millisecond
	// guardMemoryExit is the guard's exit code when it killed the plugin
	// for using more than plugin.max_memory.
	guardMemoryExit = 137
	// guardKillWait bounds how long a guard tries to see every process
	// below it gone (one in uninterruptible sleep ignores SIGKILL).
	guardKillWait = 5 * time.Second
)

func init() {
	if os.Getenv(guardEnv) != "" {
		os.Exit(runGuard())
	}
}

// guardedCommand returns a command that runs path with args under a guard,
// or nil when this executable cannot be started as one. remove, if not "",
// is a file the guard removes when it is stopped early; files is the
// number of descriptors from 3 on (the command's ExtraFiles) to pass
// through. The caller sets Dir, Stdin, Stdout, Stderr and ExtraFiles.
func guardedCommand(remove string, files int, env []string, path string, args ...string) *exec.Cmd {
	exe, err := guardExecutable()
	if err != nil {
		return nil
	}
	cmd := exec.Command(exe, append([]string{path}, args...)...)
	cmd.Env = append(withoutGuardEnv(env),
		guardEnv+"="+strconv.Itoa(os.Getpid()), guardRemoveEnv+"="+remove,
		guardFilesEnv+"="+strconv.Itoa(files))
	cmd.SysProcAttr = guardProcAttr()
	return cmd
}

// goCommand returns a command that runs the go tool (goCmd args...) in dir
// under a guard, so that every process it starts ends when the host does,
// however it ends, or when ctx is done. remove, if not "", is a file the
// guard removes when it stops the command early.
func goCommand(ctx context.Context, remove, dir, goCmd string, args ...string) *exec.Cmd {
	guarded := guardedCommand(remove, 0, os.Environ(), goCmd, args...)
	if guarded == nil {
		return goCommandAlone(ctx, dir, goCmd, args...) // no executable to run as a guard
	}
	cmd := exec.CommandContext(ctx, guarded.Path, guarded.Args[1:]...)
	cmd.Dir, cmd.Env, cmd.SysProcAttr = dir, guarded.Env, guarded.SysProcAttr
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
// code to exit with, unless it dies by the command's signal first.
func runGuard() int {
	host, _ := strconv.Atoi(os.Getenv(guardEnv))
	remove := os.Getenv(guardRemoveEnv)
	nfiles, _ := strconv.Atoi(os.Getenv(guardFilesEnv))
	maxMem, _ := strconv.ParseInt(os.Getenv(guardMemoryEnv), 10, 64)
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "sluice plugin guard: no command")
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
	becomeSubreaper()
	path, err := exec.LookPath(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 127
	}
	files := []uintptr{0, 1, 2}
	for i := range nfiles {
		files = append(files, uintptr(3+i))
	}
	pid, err := syscall.ForkExec(path, os.Args[1:], &syscall.ProcAttr{
		Env:   withoutGuardEnv(os.Environ()),
		Files: files,
		Sys:   sysProcAttr(), // own group; SIGKILL should the guard itself die (Linux)
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 127
	}
	for i := range nfiles {
		syscall.Close(3 + i) // the command has them; the guard needs none
	}
	exited := make(chan syscall.WaitStatus, 1)
	allGone := make(chan struct{})
	go reapAll(pid, exited, allGone)

	tick := time.NewTicker(guardPoll)
	defer tick.Stop()
	var mem memoryWatch
	for {
		select {
		case ws := <-exited:
			killBelow(pid, allGone)
			return exitAs(ws)
		case <-sigs:
		case <-tick.C:
			if maxMem > 0 && mem.check(treeMemory(os.Getpid()), maxMem) {
				killBelow(pid, allGone)
				return guardMemoryExit
			}
			if os.Getppid() == host {
				continue
			}
		}
		// The host is gone, or wants the command stopped: SIGKILL all that
		// runs below the guard, so that nothing writes anything more, then
		// remove the partial output. A command that had ended by itself
		// (a crash the host noticed first) keeps its own status.
		killBelow(pid, allGone)
		code := stopped()
		select {
		case ws := <-exited:
			return exitAs(ws)
		default:
			return code
		}
	}
}

// memoryWatch follows the memory of a guarded plugin's processes.
type memoryWatch struct {
	samples int
	base    int64 // the usage a second after start
	warned  int64 // the usage last warned about
}

// check reports, on stderr, a plugin over max (and returns true: kill it)
// or, once the usage has doubled from its base a second after start and
// again each time it doubles, that its memory keeps growing.
func (w *memoryWatch) check(used, max int64) bool {
	mib := func(n int64) stage.ByteSize { return stage.ByteSize(n &^ (1<<20 - 1)) }
	if used > max {
		fmt.Fprintf(os.Stderr, "sluice: the plugin uses %s of memory, over plugin.max_memory (%s): killed; raise plugin.max_memory, or find what grows in the plugin\n",
			mib(used), stage.ByteSize(max))
		return true
	}
	w.samples++
	switch {
	case w.samples == int(time.Second/guardPoll):
		w.base, w.warned = used, used
	case w.base > 0 && used >= 2*w.warned && used >= 64<<20:
		w.warned = used
		fmt.Fprintf(os.Stderr, "sluice: warning: the plugin's memory keeps growing: %s, up from %s a second after it started (plugin.max_memory is %s)\n",
			mib(used), mib(w.base), stage.ByteSize(max))
	}
	return false
}

// reapAll waits for every child of the guard (the command, and orphans
// reparented to the subreaper), sends the command's status to exited, and
// closes allGone when no child is left.
func reapAll(cmd int, exited chan<- syscall.WaitStatus, allGone chan<- struct{}) {
	defer close(allGone)
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, 0, nil)
		switch {
		case err == syscall.EINTR:
		case err != nil:
			return // ECHILD: nothing left below the guard
		case pid == cmd:
			exited <- ws
		}
	}
}

// killBelow SIGKILLs the command's process group and every process below
// the guard until none is left (each kill may reparent grandchildren to
// the guard, and a process may fork until it is killed), for at most
// guardKillWait.
func killBelow(group int, allGone <-chan struct{}) {
	deadline := time.Now().Add(guardKillWait)
	for {
		_ = syscall.Kill(-group, syscall.SIGKILL)
		for _, pid := range descendants(os.Getpid()) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		select {
		case <-allGone:
			return
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return
		}
	}
}

// exitAs returns the command's exit code, or dies by the signal that
// killed the command, so that the host sees the command's own status.
func exitAs(ws syscall.WaitStatus) int {
	if ws.Signaled() {
		signal.Reset()
		dieBy(ws.Signal())
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
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
		if !strings.HasPrefix(kv, guardEnv+"=") && !strings.HasPrefix(kv, guardRemoveEnv+"=") &&
			!strings.HasPrefix(kv, guardFilesEnv+"=") && !strings.HasPrefix(kv, guardMemoryEnv+"=") {
			out = append(out, kv)
		}
	}
	return out
}
