//go:build !linux

package plugins

import (
	"errors"
	"os"
)

// createShared fails: batches go through shared memory on Linux only.
func createShared(int) (*os.File, []byte, error) {
	return nil, nil, errors.New("shared memory for batches needs Linux (memfd_create)")
}

func unmapShared([]byte) {}
