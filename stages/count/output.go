package count

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/csv"
	"io"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/sourcegraph/conc/stream"
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

// sortedOffsets returns the offsets of c's entries sorted by key, sorted
// on every core when c is large (see sortRuns).
func (c *counter) sortedOffsets() []uint64 {
	offs := make([]uint64, 0, c.len())
	m := newMerger(sortRuns([]*counter{c}, runtime.GOMAXPROCS(0)))
	for {
		_, off, _, ok := m.next()
		if !ok {
			return offs
		}
		offs = append(offs, off)
	}
}

// totals are the counts of every worker's accumulator, brought together
// for output without merging the counters themselves: they are merged in
// key order as they are written (merge.go).
type totals struct {
	groups   []*counter   // each accumulator's records per group
	prefixes counter      // every attribute key prefix → its index in vals
	vals     [][]*counter // per prefix, the value counters of the accumulators that counted it
	aggs     []*aggTable  // each accumulator's aggregate states
}

// totals returns the counts of a and of the accumulators merged into it.
func (a *accumulator) totals() *totals {
	t := &totals{}
	for _, x := range append([]*accumulator{a}, a.merged...) {
		t.groups = append(t.groups, &x.groups)
		t.aggs = append(t.aggs, &x.aggs)
		for _, off := range x.attrs.prefixes.offsets() {
			p, found := t.prefixes.find(x.attrs.prefixes.keyAt(off))
			if !found {
				t.prefixes.addAt(p, int64(len(t.vals)))
				t.vals = append(t.vals, nil)
			}
			i := t.prefixes.countAt(p)
			t.vals[i] = append(t.vals[i], x.attrs.vals[x.attrs.prefixes.countAt(off)])
		}
	}
	return t
}

// records returns the number of records counted.
func (t *totals) records() int64 {
	var n int64
	for _, g := range t.groups {
		for off := uint64(0); off < uint64(len(g.arena)); off = g.next(off) {
			n += g.countAt(off)
		}
	}
	return n
}

// eachGroup calls f with every group's key and record count in output
// order (see sortedEntries for top), until f returns an error.
func (t *totals) eachGroup(ctx context.Context, top int, f func(key []byte, n int64) error) error {
	if top > 0 {
		c := mergeInto(t.groups)
		for i, off := range sortedEntries(c, top) {
			if i%checkEvery == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			if err := f(c.keyAt(off), c.countAt(off)); err != nil {
				return err
			}
		}
		return nil
	}
	return mergeRuns(ctx, sortRuns(t.groups, runtime.GOMAXPROCS(0)), f)
}

// eachGroupAttribute calls group with every group's key parts and record
// count in key order, each followed by attribute with the group's
// attribute key prefixes (keys by parts, then element and attribute) and
// the value counters of each. The parts are valid during the call.
func (t *totals) eachGroupAttribute(ctx context.Context, keys int, group func(gp []string, n int64), attribute func(pp []string, vals []*counter) error) error {
	prefixes, pi := t.prefixes.sortedOffsets(), 0
	var gp, pp []string
	return t.eachGroup(ctx, 0, func(key []byte, n int64) error {
		gp = splitParts(string(key), gp)
		group(gp, n)
		// The prefixes are in key order, and a group's key begins its
		// prefixes' keys: the group's are the next ones.
		for ; pi < len(prefixes); pi++ {
			off := prefixes[pi]
			pp = splitParts(string(t.prefixes.keyAt(off)), pp)
			if !slices.Equal(pp[:keys], gp) {
				break
			}
			if err := attribute(pp, t.vals[t.prefixes.countAt(off)]); err != nil {
				return err
			}
		}
		return nil
	})
}

// mergeInto adds the counts of cs[1:] to cs[0] and returns it: for top,
// which orders by the total counts.
func mergeInto(cs []*counter) *counter {
	for _, c := range cs[1:] {
		cs[0].merge(c)
	}
	return cs[0]
}

// A piece is text being formatted for a run of totals, one add per total.
type piece interface {
	// reserve makes room for n more totals whose keys are about keyLen
	// bytes long.
	reserve(n, keyLen int)
	add(key []byte, n int64)
	size() int
	// rows returns the number of totals added.
	rows() int64
	// take returns the text added since the last take; it is valid until
	// the next add.
	take() []byte
}

// pieceEntries is about how many totals one piece of a large output holds
// when it is formatted in parallel.
var pieceEntries = 1 << 15

// flushAt is the size past which a piece formatted as the output is
// written hands its text over.
const flushAt = 64 << 10

// writeValues writes the values of one attribute key prefix, counted by
// the counters cs, in output order: by value, or with top > 0 by count (see
// sortedValues). The text comes from pieces made by newPiece and goes to
// emit in order, and it returns the number of values written. A large
// output is merged and formatted in pieces on every core at once.
func (s *Stage) writeValues(ctx context.Context, cs []*counter, newPiece func() piece, emit func([]byte)) (int64, error) {
	procs := runtime.GOMAXPROCS(0)
	if s.top > 0 {
		c := mergeInto(cs)
		p := newPiece()
		for i, off := range sortedValues(c, s.top) {
			if i%checkEvery == 0 && ctx.Err() != nil {
				return 0, ctx.Err()
			}
			if p.add(c.keyAt(off), c.countAt(off)); p.size() >= flushAt {
				emit(p.take())
			}
		}
		emit(p.take())
		return p.rows(), nil
	}
	runs := sortRuns(cs, procs)
	total := entries(runs)
	format := func(runs []sortedRun, p piece, flush bool) error {
		return mergeRuns(ctx, runs, func(key []byte, n int64) error {
			if p.add(key, n); flush && p.size() >= flushAt {
				emit(p.take())
			}
			return nil
		})
	}
	if procs == 1 || total < 2*pieceEntries {
		p := newPiece()
		if err := format(runs, p, true); err != nil {
			return 0, err
		}
		emit(p.take())
		return p.rows(), nil
	}
	keyLen := 0
	for _, c := range cs {
		keyLen += len(c.arena) - 9*c.len() // an entry: count, length, key
	}
	keyLen /= max(total, 1)
	st := stream.New().WithMaxGoroutines(procs)
	var failed error
	var rows int64
	for _, runs := range cut(runs, total/pieceEntries) {
		if ctx.Err() != nil {
			break
		}
		st.Go(func() stream.Callback {
			p := newPiece()
			p.reserve(entries(runs), keyLen)
			err := format(runs, p, false)
			return func() {
				if failed == nil && err == nil {
					emit(p.take())
					rows += p.rows()
				}
				failed = cmp.Or(failed, err)
			}
		})
	}
	st.Wait()
	return rows, cmp.Or(failed, ctx.Err())
}

// jsonPiece formats totals as members of a JSON object, each after a
// comma (see jsonWriter.members).
type jsonPiece struct {
	indent string // a newline and the members' indentation
	buf    []byte
	n      int64
}

func (p *jsonPiece) reserve(n, keyLen int) {
	p.buf = slices.Grow(p.buf, n*(len(p.indent)+keyLen+12))
}

func (p *jsonPiece) add(key []byte, n int64) {
	p.n++
	p.buf = append(p.buf, ',')
	p.buf = append(p.buf, p.indent...)
	p.buf = appendJSONString(p.buf, unsafe.String(unsafe.SliceData(key), len(key)))
	p.buf = append(p.buf, ':', ' ')
	p.buf = strconv.AppendInt(p.buf, n, 10)
}

func (p *jsonPiece) size() int { return len(p.buf) }

func (p *jsonPiece) rows() int64 { return p.n }

func (p *jsonPiece) take() []byte {
	b := p.buf
	p.buf = p.buf[:0]
	return b
}

// csvPiece formats totals as CSV rows: the fields of the prefix, the
// value and the count.
type csvPiece struct {
	buf bytes.Buffer
	w   *csv.Writer
	row []string // the prefix's fields, then room for two more
	n   int64
}

func newCSVPiece(prefix []string) *csvPiece {
	p := &csvPiece{row: append(slices.Clip(prefix), "", "")}
	p.w = csv.NewWriter(&p.buf)
	return p
}

func (p *csvPiece) reserve(n, keyLen int) {
	row := keyLen + 12
	for _, f := range p.row {
		row += len(f) + 1
	}
	p.buf.Grow(n * row)
}

func (p *csvPiece) add(key []byte, n int64) {
	p.n++
	k := len(p.row) - 2
	p.row[k] = unsafe.String(unsafe.SliceData(key), len(key))
	p.row[k+1] = strconv.FormatInt(n, 10)
	p.w.Write(p.row) // a bytes.Buffer never fails
}

func (p *csvPiece) size() int { return p.buf.Len() }

func (p *csvPiece) rows() int64 { return p.n }

func (p *csvPiece) take() []byte {
	p.w.Flush()
	b := p.buf.Bytes()
	p.buf.Reset()
	return b
}

// entry decodes the entry at off into parts (reusing dst) and its count.
// The parts share one new string per key, so they may be kept.
func (c *counter) entry(off uint64, dst []string) ([]string, int64) {
	return splitParts(string(c.keyAt(off)), dst), c.countAt(off)
}

// write writes the totals in the stage's format and returns the bytes
// and the rows written: a row is one count, as in the CSV form (a group,
// or an attribute value in attributes mode, where each group's record
// count is a row too).
func (s *Stage) write(ctx context.Context, w io.Writer, t *totals) (bytes, rows int64, err error) {
	cw := &countingWriter{w: w}
	bw := bufio.NewWriterSize(cw, 256<<10)
	switch s.format {
	case formatCSV:
		rows, err = s.writeCSV(ctx, bw, t)
	case formatJSONL:
		rows, err = s.writeJSONL(ctx, bw, t)
	default:
		rows, err = s.writeJSON(ctx, bw, t)
	}
	if err == nil {
		err = bw.Flush()
	}
	return cw.n, rows, err
}

// checkEvery is how many entries are written between checks for
// cancellation.
const checkEvery = 1 << 14

// eachKeyed calls f with every group's key parts, record count and
// aggregate totals (nil without aggregates) in output order, and returns
// the number of groups.
func (s *Stage) eachKeyed(ctx context.Context, t *totals, f func(gp []string, n int64, aggs []aggState)) (int64, error) {
	var gp []string
	var st []aggState
	var rows int64
	err := t.eachGroup(ctx, s.top, func(key []byte, n int64) error {
		gp = splitParts(string(key), gp)
		if len(s.aggs) > 0 {
			var err error
			if st, err = groupAggs(s.aggs, t.aggs, key, s.names, st); err != nil {
				return err
			}
		}
		rows++
		f(gp, n, st)
		return nil
	})
	return rows, err
}

func (s *Stage) writeJSON(ctx context.Context, w *bufio.Writer, t *totals) (int64, error) {
	j := &jsonWriter{w: w}
	j.begin()
	keys := len(s.by)
	if !s.attributes {
		var val []byte
		rows, err := s.eachKeyed(ctx, t, func(gp []string, n int64, st []aggState) {
			if len(s.aggs) == 0 {
				j.enter(gp[:keys-1])
				j.number(gp[keys-1], n)
				return
			}
			j.enter(gp)
			j.number("count", n)
			for i, a := range s.aggs {
				val = appendResult(val[:0], a, &st[i])
				j.raw(a.name, val)
			}
		})
		if err != nil {
			return 0, err
		}
		return rows, j.end()
	}
	path := make([]string, 0, keys+3)
	var rows int64
	err := t.eachGroupAttribute(ctx, keys, func(gp []string, gn int64) {
		rows++
		j.enter(gp)
		j.number("records", gn)
		path = append(append(path[:0], gp...), "attributes")
		j.enter(path)
	}, func(pp []string, vals []*counter) error {
		path = append(path[:keys+1], pp[keys], pp[keys+1])
		j.enter(path)
		indent := j.memberIndent()
		n, err := s.writeValues(ctx, vals, func() piece { return &jsonPiece{indent: indent} }, j.members)
		rows += n
		return err
	})
	if err != nil {
		return 0, err
	}
	return rows, j.end()
}

func (s *Stage) writeCSV(ctx context.Context, w *bufio.Writer, t *totals) (int64, error) {
	c := csv.NewWriter(w)
	keys := len(s.by)
	row := make([]string, 0, keys+4+len(s.aggs))
	row = append(row, s.names...)
	if s.attributes {
		row = append(row, "element", "attribute", "value")
	}
	row = append(row, "count")
	for _, a := range s.aggs {
		row = append(row, a.name)
	}
	c.Write(row)
	if !s.attributes {
		var val []byte
		rows, err := s.eachKeyed(ctx, t, func(gp []string, n int64, st []aggState) {
			row = append(append(row[:0], gp...), strconv.FormatInt(n, 10))
			for i, a := range s.aggs {
				val = appendResult(val[:0], a, &st[i])
				row = append(row, string(val))
			}
			c.Write(row)
		})
		if err != nil {
			return 0, err
		}
		c.Flush()
		return rows, c.Error()
	}
	var rows int64
	err := t.eachGroupAttribute(ctx, keys, func(gp []string, gn int64) {
		// The group's record count: a row with no element.
		rows++
		c.Write(append(append(row[:0], gp...), "", "", "", strconv.FormatInt(gn, 10)))
	}, func(pp []string, vals []*counter) error {
		c.Flush() // the rows so far come before the values, written to w
		prefix := slices.Clone(pp)
		n, err := s.writeValues(ctx, vals, func() piece { return newCSVPiece(prefix) }, func(b []byte) { w.Write(b) })
		rows += n
		return err
	})
	if err != nil {
		return 0, err
	}
	c.Flush()
	return rows, c.Error()
}

// writeJSONL writes one JSON object per line with the members of a CSV
// row: the keys by name, then count and the aggregates; in attributes
// mode a group's line holds its keys and records, and each value's line
// its keys, element, attribute, value and count.
func (s *Stage) writeJSONL(ctx context.Context, w *bufio.Writer, t *totals) (int64, error) {
	var line []byte
	if !s.attributes {
		return s.eachKeyed(ctx, t, func(gp []string, n int64, st []aggState) {
			line = appendMembers(append(line[:0], '{'), s.names, gp)
			line = appendIntMember(line, "count", n)
			for i, a := range s.aggs {
				line = appendJSONString(append(line, ',', ' '), a.name)
				line = appendResult(append(line, ':', ' '), a, &st[i])
			}
			w.Write(append(line, '}', '\n'))
		})
	}
	names := append(slices.Clip(s.names), "element", "attribute")
	var rows int64
	err := t.eachGroupAttribute(ctx, len(s.by), func(gp []string, gn int64) {
		rows++
		line = appendMembers(append(line[:0], '{'), s.names, gp)
		w.Write(append(appendIntMember(line, "records", gn), '}', '\n'))
	}, func(pp []string, vals []*counter) error {
		prefix := appendMembers([]byte{'{'}, names, pp)
		n, err := s.writeValues(ctx, vals, func() piece { return &jsonlPiece{prefix: prefix} }, func(b []byte) { w.Write(b) })
		rows += n
		return err
	})
	return rows, err
}

// appendMembers appends the members name[i]: part[i] of a JSON object
// after its opening brace.
func appendMembers(b []byte, names, parts []string) []byte {
	for i, p := range parts {
		if i > 0 {
			b = append(b, ',', ' ')
		}
		b = appendJSONString(b, names[i])
		b = appendJSONString(append(b, ':', ' '), p)
	}
	return b
}

// appendIntMember appends the member name: n after others.
func appendIntMember(b []byte, name string, n int64) []byte {
	if len(b) > 1 {
		b = append(b, ',', ' ')
	}
	b = appendJSONString(b, name)
	return strconv.AppendInt(append(b, ':', ' '), n, 10)
}

// jsonlPiece formats attribute values as JSON lines after a prefix (the
// line's keys, element and attribute members).
type jsonlPiece struct {
	prefix []byte
	buf    []byte
	n      int64
}

func (p *jsonlPiece) reserve(n, keyLen int) {
	p.buf = slices.Grow(p.buf, n*(len(p.prefix)+keyLen+30))
}

func (p *jsonlPiece) add(key []byte, n int64) {
	p.n++
	p.buf = append(p.buf, p.prefix...)
	p.buf = appendJSONString(append(p.buf, `, "value": `...), unsafe.String(unsafe.SliceData(key), len(key)))
	p.buf = append(appendIntMember(p.buf, "count", n), '}', '\n')
}

func (p *jsonlPiece) size() int    { return len(p.buf) }
func (p *jsonlPiece) rows() int64  { return p.n }
func (p *jsonlPiece) take() []byte { b := p.buf; p.buf = p.buf[:0]; return b }

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

// memberIndent returns what starts a member of the innermost open object
// after its comma: a newline and the member's indentation.
func (j *jsonWriter) memberIndent() string {
	return "\n" + strings.Repeat("  ", len(j.empty))
}

// members writes members of the innermost open object formatted
// elsewhere (by jsonPiece), each starting with its comma: the comma of the
// first is dropped when the object is still empty.
func (j *jsonWriter) members(b []byte) {
	if len(b) == 0 {
		return
	}
	if level := len(j.empty) - 1; j.empty[level] {
		b = b[1:]
		j.empty[level] = false
	}
	j.w.Write(b)
}

// raw writes the member k with value v, a JSON number.
func (j *jsonWriter) raw(k string, v []byte) {
	j.key(k)
	j.w.Write(v)
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
