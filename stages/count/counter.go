package count

import (
	"bytes"
	"encoding/binary"
	"hash/maphash"
	"strings"
)

// counter maps keys (encoded tuples, see appendPart) to counts. It is
// built for millions of distinct keys, as when every record id of a
// catalogue is one:
//
//   - each distinct key is one entry in a byte arena: its count (8 bytes),
//     its length (a uvarint) and its bytes, back to back, so that a lookup
//     that finds the key reads one place in memory;
//   - an open-addressing table of 8-byte slots (24 bits of the key's hash
//     and the entry's offset) finds an entry, with linear probing and at
//     most 3/4 of the slots used;
//   - nothing in it holds a pointer, so the garbage collector never scans
//     it, however large it grows.
//
// A distinct key costs its bytes plus 9 (count and length) in the arena,
// and 8 to 16 bytes of table, plus the arena's spare capacity, at most a
// quarter once it is large (BenchmarkDistinctKeys reports the total).
// Counting a key already present allocates nothing. The zero value is an
// empty counter. A counter is not safe for concurrent use: each worker
// owns one, and they merge once at the end.
type counter struct {
	seed  maphash.Seed
	slots []uint64 // 0: empty; else tag | (offset of the entry + 1)
	arena []byte
	n     int // distinct keys
}

const (
	offBits = 40 // entry offsets below 1 TiB
	offMask = 1<<offBits - 1
)

// newCounter returns an empty counter.
func newCounter() counter { return counter{} }

// len returns the number of distinct keys.
func (c *counter) len() int { return c.n }

// add adds n to the count of key, inserting it if it is new.
func (c *counter) add(key []byte, n int64) {
	off, _ := c.find(key)
	c.addAt(off, n)
}

// find returns the offset of key's entry, inserting it with a count of 0
// if it is new (found is then false).
func (c *counter) find(key []byte) (off uint64, found bool) {
	if c.slots == nil {
		c.seed = maphash.MakeSeed()
		c.slots = make([]uint64, 8) // small: an attribute's values may be one; the table doubles
	}
	i, h, off, found := c.probe(key)
	if found {
		return off, true
	}
	off = c.insert(key)
	c.slots[i] = h&^offMask | off + 1
	c.n++
	if 4*c.n > 3*len(c.slots) {
		c.grow()
	}
	return off, false
}

// lookup returns the offset of key's entry, and false if it has none.
func (c *counter) lookup(key []byte) (off uint64, found bool) {
	if c.slots == nil {
		return 0, false
	}
	_, _, off, found = c.probe(key)
	return off, found
}

// probe looks key up in a table that has slots: it returns its entry's
// offset, or the empty slot where it belongs, with the key's hash.
func (c *counter) probe(key []byte) (slot, h, off uint64, found bool) {
	h = maphash.Bytes(c.seed, key)
	tag := h &^ offMask
	mask := uint64(len(c.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		s := c.slots[i]
		if s == 0 {
			return i, h, 0, false
		}
		if s&^offMask == tag {
			if off := s&offMask - 1; bytes.Equal(c.keyAt(off), key) {
				return i, h, off, true
			}
		}
	}
}

// addAt adds n to the count of the entry at off.
func (c *counter) addAt(off uint64, n int64) {
	e := c.arena[off : off+8]
	binary.LittleEndian.PutUint64(e, binary.LittleEndian.Uint64(e)+uint64(n))
}

// insert appends an entry for key to the arena and returns its offset.
// Past 64 MiB the arena grows by a quarter at a time rather than doubling,
// so that its spare capacity stays small next to millions of keys.
func (c *counter) insert(key []byte) uint64 {
	off := len(c.arena)
	need := off + 8 + binary.MaxVarintLen64 + len(key)
	if need > cap(c.arena) {
		grown := 2 * cap(c.arena)
		if cap(c.arena) > 64<<20 {
			grown = cap(c.arena) + cap(c.arena)/4
		}
		a := make([]byte, off, max(need, grown, 64)) // small first: many counters hold one key
		copy(a, c.arena)
		c.arena = a
	}
	c.arena = binary.LittleEndian.AppendUint64(c.arena, 0)
	c.arena = binary.AppendUvarint(c.arena, uint64(len(key)))
	c.arena = append(c.arena, key...)
	if uint64(len(c.arena)) > offMask {
		panic("count: more than 1 TiB of distinct keys in one counter")
	}
	return uint64(off)
}

// keyAt returns the key of the entry at off.
func (c *counter) keyAt(off uint64) []byte {
	b := c.arena[off+8:]
	n, w := binary.Uvarint(b)
	return b[w : w+int(n)]
}

// countAt returns the count of the entry at off.
func (c *counter) countAt(off uint64) int64 {
	return int64(binary.LittleEndian.Uint64(c.arena[off:]))
}

// next returns the offset of the entry after the one at off.
func (c *counter) next(off uint64) uint64 {
	n, w := binary.Uvarint(c.arena[off+8:])
	return off + 8 + uint64(w) + n
}

// grow doubles the table and places every entry again.
func (c *counter) grow() {
	slots := make([]uint64, 2*len(c.slots))
	mask := uint64(len(slots) - 1)
	for off := uint64(0); off < uint64(len(c.arena)); off = c.next(off) {
		h := maphash.Bytes(c.seed, c.keyAt(off))
		i := h & mask
		for slots[i] != 0 {
			i = (i + 1) & mask
		}
		slots[i] = h&^offMask | off + 1
	}
	c.slots = slots
}

// merge adds o's counts to c's.
func (c *counter) merge(o *counter) {
	for off := uint64(0); off < uint64(len(o.arena)); off = o.next(off) {
		c.add(o.keyAt(off), o.countAt(off))
	}
}

// offsets returns the offset of every entry, in insertion order.
func (c *counter) offsets() []uint64 {
	offs := make([]uint64, 0, c.n)
	for off := uint64(0); off < uint64(len(c.arena)); off = c.next(off) {
		offs = append(offs, off)
	}
	return offs
}

// memory returns the bytes the counter holds.
func (c *counter) memory() int { return 8*cap(c.slots) + cap(c.arena) }

// Keys are tuples of strings encoded so that comparing two encoded keys
// byte by byte orders them as the tuples, part by part: each part is its
// bytes with 0x00 written as 0x00 0xFF, then the terminator 0x00 0x01. Any
// bytes may appear in a part, and a tuple is one key.
const (
	escZero = 0xFF
	endPart = 0x01
)

// appendPart appends s as one part of a key.
func appendPart[S string | []byte](b []byte, s S) []byte {
	for {
		i := strings.IndexByte(string(s), 0)
		if i < 0 {
			b = append(b, s...)
			return append(b, 0, endPart)
		}
		b = append(b, s[:i]...)
		b = append(b, 0, escZero)
		s = s[i+1:]
	}
}

// splitParts decodes an encoded key into dst (which should have room for
// every part). Parts share the key's memory unless they hold 0x00 bytes.
func splitParts(key string, dst []string) []string {
	dst = dst[:0]
	for len(key) > 0 {
		i := strings.IndexByte(key, 0)
		if i < 0 || i+1 == len(key) {
			panic("count: malformed key") // keys are only made by appendPart
		}
		if key[i+1] == endPart {
			dst = append(dst, key[:i])
			key = key[i+2:]
			continue
		}
		var p strings.Builder // a part holding 0x00: the rare slow path
		for key[i+1] == escZero {
			p.WriteString(key[:i])
			p.WriteByte(0)
			key = key[i+2:]
			i = strings.IndexByte(key, 0)
			if i < 0 || i+1 == len(key) {
				panic("count: malformed key")
			}
		}
		p.WriteString(key[:i])
		dst = append(dst, p.String())
		key = key[i+2:]
	}
	return dst
}

// lastPart returns where the last part of an encoded key starts: the keys
// of one innermost group share key[:lastPart(key)].
func lastPart(key []byte) int {
	end := len(key) - 2 // the last part's terminator
	for i := end - 1; i > 0; i-- {
		if key[i-1] == 0 && key[i] == endPart {
			return i + 1
		}
	}
	return 0
}
