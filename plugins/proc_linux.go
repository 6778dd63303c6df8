package plugins

import "syscall"

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
