// Package scan holds what every splitter format shares: a sliding read
// window over a stream that tracks byte offsets and line numbers, a slab
// allocator for emitted records, positioned syntax errors, and character
// checks.
//
// None of it is safe for concurrent use: one file is scanned by one
// goroutine, with its own Window and Slab.
package scan

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"unicode/utf8"
)

// ErrTooLarge is wrapped by errors about a record (or a piece of markup)
// larger than the configured max_record_bytes.
var ErrTooLarge = errors.New("larger than max_record_bytes")

// Error is a problem at a position of an input file. Its text is
// "file:line:col: message"; Col is 0 when not known, and Line too.
type Error struct {
	File   string
	Offset int64 // byte offset of the problem in the decompressed stream
	Line   int64 // 1-based
	Col    int64 // 1-based, in bytes
	Msg    string
	Err    error // optional cause, for errors.Is
}

// Error formats the error as "file:line:col: message".
func (e *Error) Error() string {
	switch {
	case e.Line > 0 && e.Col > 0:
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
	case e.Line > 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: byte %d: %s", e.File, e.Offset, e.Msg)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Window is a sliding view of a stream: Buf[:End] holds the bytes read so
// far that are still retained, and Buf[0] is at byte Base of the stream.
// A scanner keeps indexes into Buf and calls Fill when it needs more; Fill
// discards a prefix, so the scanner shifts its indexes by what it discarded.
//
// The buffer grows (doubling) only while what must be retained does not
// fit, and never beyond the limit given to NewWindow, so memory stays
// bounded by the largest record rather than by the file.
type Window struct {
	Buf  []byte
	End  int
	Base int64
	EOF  bool // no input remains after Buf[:End]

	r       io.Reader
	limit   int
	minRead int // MinRead, or less for a window made smaller than that

	// CR makes a lone '\r' end a line too: lines end at LF, CRLF (one
	// line end) or CR, as in Python's universal newlines. It is set before
	// the first Fill; by default only '\n' ends a line.
	CR bool

	// Lines are counted lazily: line is the 1-based line number at stream
	// offset lineAt, and lastNL the offset of the last line end before
	// lineAt (-1 if none); afterCR says that the byte before lineAt is a
	// '\r' (with CR set, a '\n' there ends no line of its own).
	lineAt  int64
	line    int64
	lastNL  int64
	afterCR bool

	// With CR: no '\r' is in [crFrom, crAt), and crAt is one unless it
	// is crEnd, the end of the window when it was searched. So a file
	// without CRs is searched for them once per window, not per line.
	crFrom, crAt, crEnd int64
}

// MinRead is the smallest read Fill asks of the underlying reader, so that
// per-read costs (and cancellation checks made by the reader) are paid per
// chunk, not per record.
const MinRead = 64 << 10

// NewWindow returns a window over r starting with a buffer of size bytes
// that may grow until it holds limit bytes.
//
// A size under MinRead (4 KiB at least) makes a window that also reads in
// smaller steps: for scans of small byte ranges, which would otherwise pay
// more to clear their buffer than to scan.
func NewWindow(r io.Reader, size, limit int) *Window {
	size = max(size, 4<<10)
	limit = max(limit, size)
	return &Window{Buf: make([]byte, size), r: r, limit: limit, minRead: min(size, MinRead), line: 1, lastNL: -1, crFrom: -1, crAt: -1, crEnd: -1}
}

// Origin says where a splitter's reader starts in its file when it scans
// one byte range of it rather than the file from its first byte, so that
// offsets, lines and columns are the file's.
type Origin struct {
	Offset int64 // the file offset of the reader's first byte
	Line   int64 // the 1-based line at Offset
	LastNL int64 // the offset of the last line end before Offset, or -1
}

// Resume makes the window start at o: Base is o.Offset and lines and
// columns count from o's. It is called before the first Fill.
func (w *Window) Resume(o Origin) {
	w.Base, w.lineAt, w.line, w.lastNL = o.Offset, o.Offset, max(o.Line, 1), o.LastNL
}

// AssumeLastNL tells a window that resumed without knowing where the last
// line end before its origin was (Origin.LastNL -1) that it was at off,
// if no line end has been met since, so that columns come out right.
func (w *Window) AssumeLastNL(off int64) {
	if w.lastNL < 0 {
		w.lastNL = off
	}
}

// Detach discards Buf[:keep] and moves the rest into a new buffer of size
// bytes (more if the rest needs it, within the limit), so that slices of
// the old buffer already handed out never change: the next Fill reads
// into the new one. Indexes into Buf shift down by keep.
func (w *Window) Detach(keep, size int) {
	w.countLines(w.Base + int64(keep))
	rest := w.End - keep
	if 2*rest+w.minRead > size {
		size = min(2*rest+w.minRead, w.limit)
	}
	nb := make([]byte, max(size, rest))
	w.End = copy(nb, w.Buf[keep:w.End])
	w.Buf = nb
	w.Base += int64(keep)
}

// Origin returns the position of stream offset off, at or after every
// offset passed to Line or Pos and within the window, as an Origin from
// which another window can resume.
func (w *Window) Origin(off int64) Origin {
	w.countLines(off)
	return Origin{Offset: off, Line: w.line, LastNL: w.lastNL}
}

// Fill discards Buf[:keep], moves the rest to the front and reads more
// input: at least one byte, or until EOF is set. It returns an error only
// when reading fails, or ErrTooLarge (unwrapped) when Buf[keep:End] already
// fills the buffer at its limit. Indexes into Buf shift down by keep.
func (w *Window) Fill(keep int) error {
	if w.EOF {
		return nil
	}
	if keep > 0 {
		w.countLines(w.Base + int64(keep))
		n := copy(w.Buf, w.Buf[keep:w.End])
		w.End = n
		w.Base += int64(keep)
	}
	if (w.End > len(w.Buf)/2 || len(w.Buf)-w.End < w.minRead) && len(w.Buf) < w.limit {
		nb := make([]byte, min(max(2*len(w.Buf), w.End+w.minRead), w.limit))
		copy(nb, w.Buf[:w.End])
		w.Buf = nb
	}
	if w.End == len(w.Buf) {
		return ErrTooLarge
	}
	for zero := 0; w.End < len(w.Buf); {
		n, err := w.r.Read(w.Buf[w.End:])
		w.End += n
		if err == io.EOF {
			w.EOF = true
			break
		}
		if err != nil {
			return err
		}
		if n == 0 {
			if zero++; zero > 100 {
				return io.ErrNoProgress
			}
		}
	}
	return nil
}

// countLines advances the line count to stream offset off, which must be
// at or after lineAt and within the window.
func (w *Window) countLines(off int64) {
	if off <= w.lineAt {
		return
	}
	b := w.Buf[w.lineAt-w.Base : off-w.Base]
	if n, last := w.lineEnds(b, w.afterCR, w.CR && w.hasCR(w.lineAt, off)); last >= 0 {
		w.line += int64(n)
		w.lastNL = w.lineAt + int64(last)
	}
	w.afterCR = w.CR && b[len(b)-1] == '\r'
	w.lineAt = off
}

// hasCR reports whether a '\r' is at a stream offset in [from, to), both
// in the window.
func (w *Window) hasCR(from, to int64) bool {
	if from < w.crFrom || from > w.crAt || w.crAt == w.crEnd && to > w.crAt {
		w.crFrom, w.crEnd = from, w.Base+int64(w.End)
		w.crAt = w.crEnd
		if k := bytes.IndexByte(w.Buf[from-w.Base:w.End], '\r'); k >= 0 {
			w.crAt = from + int64(k)
		}
	}
	return w.crAt < to
}

// lineEnds returns the number of line ends in b and the index of the last
// one's last byte (-1 if none); afterCR says that the byte before b is a
// '\r', and crs whether b may hold one. Without CR it is one bytes.Count;
// with CR, each '\r' costs an IndexByte more.
func (w *Window) lineEnds(b []byte, afterCR, crs bool) (n, last int) {
	n = countNL(b)
	if n > 0 {
		last = lastIndexNL(b)
	} else {
		last = -1
	}
	if !w.CR {
		return n, last
	}
	if afterCR && len(b) > 0 && b[0] == '\n' {
		n-- // the LF of a CRLF whose CR came before b
	}
	if !crs {
		return n, last
	}
	for i := 0; ; i++ {
		k := bytes.IndexByte(b[i:], '\r')
		if k < 0 {
			return n, last
		}
		i += k
		if i+1 < len(b) && b[i+1] == '\n' {
			continue // a CRLF: its LF is counted
		}
		n++
		last = max(last, i)
	}
}

// Line returns the 1-based line of stream offset off, which must not be
// before an offset already passed to Line or Pos, nor before Buf[0].
func (w *Window) Line(off int64) int64 {
	w.countLines(off)
	return w.line
}

// Pos returns the 1-based line and byte column of stream offset off.
// Offsets are expected in increasing order; an offset before the last one
// asked for is still answered while its bytes are in the window, and with
// line and column 0 otherwise.
func (w *Window) Pos(off int64) (line, col int64) {
	if off >= w.lineAt {
		w.countLines(off)
		return w.line, off - w.lastNL
	}
	if off < w.Base {
		return 0, 0
	}
	b := w.Buf[off-w.Base : w.lineAt-w.Base]
	n, _ := w.lineEnds(b, off > w.Base && w.Buf[off-w.Base-1] == '\r', true)
	line = w.line - int64(n)
	before := w.Buf[:off-w.Base]
	if _, i := w.lineEnds(before, false, true); i >= 0 {
		return line, off - (w.Base + int64(i))
	}
	if line == 1 && w.Base == 0 {
		return line, off + 1
	}
	return line, 0
}

// Errorf returns an *Error at stream offset off.
func (w *Window) Errorf(file string, off int64, format string, args ...any) *Error {
	line, col := w.Pos(off)
	return &Error{File: file, Offset: off, Line: line, Col: col, Msg: fmt.Sprintf(format, args...)}
}

// Slab hands out byte slices carved from large shared chunks, so that
// emitting millions of small records costs one allocation per chunk rather
// than one per record. A slice it returns is never handed out again and is
// capped at its length, so appending to it cannot overwrite a neighbour.
// A chunk stays alive while any slice of it does. The zero value uses
// chunks of DefaultSlab bytes.
type Slab struct {
	Size int
	buf  []byte
}

// DefaultSlab is the chunk size of a zero Slab.
const DefaultSlab = 1 << 20

// SlabFor returns the slab chunk size for a splitter whose read window
// starts at window bytes: DefaultSlab for the default window, less for the
// small windows of scans of small byte ranges.
func SlabFor(window int) int { return min(DefaultSlab, max(4*window, 16<<10)) }

// Alloc returns a slice of length n. Slices larger than a quarter of a
// chunk get an allocation of their own.
func (s *Slab) Alloc(n int) []byte {
	size := s.Size
	if size <= 0 {
		size = DefaultSlab
	}
	if n > size/4 {
		return make([]byte, n)
	}
	if len(s.buf)+n > cap(s.buf) {
		s.buf = make([]byte, 0, size)
	}
	i := len(s.buf)
	s.buf = s.buf[:i+n]
	return s.buf[i : i+n : i+n]
}

// Copy returns a copy of b carved from the slab.
func (s *Slab) Copy(b []byte) []byte {
	d := s.Alloc(len(b))
	copy(d, b)
	return d
}

// The defaults of a splitter's size options.
const (
	DefaultMaxRecord = 64 << 20  // the largest record
	DefaultBuffer    = 256 << 10 // the first read window
)

// RecordWindow returns the window of a splitter reading r whose records
// hold at most maxRecord bytes, starting with a buffer of bufferSize bytes
// (0 or less: the defaults above), and the two sizes in effect. The window
// grows to hold a record at the limit and one read more, no further.
func RecordWindow(r io.Reader, maxRecord, bufferSize int) (w *Window, max, size int) {
	max, size = maxRecord, bufferSize
	if max <= 0 {
		max = DefaultMaxRecord
	}
	if size <= 0 {
		size = DefaultBuffer
	}
	return NewWindow(r, min(size, max+MinRead), max+MinRead), max, size
}

// Start readies a window for a scan from the start of a file, whose name
// errors carry: it reads until the window holds four bytes or the input
// ends, and returns the index of the first byte after a UTF-8 byte order
// mark (0 without one). A UTF-16 or UTF-32 byte order mark is an *Error at
// line 1, column 1; a read error is returned as is.
func (w *Window) Start(file string) (int, error) {
	for w.End < 4 && !w.EOF {
		if err := w.Fill(0); err != nil {
			return 0, err
		}
	}
	n, msg := SkipBOM(w.Buf[:w.End])
	if msg != "" {
		return 0, &Error{File: file, Line: 1, Col: 1, Msg: msg}
	}
	return n, nil
}

// SkipBOM returns 3 if b starts with a UTF-8 byte order mark, else 0. It
// returns an error message for a UTF-16 or UTF-32 byte order mark, which
// the splitter cannot read.
func SkipBOM(b []byte) (int, string) {
	switch {
	case len(b) >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF:
		return 3, ""
	case len(b) >= 4 && (b[0] == 0 && b[1] == 0 && b[2] == 0xFE && b[3] == 0xFF || b[0] == 0xFF && b[1] == 0xFE && b[2] == 0 && b[3] == 0):
		return 0, "the file is UTF-32 encoded; split reads UTF-8: convert it first, e.g. iconv -f UTF-32 -t UTF-8 in > out"
	case len(b) >= 2 && (b[0] == 0xFE && b[1] == 0xFF || b[0] == 0xFF && b[1] == 0xFE):
		return 0, "the file is UTF-16 encoded; split reads UTF-8: convert it first, e.g. iconv -f UTF-16 -t UTF-8 in > out"
	}
	return 0, ""
}

// InCharRange reports whether r is allowed in an XML 1.0 document (the
// Char production).
func InCharRange(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}

const (
	lo8 = 0x0101010101010101
	hi8 = 0x8080808080808080
	lo7 = 0x7F7F7F7F7F7F7F7F
)

// BadChar returns the index of the first byte of b that does not start a
// valid UTF-8 encoding of an XML character, and a description, or -1.
// ASCII is checked eight or sixteen bytes at a time, tabs and line ends
// included, and two- and three-byte sequences are decoded inline.
func BadChar(b []byte) (int, string) {
	i := 0
	for i < len(b) {
		// Skip words of text and line feeds. (Slicing b[i:i+8:i+8]
		// rather than b[i:] measurably speeds the loops: the compiler
		// then leaves out the pointer masking an open slice needs.)
		for i+16 <= len(b) {
			w := binary.LittleEndian.Uint64(b[i : i+8 : i+8])
			v := binary.LittleEndian.Uint64(b[i+8 : i+16 : i+16])
			if notText(w)|notText(v) != 0 {
				break
			}
			i += 16
		}
		for i+8 <= len(b) {
			w := binary.LittleEndian.Uint64(b[i : i+8 : i+8])
			if notText(w) != 0 {
				// Non-ASCII, a bad control, or just a tab or a CR.
				if m := stops(w); m != 0 {
					i += bits.TrailingZeros64(m) >> 3
					break
				}
			}
			i += 8
		}
		if i == len(b) {
			break
		}
		c := b[i]
		if c < 0x80 {
			if c >= 0x20 || c == '\n' || c == '\t' || c == '\r' {
				i++
				continue
			}
			return i, fmt.Sprintf("illegal character code %U", rune(c))
		}
		// A run of non-ASCII characters. Every two-byte sequence (C2-DF,
		// then 80-BF) is a legal character; three-byte ones are checked
		// here by value; anything else, valid or not, goes through
		// decodeChar, which also words the error.
		for i < len(b) && b[i] >= 0x80 {
			c := b[i]
			switch {
			case c >= 0xC2 && c < 0xE0 && i+1 < len(b) && b[i+1]&0xC0 == 0x80:
				i += 2
			case c >= 0xE0 && c < 0xF0 && i+2 < len(b) && legal3(c, b[i+1], b[i+2]):
				i += 3
			default:
				n, msg := decodeChar(b[i:])
				if n == 0 {
					return i, msg
				}
				i += n
			}
		}
	}
	return -1, ""
}

// notText is zero exactly when every byte of w is ASCII and either a line
// feed or at least 0x20.
func notText(w uint64) uint64 {
	// XOR with '\n' turns line feeds into 0 and keeps every other control
	// in 1-0x1F. For a byte x <= 0x7F, x+0x7F has its high bit set when
	// x >= 1 and x+0x60 when x >= 0x20, and neither carries into the next
	// byte. Bytes >= 0x80 may carry, but their own high bit is kept.
	x := w ^ '\n'*lo8
	return (w | (x+0x7F*lo8)&^(x+0x60*lo8)) & hi8
}

// stops returns the high bit of each byte of w that is >= 0x80 or a
// control other than a tab, a line feed or a carriage return. Only its
// lowest set bit is exact: a byte >= 0x80 may carry into the next.
func stops(w uint64) uint64 {
	below := ^(w + 0x60*lo8) & hi8 // bytes < 0x20
	return w&hi8 | below&^(eqMask(w, '\t')|eqMask(w, '\n')|eqMask(w, '\r'))
}

// legal3 reports whether c0 c1 c2 (c0 in E0-EF) encode a character in
// U+0800-U+FFFD that is not a surrogate: a legal one.
func legal3(c0, c1, c2 byte) bool {
	r := rune(c0&0x0F)<<12 | rune(c1&0x3F)<<6 | rune(c2&0x3F)
	return c1&0xC0 == 0x80 && c2&0xC0 == 0x80 && r >= 0x800 && (r < 0xD800 || r > 0xDFFF) && r <= 0xFFFD
}

// decodeChar returns the length of the UTF-8 encoded character at the
// start of b, or 0 and a description if it is invalid or not allowed.
func decodeChar(b []byte) (int, string) {
	r, n := utf8.DecodeRune(b)
	if r == utf8.RuneError && n == 1 {
		return 0, "invalid UTF-8"
	}
	if !InCharRange(r) {
		return 0, fmt.Sprintf("illegal character code %U", r)
	}
	return n, ""
}

// eqMask returns the high bit of each byte of w equal to c.
func eqMask(w uint64, c byte) uint64 {
	x := w ^ lo8*uint64(c)
	return ^((x&lo7 + lo7) | x) & hi8
}

func countNL(b []byte) int { return bytes.Count(b, nl) }

func lastIndexNL(b []byte) int { return bytes.LastIndexByte(b, '\n') }

var nl = []byte{'\n'}
