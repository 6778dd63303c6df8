//go:build !unix

package sdk

import "os"

// protectStdout only restores os.Stdout and os.Stderr after the handshake
// where file descriptors cannot be duplicated portably (see the Unix
// version).
func protectStdout() (restore func()) {
	stdout, stderr := os.Stdout, os.Stderr
	return func() { os.Stdout, os.Stderr = stdout, stderr }
}
