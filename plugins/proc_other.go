//go:build !unix

package plugins

import (
	"os"
	"syscall"
)

// treePeak is not known outside Linux.
func treePeak(int) int64 { return 0 }

// sysProcAttr has nothing to add outside Unix.
func sysProcAttr() *syscall.SysProcAttr { return nil }

// killGroup kills the process; there are no process groups to kill.
func killGroup(pid int) {
	if p, err := os.FindProcess(pid); err == nil {
		_ = p.Kill()
	}
}

// processAlive cannot tell without Unix signals; it reports true while the
// process can be found.
func processAlive(pid int) bool {
	_, err := os.FindProcess(pid)
	return err == nil
}
