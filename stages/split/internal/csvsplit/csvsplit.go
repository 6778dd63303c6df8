// Package csvsplit streams CSV (RFC 4180) into rows, keeping each row's
// raw bytes and position. It is a hand-written state machine over the
// bytes rather than encoding/csv, which does not report where a row
// starts; it accepts what encoding/csv does (with FieldsPerRecord -1, and
// with LazyQuotes as Options.LazyQuotes says), which its tests and fuzz
// target check. The differences are deliberate:
//
//   - a row ends at LF, CRLF or a lone CR, as in Python's csv (encoding/csv
//     keeps a lone CR as data, so that a file with CR line ends, as old Mac
//     programs write them, is one row to it); lines are counted alike;
//   - a quoted field keeps its bytes: a CRLF inside it stays CRLF, as RFC
//     4180 and Python's csv have it (encoding/csv turns it into LF);
//   - a UTF-8 byte order mark at the start is skipped, and a UTF-16 or
//     UTF-32 one is an error.
//
// A row is scanned in one pass after an IndexByte for its line end (the
// next LF and the next CR are each found once and reused by every row
// before them): delimiters and quotes are found eight bytes at a time,
// quoted fields with IndexByte from quote to quote. Nothing is copied per
// row: Data is a slice of the read buffer, which is never written over
// once rows share it (a new one takes its place), and Fields are
// substrings of Data's bytes, except quoted fields holding "", which are
// decoded into a slab.
package csvsplit

import (
	"bytes"
	"encoding/binary"
	"io"
	"math"
	"math/bits"
	"unsafe"

	"github.com/sluicehq/sluice/stages/split/internal/scan"
)

// Options configure a Splitter.
type Options struct {
	File           string // names the input in errors
	Comma          byte   // the field delimiter; 0 means ','
	MaxRecordBytes int    // cap on one row; 0 means 64 MiB
	BufferSize     int    // initial read window; 0 means 256 KiB
	// LazyQuotes accepts a quote in an unquoted field and a quote in a
	// quoted field that is neither doubled nor followed by a delimiter or
	// a line end, keeping it as data, and a quoted field still open at
	// the end of the input (it runs to the end), as encoding/csv's
	// LazyQuotes does. A row that needed it has Lenient set.
	LazyQuotes bool
	// Origin, when set, says that the reader starts at a row start in the
	// middle of the file (one byte range of it): positions count from
	// there, and no byte order mark is looked for.
	Origin *scan.Origin
}

// Row is one CSV row.
type Row struct {
	// Data is the row's raw bytes without its line terminator (for a
	// quoted field spanning lines, the inner line ends are included). It
	// is a slice of a shared read buffer, capped at its length: read-only,
	// never reused. It keeps that buffer (about BufferSize bytes) alive.
	Data []byte
	// Fields are the decoded values. They share Data's bytes (a field
	// that decoding changes is a copy in a shared slab): writing to Data
	// would change them, and a field kept keeps Data's buffer alive
	// (strings.Clone it to keep it alone).
	Fields []string
	// Offset and Line locate the row's first byte.
	Offset int64
	Line   int64
	// Lenient says that the row is not RFC 4180 CSV and was read under
	// LazyQuotes: it holds a bare quote, or a quoted field open at the end
	// of the input. Its Data, written out again, would not read back as
	// its Fields without LazyQuotes.
	Lenient bool
}

// RowError is a malformed row: a bare quote in an unquoted field, a quote
// followed by something other than a delimiter or a line end, or a quoted
// field still open at the end of the file. Next returns it with the
// malformed row (its raw bytes up to the end of the line where the problem
// is, Fields nil); scanning goes on with the next line.
//
// Under LazyQuotes no row is malformed: RowErrors do not occur.
type RowError struct{ Err *scan.Error }

// Error returns the positioned message.
func (e *RowError) Error() string { return e.Err.Error() }

// Unwrap returns the positioned error.
func (e *RowError) Unwrap() error { return e.Err }

// Splitter splits one stream. It is not safe for concurrent use.
type Splitter struct {
	w       *scan.Window
	file    string
	comma   byte
	lazy    bool
	max     int
	pos     int
	err     error
	started bool

	size   int  // the initial window size
	shared bool // rows handed out share s.w.Buf: do not write over it

	// The first '\n' and the first '\r' at or after lfFrom and crFrom in
	// s.w.Buf[:s.w.End] (End when there is none), found once and reused
	// by the rows before them; fill forgets them.
	lfFrom, lf int
	crFrom, cr int

	dec    []byte
	idx    []int
	slab   scan.Slab // decoded fields
	fields []string  // slab of field slices
}

// New returns a Splitter reading r.
func New(r io.Reader, opt Options) *Splitter {
	w, max, _ := scan.RecordWindow(r, opt.MaxRecordBytes, opt.BufferSize)
	comma := opt.Comma
	if comma == 0 {
		comma = ','
	}
	s := &Splitter{w: w, file: opt.File, comma: comma, lazy: opt.LazyQuotes, max: max}
	s.w.CR = true
	s.size = len(s.w.Buf)
	s.forgetLineEnds()
	s.slab.Size = 64 << 10
	if opt.Origin != nil {
		s.w.Resume(*opt.Origin)
		s.started = true
	}
	return s
}

// Next returns the next row, or io.EOF after the last. A *RowError comes
// with its row and leaves the Splitter usable; any other error (an
// oversized row, a read error) is final.
func (s *Splitter) Next() (Row, error) {
	if s.err != nil {
		return Row{}, s.err
	}
	if !s.started {
		s.started = true
		if s.pos, s.err = s.w.Start(s.file); s.err != nil {
			return Row{}, s.err
		}
	}
	for {
		row, err, ok := s.row()
		if ok {
			return row, err
		}
		if s.w.EOF {
			s.err = io.EOF
			return Row{}, io.EOF
		}
		if !s.fill() {
			return Row{}, s.err
		}
	}
}

func (s *Splitter) fill() bool {
	if s.w.End-s.pos > s.max {
		e := s.w.Errorf(s.file, s.w.Base+int64(s.pos), "row starting here is larger than max_record_bytes (%d bytes); raise max_record_bytes if it is legitimate, or check for an unbalanced quote above", s.max)
		e.Err = scan.ErrTooLarge
		s.err = e
		return false
	}
	keep := s.pos
	if s.shared && !s.w.EOF {
		// Rows handed out are slices of the window: read on into a new
		// buffer holding the rest, so that their bytes never change.
		s.w.Detach(keep, s.size)
		s.pos -= keep
		keep = 0
		s.shared = false
	}
	s.forgetLineEnds()
	if err := s.w.Fill(keep); err != nil {
		s.err = err
		return false
	}
	s.pos -= keep
	return true
}

// forgetLineEnds drops the line ends found, whose indexes fill changes.
func (s *Splitter) forgetLineEnds() {
	s.lfFrom, s.lf, s.crFrom, s.cr = math.MaxInt, 0, math.MaxInt, 0
}

// row scans the row at s.pos. ok is false when more input is needed (or
// at the end of input, when no row is left).
func (s *Splitter) row() (row Row, err error, ok bool) {
	buf := s.w.Buf[:s.w.End]
	p := s.pos
	// Skip empty lines, as encoding/csv does (LF, CRLF and CR alike: the
	// LF of a CRLF split across two fills is skipped as an empty line).
	for p < len(buf) && (buf[p] == '\n' || buf[p] == '\r') {
		p++
	}
	s.pos = p
	if p == len(buf) {
		return Row{}, nil, false
	}
	return s.scanRow(buf, p)
}

// Word-at-a-time constants: a byte 1 and 0x80 in every lane.
const (
	lo8 = 0x0101010101010101
	hi8 = 0x8080808080808080
)

// specials returns the high bit of each byte of w (read little-endian)
// equal to the delimiter (cm is it in every lane) or to a quote. It is
// zero exactly when no byte is either, and its lowest bit is exact; a
// borrow may mark the byte after a match too, so a marked byte is checked.
func specials(w, cm uint64) uint64 {
	x := w ^ cm
	y := w ^ '"'*lo8
	return ((x-lo8)&^x | (y-lo8)&^y) & hi8
}

// load reads the eight bytes at b[i:] as a little-endian word.
func load(b []byte, i int) uint64 {
	// Slicing with a capped capacity lets the compiler leave out the
	// pointer masking an open slice needs.
	return binary.LittleEndian.Uint64(b[i : i+8 : i+8])
}

// lineEnd returns the index of the first '\n' or '\r' at or after i, or
// len(buf) at the end of the input; ok is false when more input is
// needed. Each of the two is searched for only when i has passed the one
// found before: a file without CRs pays one search for them per window,
// and a CR-only file one search for LFs.
func (s *Splitter) lineEnd(buf []byte, i int) (end int, ok bool) {
	if i < s.lfFrom || i > s.lf {
		s.lfFrom, s.lf = i, indexFrom(buf, i, '\n')
	}
	if i < s.crFrom || i > s.cr {
		s.crFrom, s.cr = i, indexFrom(buf, i, '\r')
	}
	end = min(s.lf, s.cr)
	return end, end < len(buf) || s.w.EOF
}

// indexFrom returns the index of the first c in buf at or after i, or
// len(buf).
func indexFrom(buf []byte, i int, c byte) int {
	if k := bytes.IndexByte(buf[i:], c); k >= 0 {
		return i + k
	}
	return len(buf)
}

// after returns where the next row may start after a row ending at the
// line end at e (or at len(buf)): after its CR, LF or CRLF. A CR at the end
// of the window may be the first half of a CRLF: its LF, once read, is
// skipped as an empty line.
func after(buf []byte, e int) int {
	if e+1 < len(buf) && buf[e] == '\r' && buf[e+1] == '\n' {
		return e + 2
	}
	return min(e+1, len(buf))
}

// scanRow scans the row starting at buf[p], which is not an empty line.
//
// The line end is found first (lineEnd); then the line is read eight
// bytes at a time for delimiters and quotes, and the fields between them
// are recorded as pairs of indexes into buf in s.idx, without copying.
// A quoted field is read with IndexByte from quote to quote; its content
// is recorded like an unquoted field unless it holds "" (which decoding
// turns into "), which is marked by a negated start. The row is made when
// it is complete (emit).
func (s *Splitter) scanRow(buf []byte, p int) (Row, error, bool) {
	ce, ok := s.lineEnd(buf, p) // the content's end: the line end
	if !ok {
		return Row{}, nil, false
	}
	cm := lo8 * uint64(s.comma)
	idx := s.idx[:0]
	lenient := false
	i := p // the current field's start
	w := p // the current word's start
	for {
		// Unquoted fields: look for the next delimiter or quote, skipping
		// 16 bytes at a time through long fields.
		for w+16 <= ce && specials(load(buf, w), cm)|specials(load(buf, w+8), cm) == 0 {
			w += 16
		}
		var m uint64
		switch {
		case w+8 <= ce:
			m = specials(load(buf, w), cm)
		case w+8 <= len(buf):
			m = specials(load(buf, w), cm) & (1<<(8*uint(ce-w)) - 1)
		default:
			var t [8]byte
			copy(t[:], buf[w:ce])
			m = specials(load(t[:], 0), cm) & (1<<(8*uint(ce-w)) - 1)
		}
		for m != 0 {
			k := w + bits.TrailingZeros64(m)>>3
			m &= m - 1
			if c := buf[k]; c != '"' {
				if c != s.comma {
					continue // a false positive, after a match
				}
				idx = append(idx, i, k)
				i = k + 1
				continue
			}
			if k != i {
				if s.lazy {
					lenient = true // a bare quote, kept
					continue
				}
				s.idx = idx
				return s.lineError(p, k, `bare " in unquoted field (quote the field and write the quote as "", or set csv.lazy_quotes to keep it)`)
			}
			// A quoted field, from the quote at i.
			start, j := i+1, i+1
			for {
				n := bytes.IndexByte(buf[j:], '"')
				if n < 0 {
					s.idx = idx
					switch {
					case !s.w.EOF:
						return Row{}, nil, false
					case s.lazy:
						// The field runs to the end of the input.
						return s.emit(append(idx, start, len(buf)), p, len(buf), len(buf), true)
					}
					return s.rowError(p, i, len(buf), len(buf), "quoted field is not closed: it runs from here to the end of the file")
				}
				q := j + n
				if q+1 == len(buf) && !s.w.EOF {
					s.idx = idx
					return Row{}, nil, false // what follows the quote decides
				}
				var c byte // after the quote; 0 at the end of the input
				if q+1 < len(buf) {
					c = buf[q+1]
				}
				switch {
				case c == '"':
					start = ^(i + 1) // needs decoding; ^start is the content's start
					j = q + 2
					continue
				case c == s.comma:
				case c == '\n' || c == '\r' || q+1 == len(buf):
					return s.emit(append(idx, start, q), p, q+1, after(buf, q+1), lenient)
				case s.lazy:
					lenient = true // a lone quote, kept
					j = q + 1
					continue
				default:
					s.idx = idx
					return s.lineError(p, q, `extraneous or missing " in quoted field: after a closing quote comes a delimiter or the end of the line (a quote inside a quoted field is written "", or set csv.lazy_quotes to keep it)`)
				}
				idx = append(idx, start, q)
				i = q + 2
				if q > ce {
					// The field spanned lines: find the line end after it.
					if ce, ok = s.lineEnd(buf, i); !ok {
						s.idx = idx
						return Row{}, nil, false
					}
				}
				break
			}
			// Go on from the field after the quoted one: m is stale.
			w = i - 8
			m = 0
		}
		w += 8
		if w >= ce {
			return s.emit(append(idx, i, ce), p, ce, after(buf, ce), lenient)
		}
	}
}

// emit returns the row buf[p:end] with the fields recorded in idx, and
// goes on at next. The row's bytes are not copied: Data is a slice of the
// window, which is never written over once rows share it (fill), and its
// fields are substrings of it (or, decoded, copies in the slab).
func (s *Splitter) emit(idx []int, p, end, next int, lenient bool) (Row, error, bool) {
	s.idx = idx
	if end-p > s.max {
		return Row{}, s.tooLarge(p), true
	}
	row := s.makeRow(p, end, nil)
	row.Lenient = lenient
	str := unsafe.String(unsafe.SliceData(row.Data), len(row.Data))
	f := s.fieldSlice(len(idx) / 2)
	for k := range f {
		a, b := idx[2*k], idx[2*k+1]
		if a >= 0 {
			f[k] = str[a-p : b-p]
			continue
		}
		s.dec = decode(s.dec[:0], s.w.Buf[^a:b])
		d := s.slab.Copy(s.dec)
		f[k] = unsafe.String(unsafe.SliceData(d), len(d))
	}
	row.Fields = f
	s.pos = next
	return row, nil, true
}

// decode appends the content of a quoted field to dst with each "" turned
// into ", from left to right; a lone quote (under LazyQuotes) is kept.
// Every other byte is kept, CRLF included.
func decode(dst, b []byte) []byte {
	for {
		i := bytes.IndexByte(b, '"')
		if i < 0 {
			return append(dst, b...)
		}
		dst = append(dst, b[:i+1]...)
		if i+1 < len(b) && b[i+1] == '"' {
			i++
		}
		b = b[i+1:]
	}
}

// makeRow returns the row s.w.Buf[p:end], sharing the window's bytes.
func (s *Splitter) makeRow(p, end int, fields []string) Row {
	s.shared = true
	off := s.w.Base + int64(p)
	return Row{Data: s.w.Buf[p:end:end], Fields: fields, Offset: off, Line: s.w.Line(off)}
}

func (s *Splitter) fieldSlice(n int) []string {
	if n > 256 {
		return make([]string, n)
	}
	if len(s.fields)+n > cap(s.fields) {
		// Chunks grow to 4096 fields, so that a small input does not
		// pay for a large one.
		s.fields = make([]string, 0, min(max(2*cap(s.fields), 256), 4096))
	}
	i := len(s.fields)
	s.fields = s.fields[:i+n]
	return s.fields[i : i+n : i+n]
}

func (s *Splitter) tooLarge(p int) error {
	e := s.w.Errorf(s.file, s.w.Base+int64(p), "row starting here is larger than max_record_bytes (%d bytes); raise max_record_bytes if it is legitimate, or check for an unbalanced quote above", s.max)
	e.Err = scan.ErrTooLarge
	s.err = e
	return e
}

// lineError reports a malformed row whose problem is at buffer index at;
// the row is taken to end with the line holding it.
func (s *Splitter) lineError(p, at int, msg string) (Row, error, bool) {
	buf := s.w.Buf[:s.w.End]
	end, ok := s.lineEnd(buf, at)
	if !ok {
		return Row{}, nil, false
	}
	return s.rowError(p, at, end, after(buf, end), msg)
}

// rowError returns the malformed row buf[p:end] with an error at buffer
// index at, and goes on at next.
func (s *Splitter) rowError(p, at, end, next int, msg string) (Row, error, bool) {
	if end-p > s.max {
		return Row{}, s.tooLarge(p), true
	}
	row := s.makeRow(p, end, nil) // before the error: lines are counted forward
	e := s.w.Errorf(s.file, s.w.Base+int64(at), "%s", msg)
	s.pos = next
	return row, &RowError{e}, true
}
