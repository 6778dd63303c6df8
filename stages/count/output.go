package count

import (
	"bufio"
	"cmp"
	"context"
	"encoding/csv"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// entry is one count with its key decoded into parts.
type entry struct {
	parts []string
	n     int64
}

// entries decodes c, whose keys have width parts each, sorted for output:
// by parts, except that with top > 0 each innermost group (entries equal
// in all parts but the last) is ordered by count, largest first, ties by
// last part, and cut to its top entries. The parts share the keys' memory.
func entries(c *counter, width, top int) []entry {
	backing := make([]string, 0, len(c.counts)*width)
	out := make([]entry, 0, len(c.counts))
	for k, i := range c.index {
		start := len(backing)
		parts := splitParts(k, backing[start:start:start+width])
		backing = backing[:start+len(parts)]
		out = append(out, entry{parts: parts, n: c.counts[i]})
	}
	slices.SortFunc(out, func(a, b entry) int { return compareEntries(a, b, top > 0) })
	if top <= 0 {
		return out
	}
	kept := out[:0] // filtered in place: kept never gets ahead of the loop
	var group []string
	inGroup := 0
	for i, e := range out {
		if g := e.parts[:len(e.parts)-1]; i == 0 || !slices.Equal(g, group) {
			group, inGroup = g, 0
		}
		if inGroup < top {
			kept = append(kept, e)
		}
		inGroup++
	}
	return kept
}

func compareEntries(a, b entry, byCount bool) int {
	last := len(a.parts) - 1
	if last < 0 {
		return 0
	}
	for i := range last {
		if c := strings.Compare(a.parts[i], b.parts[i]); c != 0 {
			return c
		}
	}
	if byCount && a.n != b.n {
		return cmp.Compare(b.n, a.n)
	}
	return strings.Compare(a.parts[last], b.parts[last])
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
	if !s.attributes {
		for i, e := range entries(&a.groups, keys, s.top) {
			if i%checkEvery == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			j.enter(e.parts[:keys-1])
			j.number(e.parts[keys-1], e.n)
		}
		return j.end()
	}
	groups := entries(&a.groups, keys, 0)
	attrs := entries(&a.attrs, keys+3, s.top)
	path := make([]string, 0, keys+3)
	k := 0
	for _, g := range groups {
		j.enter(g.parts)
		j.number("records", g.n)
		path = append(append(path[:0], g.parts...), "attributes")
		j.enter(path)
		for ; k < len(attrs) && slices.Equal(attrs[k].parts[:keys], g.parts); k++ {
			if k%checkEvery == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			e := attrs[k]
			path = append(path[:keys+1], e.parts[keys], e.parts[keys+1])
			j.enter(path)
			j.number(e.parts[keys+2], e.n)
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
	if !s.attributes {
		for i, e := range entries(&a.groups, keys, s.top) {
			if i%checkEvery == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			c.Write(append(append(row[:0], e.parts...), strconv.FormatInt(e.n, 10)))
		}
		c.Flush()
		return c.Error()
	}
	groups := entries(&a.groups, keys, 0)
	attrs := entries(&a.attrs, keys+3, s.top)
	k := 0
	for _, g := range groups {
		// The group's record count: a row with no element.
		c.Write(append(append(row[:0], g.parts...), "", "", "", strconv.FormatInt(g.n, 10)))
		for ; k < len(attrs) && slices.Equal(attrs[k].parts[:keys], g.parts); k++ {
			if k%checkEvery == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			c.Write(append(append(row[:0], attrs[k].parts...), strconv.FormatInt(attrs[k].n, 10)))
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
