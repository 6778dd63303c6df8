package plugins

import (
	"runtime"
	"testing"

	"github.com/sluicehq/sluice/sdk/protocol"
	"github.com/sluicehq/sluice/stage"
)

// TestSharedSlots checks that a slot of shared memory is given to one batch
// at a time, until that batch is answered, and that batches find their
// bodies where place says.
func TestSharedSlots(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("shared memory for batches is Linux only")
	}
	s, err := newSharedMemory(2, 4096)
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	batch := func(seq uint64, size int) *protocol.Batch {
		return encode(seq, records(1, map[int]string{0: string(make([]byte, size))}))
	}
	offs := map[int]bool{}
	for seq := uint64(1); seq <= 2; seq++ {
		b := batch(seq, 100)
		off, n, ok := s.place(b)
		if !ok {
			t.Fatalf("batch %d: no slot", seq)
		}
		if want := b.AppendShared(nil); string(s.mem[off:off+n]) != string(want) {
			t.Fatalf("batch %d: the slot holds %q, want %q", seq, s.mem[off:off+n], want)
		}
		offs[off] = true
	}
	if len(offs) != 2 {
		t.Fatalf("two batches in flight share a slot: offsets %v", offs)
	}
	if _, _, ok := s.place(batch(3, 100)); ok {
		t.Fatal("a third batch got a slot while two are in flight")
	}
	s.answered(99) // not sent through shared memory: nothing to give back
	if _, _, ok := s.place(batch(4, 100)); ok {
		t.Fatal("an answer to another batch freed a slot")
	}
	s.answered(1)
	if _, _, ok := s.place(batch(5, 100)); !ok {
		t.Fatal("the answered batch's slot was not given back")
	}
	s.answered(2)
	if _, _, ok := s.place(batch(6, 5000)); ok {
		t.Fatal("a batch larger than a slot was placed")
	}
	var nilShared *sharedMemory
	if _, _, ok := nilShared.place(batch(7, 1)); ok {
		t.Fatal("placed without shared memory")
	}
	nilShared.answered(7)
	nilShared.close()
}

func TestSharedSlotBytes(t *testing.T) {
	page := 4096
	cfg := DefaultConfig()
	if got := sharedSlotBytes(cfg); got < DefaultBatchBytes+DefaultBatchSize*64 || got%page != 0 {
		t.Errorf("default slot: %d bytes, want room for batch_bytes and the records' metadata, in whole pages", got)
	}
	cfg.BatchBytes = stage.ByteSize(1 << 40)
	if got := sharedSlotBytes(cfg); got != maxSharedSlot {
		t.Errorf("slot for batch_bytes of 1 TiB: %d bytes, want the cap %d", got, maxSharedSlot)
	}
}
