package plugins

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// createShared creates an anonymous memory file of size bytes (memfd, not
// visible in any file system, closed on exec unless passed on explicitly)
// and maps it read-write.
func createShared(size int) (*os.File, []byte, error) {
	fd, err := unix.MemfdCreate("sluice-batches", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, nil, fmt.Errorf("memfd_create: %w", err)
	}
	file := os.NewFile(uintptr(fd), "sluice-batches")
	if err := file.Truncate(int64(size)); err != nil {
		file.Close()
		return nil, nil, fmt.Errorf("sizing shared memory to %d bytes: %w", size, err)
	}
	mem, err := unix.Mmap(fd, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		file.Close()
		return nil, nil, fmt.Errorf("mapping %d bytes of shared memory: %w", size, err)
	}
	return file, mem, nil
}

func unmapShared(mem []byte) { unix.Munmap(mem) }
