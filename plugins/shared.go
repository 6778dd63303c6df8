package plugins

import (
	"os"
	"sync"

	"github.com/sluicehq/sluice/sdk/protocol"
)

// sharedMemory is the memory an instance shares with its plugin process
// (protocol.SharedMemoryEnv): the host writes each batch's body into a slot of
// it and sends only the slot's place over the socket, which saves the
// plugin path most of its cost per byte (TLS, the copies through the
// kernel, gRPC's framing). There is one slot per batch the instance may
// have in flight. A slot is taken when its batch is sent and given back
// when the batch's answer arrives, which the plugin sends after it has read
// the body; a batch that gets no answer (its instance timed out or died,
// or the run was cancelled) keeps its slot until the instance stops, and
// batches that find no free slot, or do not fit in one, go over the socket
// whole.
//
// The plugin maps the memory read-only and the host never reads it back,
// so a plugin cannot alter what the host sees.
type sharedMemory struct {
	file      *os.File // passed to the process; closed by close
	mem       []byte   // the host's read-write mapping
	slotBytes int

	mu   sync.Mutex
	free []int          // free slots
	held map[uint64]int // slots of batches sent, by sequence number
}

// sharedSlotBytes is the size of a slot for batches of cfg: room for
// batch_bytes of records and their metadata, rounded up to whole pages, and
// at most maxSharedSlot. Batches that do not fit go over the socket.
func sharedSlotBytes(cfg *Config) int {
	n := int64(cfg.BatchBytes) + int64(cfg.BatchSize)*128 + 64<<10
	n = min(n, maxSharedSlot)
	page := int64(os.Getpagesize())
	return int((n + page - 1) / page * page)
}

// maxSharedSlot bounds a slot, so that a huge batch_bytes does not map a
// huge file; the memory is only used as far as batches fill it.
const maxSharedSlot = 256 << 20

// newSharedMemory creates the memory for slots batches of slotBytes each,
// or returns an error when the system cannot (see createShared).
func newSharedMemory(slots, slotBytes int) (*sharedMemory, error) {
	file, mem, err := createShared(slots * slotBytes)
	if err != nil {
		return nil, err
	}
	s := &sharedMemory{file: file, mem: mem, slotBytes: slotBytes, held: map[uint64]int{}}
	for i := slots - 1; i >= 0; i-- {
		s.free = append(s.free, i)
	}
	return s, nil
}

// place writes b's body into a free slot and returns where it is; ok is
// false when b must go over the socket instead. s may be nil.
func (s *sharedMemory) place(b *protocol.Batch) (off, n int, ok bool) {
	if s == nil {
		return 0, 0, false
	}
	n, ok = b.SharedSize()
	if !ok || n == 0 || n > s.slotBytes {
		return 0, 0, false
	}
	s.mu.Lock()
	if len(s.free) == 0 {
		s.mu.Unlock()
		return 0, 0, false
	}
	slot := s.free[len(s.free)-1]
	s.free = s.free[:len(s.free)-1]
	s.held[b.Seq()] = slot
	s.mu.Unlock()
	off = slot * s.slotBytes
	b.AppendShared(s.mem[off : off : off+n])
	return off, n, true
}

// answered gives back the slot of the batch seq, if it had one. s may be
// nil.
func (s *sharedMemory) answered(seq uint64) {
	if s == nil {
		return
	}
	s.mu.Lock()
	if slot, ok := s.held[seq]; ok {
		delete(s.held, seq)
		s.free = append(s.free, slot)
	}
	s.mu.Unlock()
}

// close unmaps the memory and closes the file. Nothing may use s
// afterwards. s may be nil.
func (s *sharedMemory) close() {
	if s == nil {
		return
	}
	unmapShared(s.mem)
	s.file.Close()
}
