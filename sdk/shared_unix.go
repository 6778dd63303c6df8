//go:build unix

package sdk

import (
	"fmt"
	"os"
	"strconv"
	"syscall"

	"github.com/sluicehq/sluice/sdk/protocol"
)

// mapShared maps, read-only, the memory the host shares with this process
// for batches (see protocol.SharedMemoryEnv), and closes the descriptor, which
// the mapping outlives, so that processes the plugin starts do not inherit
// it. It returns nil when the host shares none.
func mapShared() ([]byte, error) {
	v, ok := os.LookupEnv(protocol.SharedMemoryEnv)
	if !ok {
		return nil, nil
	}
	os.Unsetenv(protocol.SharedMemoryEnv)
	fd, err := strconv.Atoi(v)
	if err != nil || fd < 3 {
		return nil, fmt.Errorf("%s=%q is not a file descriptor above 2", protocol.SharedMemoryEnv, v)
	}
	defer syscall.Close(fd)
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		return nil, fmt.Errorf("%s=%d: %w", protocol.SharedMemoryEnv, fd, err)
	}
	if st.Size <= 0 || int64(int(st.Size)) != st.Size {
		return nil, fmt.Errorf("%s=%d: the file has %d bytes", protocol.SharedMemoryEnv, fd, st.Size)
	}
	mem, err := syscall.Mmap(fd, 0, int(st.Size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("%s=%d: mapping %d bytes: %w", protocol.SharedMemoryEnv, fd, st.Size, err)
	}
	return mem, nil
}
