//go:build unix && !linux

package plugins

import "syscall"

// sysProcAttr starts a plugin in a process group of its own, so that killing
// the group reaches what the plugin started. There is no parent-death signal
// outside Linux: a plugin built with the sdk exits when its parent changes.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
