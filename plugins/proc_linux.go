package plugins

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"
)

// sysProcAttr starts a plugin in a process group of its own, so that killing
// the group reaches what the plugin started, and with SIGKILL as its
// parent-death signal, so that a host that dies, even by SIGKILL, takes the
// plugin with it. (The signal is tied to the thread that started the
// process; Go keeps that thread alive unless a goroutine locked to it exits,
// which the host never does. The sdk also exits when its parent changes.)
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// guardProcAttr starts a build guard (see goCommand) in a process group of
// its own, so that a Ctrl-C at the terminal reaches the host alone, and with
// SIGTERM as its parent-death signal: on it the guard kills the build's
// processes and removes its partial output before it exits.
func guardProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}

// becomeSubreaper makes the calling process a child subreaper: a process
// below it whose parent dies is reparented to it instead of to init, so
// that the guard can still find and kill it.
func becomeSubreaper() {
	const prSetChildSubreaper = 36
	_, _, _ = syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0)
}

// descendants returns the live processes below pid, read from /proc.
func descendants(pid int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	children := map[int][]int{}
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ppid, ok := parentOf(child); ok {
			children[ppid] = append(children[ppid], child)
		}
	}
	var out []int
	for queue := children[pid]; len(queue) > 0; queue = queue[1:] {
		out = append(out, queue[0])
		queue = append(queue, children[queue[0]]...)
	}
	return out
}

// parentOf reads pid's parent from /proc/PID/stat; ok is false for a
// process that is gone or a zombie.
func parentOf(pid int) (ppid int, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	// The fields after the command name, which is in parentheses and may
	// itself contain ") ": state, ppid, ...
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if len(f) < 2 || f[0] == "Z" || f[0] == "X" {
		return 0, false
	}
	ppid, err = strconv.Atoi(f[1])
	return ppid, err == nil
}

// dieBy ends the process by sig with the signal's default action, as the
// guarded command died, without a core file. It returns if it could not.
func dieBy(sig syscall.Signal) {
	_ = syscall.Setrlimit(syscall.RLIMIT_CORE, &syscall.Rlimit{})
	// An all-zero struct sigaction is SIG_DFL with an empty mask on every
	// architecture; the Go runtime's own handler would otherwise catch
	// SIGABRT, SIGSEGV and the like and exit with status 2.
	var dfl [4]uint64
	_, _, _ = syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(&dfl)), 0, 8, 0, 0)
	_ = syscall.Kill(os.Getpid(), sig)
	time.Sleep(time.Second) // the signal is delivered meanwhile
}

// treeMemory returns the resident memory, in bytes, of every process below
// pid (from /proc/PID/statm; shared pages are counted in each process).
func treeMemory(pid int) int64 {
	var total int64
	page := int64(os.Getpagesize())
	for _, p := range descendants(pid) {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(p) + "/statm")
		if err != nil {
			continue
		}
		if f := strings.Fields(string(b)); len(f) > 1 {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			total += n * page
		}
	}
	return total
}

// treePeak returns the largest peak resident set size, in bytes, of pid
// and the processes below it: VmHWM in /proc/PID/status, each process's own
// high-water mark since it started its program. (Not wait4's ru_maxrss: a
// process started with vfork, as Go starts every process, inherits its
// parent's peak there.)
func treePeak(pid int) int64 {
	var peak int64
	for _, p := range append([]int{pid}, descendants(pid)...) {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(p) + "/status")
		if err != nil {
			continue
		}
		_, rest, _ := strings.Cut(string(b), "\nVmHWM:")
		f := strings.Fields(rest)
		if len(f) > 1 && f[1] == "kB" {
			kb, _ := strconv.ParseInt(f[0], 10, 64)
			peak = max(peak, kb<<10)
		}
	}
	return peak
}
