//go:build unix && !linux

package plugins

import "syscall"

// sysProcAttr starts a plugin in a process group of its own, so that killing
// the group reaches what the plugin started. There is no parent-death signal
// outside Linux: a plugin built with the sdk exits when its parent changes.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

// guardProcAttr starts a build guard (see goCommand) in a process group of
// its own, so that a Ctrl-C at the terminal reaches the host alone. Without
// a parent-death signal the guard notices its parent change instead.
func guardProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

// becomeSubreaper does nothing outside Linux: a process that leaves the
// command's group and whose parent dies is not found (FreeBSD's
// procctl(PROC_REAP_ACQUIRE) would be the equivalent).
func becomeSubreaper() {}

// descendants returns nothing outside Linux (no /proc to read); the guard
// kills the command's process group only.
func descendants(int) []int { return nil }

// dieBy does nothing outside Linux: the guard exits with 128+sig instead.
func dieBy(syscall.Signal) {}

// treeMemory returns 0 outside Linux: plugin.max_memory is not enforced.
func treeMemory(int) int64 { return 0 }

// treePeak returns 0 outside Linux: the plugins' peak memory is not known.
func treePeak(int) int64 { return 0 }
