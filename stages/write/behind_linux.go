package write

import (
	"os"

	"golang.org/x/sys/unix"
)

// startWritebackOS starts writing bytes [off, off+n) of fh to disk without
// waiting for it (sync_file_range(2) with SYNC_FILE_RANGE_WRITE).
func startWritebackOS(fh *os.File, off, n int64) error {
	return unix.SyncFileRange(int(fh.Fd()), off, n, unix.SYNC_FILE_RANGE_WRITE)
}

// dropCachedOS drops the clean pages of bytes [off, off+n) of fh from the
// page cache (posix_fadvise(2) with POSIX_FADV_DONTNEED); pages still dirty
// or under writeback stay.
func dropCachedOS(fh *os.File, off, n int64) error {
	return unix.Fadvise(int(fh.Fd()), off, n, unix.FADV_DONTNEED)
}
