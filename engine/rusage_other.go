//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package engine

// peakRSS is not known on this system.
func peakRSS() int64 { return 0 }
