package write

import "os"

// behindSteps is how many write_behind steps of a file stay in the page
// cache behind the newest: by then their writeback, started a step after
// they were written, has had time to finish, and dropping them finds clean
// pages.
const behindSteps = 4

// behindWriter is what an open file's buffer writes into: the file, with
// write-behind. Every write_behind bytes it starts the writeback of the
// bytes written since the last step, and it drops from the page cache the
// part of the file that lies behindSteps steps back. The page cache then
// holds about (behindSteps+1) × write_behind bytes of each file, whatever
// its size; without it a large output fills memory with dirty pages, which
// the kernel writes back in bursts, and each new page costs the writer more
// (on virtual machines that return free memory to their host, several
// times more).
//
// Both calls are advice, on Linux only: they never block on the writeback
// itself (only, as any write may, on a congested device), and a failure
// turns write-behind off for the file without failing the write. Errors
// that matter show at fsync or close, as they do without it.
type behindWriter struct {
	fh   *os.File
	f    *file
	step int64 // write_behind; 0 turns it off
}

func (b *behindWriter) Write(p []byte) (int, error) {
	n, err := b.fh.Write(p)
	f := b.f
	f.size += int64(n)
	if b.step <= 0 || f.behindOff || f.size-f.flushed < b.step {
		return n, err
	}
	if startWriteback(b.fh, f.flushed, f.size-f.flushed) != nil {
		f.behindOff = true
		return n, err
	}
	f.flushed = f.size
	if drop := f.flushed - behindSteps*b.step; drop > f.dropped {
		if dropCached(b.fh, f.dropped, drop-f.dropped) != nil {
			f.behindOff = true
		}
		f.dropped = drop
	}
	return n, err
}

// The system calls of write-behind, replaced by tests.
var (
	startWriteback = startWritebackOS
	dropCached     = dropCachedOS
)
