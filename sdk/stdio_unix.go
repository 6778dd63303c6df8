//go:build unix

package sdk

import (
	"os"
	"syscall"
)

// protectStdout keeps the handshake alone on stdout. go-plugin writes the
// handshake line to os.Stdout, but output written to file descriptor 1
// directly (by C code, or by a child process) would land on the host's
// handshake pipe too. So the handshake gets a private duplicate of
// descriptor 1, and descriptor 1 itself is pointed at stderr, which the host
// logs line by line. It returns a function that, once the handshake is done,
// closes the duplicate and points os.Stdout and os.Stderr back at
// descriptors 1 and 2 (go-plugin replaces them with pipes it forwards over
// gRPC, asynchronously, so that the last lines before a crash or an exit
// could be lost).
func protectStdout() (restore func()) {
	stdout, stderr := os.Stdout, os.Stderr
	keep := func() {
		os.Stdout, os.Stderr = stdout, stderr
	}
	fd, err := syscall.Dup(1)
	if err != nil {
		return keep
	}
	syscall.CloseOnExec(fd)
	if err := dup2(2, 1); err != nil {
		syscall.Close(fd)
		return keep
	}
	handshake := os.NewFile(uintptr(fd), "/dev/stdout")
	os.Stdout = handshake
	return func() {
		keep() // stdout is descriptor 1, now stderr's
		handshake.Close()
	}
}
