package count

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"encoding/csv"
	"io"
	"slices"
	"strconv"
	"sync"
	"unicode/utf8"
	"unsafe"
)

// sortedEntries returns the offsets of c's entries in output order: by
// key, that is by parts, except that with top > 0 each innermost group
// (entries equal in all parts but the last) is ordered by count, largest
// first, ties by last part, and cut to its top entries. It sorts offsets:
// 8 bytes per entry, whatever the keys.
func sortedEntries(c *counter, top int) []uint64 {
	offs := c.sortedOffsets()
	if top <= 0 {
		return offs
	}
	kept := offs[:0] // filtered in place: kept never gets ahead of i
	for i := 0; i < len(offs); {
		k := c.keyAt(offs[i])
		group := k[:lastPart(k)]
		j := i + 1
		for ; j < len(offs); j++ {
			kj := c.keyAt(offs[j])
			if !bytes.Equal(kj[:lastPart(kj)], group) {
				break
			}
		}
		g := offs[i:j]
		slices.SortStableFunc(g, func(a, b uint64) int { return cmp.Compare(c.countAt(b), c.countAt(a)) })
		kept = append(kept, g[:min(top, len(g))]...)
		i = j
	}
	return kept
}

// sortedValues returns the offsets of the entries of c, a counter of raw
// values (one part, not encoded), in output order: by value, or with
// top > 0 by count, largest first, ties by value, cut to top entries.
func sortedValues(c *counter, top int) []uint64 {
	offs := c.sortedOffsets()
	if top > 0 {
		slices.SortStableFunc(offs, func(a, b uint64) int { return cmp.Compare(c.countAt(b), c.countAt(a)) })
		offs = offs[:min(top, len(offs))]
	}
	return offs
}

// attrIter walks attribute counts in output order: key prefixes (by keys,
// element, attribute) in order, and the values of each as sortedValues
// orders them.
type attrIter struct {
	ac     *attrTally
	top    int
	prefs  []uint64 // sorted prefix entries
	pi     int
	vals   *counter // the current prefix's values
	voffs  []uint64
	vi     int
	parts  []string
	nParts int // parts of the current prefix
}

func newAttrIter(ac *attrTally, top int) *attrIter {
	return &attrIter{ac: ac, top: top, prefs: sortedEntries(&ac.prefixes, 0), pi: -1}
}

// next returns the next count, its key's parts (by keys, element,
// attribute, value) and whether there was one. The slice is reused by the
// next call; the value's string shares the counter's memory, the other
// parts may be kept.
func (it *attrIter) next() ([]string, int64, bool) {
	for it.vals == nil || it.vi == len(it.voffs) {
		if it.pi++; it.pi == len(it.prefs) {
			return nil, 0, false
		}
		off := it.prefs[it.pi]
		it.vals = it.ac.vals[it.ac.prefixes.countAt(off)]
		it.voffs, it.vi = sortedValues(it.vals, it.top), 0
		it.parts = splitParts(string(it.ac.prefixes.keyAt(off)), it.parts)
		it.nParts = len(it.parts)
	}
	off := it.voffs[it.vi]
	it.vi++
	// The value shares the counter's memory, which nothing changes while
	// the output is written; the caller writes it before the next call.
	it.parts = append(it.parts[:it.nParts], unsafe.String(unsafe.SliceData(it.vals.keyAt(off)), len(it.vals.keyAt(off))))
	return it.parts, it.vals.countAt(off), true
}

// sortedOffsets returns the offsets of c's entries sorted by key. It
// compares the first 16 bytes of the keys as two integers, carried beside
// each offset, and reads the keys themselves only for ties: far fewer
// cache misses than comparing keys in the arena for every comparison.
func (c *counter) sortedOffsets() []uint64 {
	type item struct{ hi, lo, off uint64 }
	items := make([]item, 0, c.len())
	for _, off := range c.offsets() {
		var b [16]byte
		copy(b[:], c.keyAt(off))
		items = append(items, item{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:]), off})
	}
	less := func(x, y item) int {
		if x.hi != y.hi {
			return cmp.Compare(x.hi, y.hi)
		}
		if x.lo != y.lo {
			return cmp.Compare(x.lo, y.lo)
		}
		return bytes.Compare(c.keyAt(x.off), c.keyAt(y.off))
	}
	offs := make([]uint64, len(items))
	if len(items) < parallelSort {
		slices.SortFunc(items, less)
		for i, it := range items {
			offs[i] = it.off
		}
		return offs
	}
	// A large counter (record ids: a million keys) is sorted at the end of
	// the run, when nothing else is left to do: its two halves are sorted
	// at once, on two cores, and merged.
	a, b := items[:len(items)/2], items[len(items)/2:]
	var wg sync.WaitGroup
	wg.Go(func() { slices.SortFunc(a, less) })
	slices.SortFunc(b, less)
	wg.Wait()
	for i := range offs {
		if len(b) == 0 || len(a) > 0 && less(a[0], b[0]) <= 0 {
			offs[i], a = a[0].off, a[1:]
		} else {
			offs[i], b = b[0].off, b[1:]
		}
	}
	return offs
}

// parallelSort is the number of keys from which sortedOffsets sorts on two
// goroutines.
const parallelSort = 1 << 16

// entry decodes the entry at off into parts (reusing dst) and its count.
// The parts share one new string per key, so they may be kept.
func (c *counter) entry(off uint64, dst []string) ([]string, int64) {
	return splitParts(string(c.keyAt(off)), dst), c.countAt(off)
}

// write writes the counts in the stage's format and returns the bytes
// written.
func (s *Stage) write(ctx context.Context, w io.Writer, a *accumulator) (int64, error) {
	cw := &countingWriter{w: w}
	bw := bufio.NewWriterSize(cw, 256<<10)
	var err error
	if s.format == formatCSV {
		err = s.writeCSV(ctx, bw, a)
	} else {
		err = s.writeJSON(ctx, bw, a)
	}
	if err == nil {
		err = bw.Flush()
	}
	return cw.n, err
}

// checkEvery is how many entries are written between checks for
// cancellation.
const checkEvery = 1 << 14

func (s *Stage) writeJSON(ctx context.Context, w *bufio.Writer, a *accumulator) error {
	j := &jsonWriter{w: w}
	j.begin()
	keys := len(s.by)
	gp := make([]string, 0, keys)
	if !s.attributes {
		for i, off := range sortedEntries(&a.groups, s.top) {
			if i%checkEvery == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			var n int64
			gp, n = a.groups.entry(off, gp)
			j.enter(gp[:keys-1])
			j.number(gp[keys-1], n)
		}
		return j.end()
	}
	groups := sortedEntries(&a.groups, 0)
	attrs := newAttrIter(&a.attrs, s.top)
	path := make([]string, 0, keys+3)
	ap, an, more := attrs.next()
	for _, off := range groups {
		var gn int64
		gp, gn = a.groups.entry(off, gp)
		j.enter(gp)
		j.number("records", gn)
		path = append(append(path[:0], gp...), "attributes")
		j.enter(path)
		for k := 0; more && slices.Equal(ap[:keys], gp); k++ {
			if k%checkEvery == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			path = append(path[:keys+1], ap[keys], ap[keys+1])
			j.enter(path)
			j.number(ap[keys+2], an)
			ap, an, more = attrs.next()
		}
	}
	return j.end()
}

func (s *Stage) writeCSV(ctx context.Context, w *bufio.Writer, a *accumulator) error {
	c := csv.NewWriter(w)
	keys := len(s.by)
	row := make([]string, 0, keys+4)
	row = append(row, s.names...)
	if s.attributes {
		row = append(row, "element", "attribute", "value")
	}
	c.Write(append(row, "count"))
	gp := make([]string, 0, keys)
	if !s.attributes {
		for i, off := range sortedEntries(&a.groups, s.top) {
			if i%checkEvery == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			var n int64
			gp, n = a.groups.entry(off, gp)
			c.Write(append(append(row[:0], gp...), strconv.FormatInt(n, 10)))
		}
		c.Flush()
		return c.Error()
	}
	groups := sortedEntries(&a.groups, 0)
	attrs := newAttrIter(&a.attrs, s.top)
	ap, an, more := attrs.next()
	for _, off := range groups {
		var gn int64
		gp, gn = a.groups.entry(off, gp)
		// The group's record count: a row with no element.
		c.Write(append(append(row[:0], gp...), "", "", "", strconv.FormatInt(gn, 10)))
		for k := 0; more && slices.Equal(ap[:keys], gp); k++ {
			if k%checkEvery == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			c.Write(append(append(row[:0], ap...), strconv.FormatInt(an, 10)))
			ap, an, more = attrs.next()
		}
	}
	c.Flush()
	return c.Error()
}

// jsonWriter writes nested objects whose leaves are integers, indented by
// two spaces, streaming: only the path of open objects is kept.
type jsonWriter struct {
	w     *bufio.Writer
	open  []string // keys of the open objects below the root
	empty []bool   // per open object, root first: no member written yet
	buf   []byte
}

func (j *jsonWriter) begin() {
	j.w.WriteByte('{')
	j.empty = append(j.empty[:0], true)
}

// enter makes path the innermost open object, closing and opening objects
// as needed.
func (j *jsonWriter) enter(path []string) {
	c := 0
	for c < len(j.open) && c < len(path) && j.open[c] == path[c] {
		c++
	}
	for len(j.open) > c {
		j.close()
	}
	for _, k := range path[c:] {
		j.key(k)
		j.w.WriteByte('{')
		j.open = append(j.open, k)
		j.empty = append(j.empty, true)
	}
}

func (j *jsonWriter) key(k string) {
	level := len(j.empty) - 1
	if !j.empty[level] {
		j.w.WriteByte(',')
	}
	j.empty[level] = false
	j.newline(level + 1)
	j.buf = appendJSONString(j.buf[:0], k)
	j.buf = append(j.buf, ':', ' ')
	j.w.Write(j.buf)
}

func (j *jsonWriter) number(k string, n int64) {
	j.key(k)
	j.buf = strconv.AppendInt(j.buf[:0], n, 10)
	j.w.Write(j.buf)
}

func (j *jsonWriter) close() {
	level := len(j.empty) - 1
	if !j.empty[level] {
		j.newline(level)
	}
	j.w.WriteByte('}')
	j.empty = j.empty[:level]
	if level > 0 {
		j.open = j.open[:level-1]
	}
}

func (j *jsonWriter) newline(level int) {
	j.w.WriteByte('\n')
	for range level {
		j.w.WriteString("  ")
	}
}

// end closes every object. Write errors are kept by the bufio.Writer and
// reported by its Flush.
func (j *jsonWriter) end() error {
	for len(j.empty) > 0 {
		j.close()
	}
	j.w.WriteByte('\n')
	return nil
}

// appendJSONString appends s as a JSON string. Non-ASCII text is kept as
// UTF-8; invalid UTF-8 becomes U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20 || c == 0x7f:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
