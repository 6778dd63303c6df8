//go:build !unix

package inputfile

import "os"

// pollable returns in itself, and a release that leaves it open. Off
// Unix, a read from a pipe that never delivers cannot be interrupted.
func pollable(in *os.File) (*os.File, func() error, error) {
	return in, func() error { return nil }, nil
}
