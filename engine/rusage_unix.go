//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package engine

import (
	"runtime"
	"syscall"
)

// peakRSS returns the peak resident set size of this process, in bytes
// (getrusage's ru_maxrss, which Linux and the BSDs give in KiB and macOS
// in bytes).
func peakRSS() int64 {
	unit := int64(1024)
	if runtime.GOOS == "darwin" {
		unit = 1
	}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return int64(ru.Maxrss) * unit
}
