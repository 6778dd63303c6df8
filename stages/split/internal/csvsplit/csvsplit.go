// Package csvsplit streams CSV (RFC 4180) into rows, keeping each row's
// raw bytes and position. It is a hand-written state machine over the
// bytes rather than encoding/csv, which does not report where a row
// starts; it accepts and decodes exactly what encoding/csv does (without
// LazyQuotes, with FieldsPerRecord -1), which its tests and fuzz target
// check. Two differences are deliberate: a UTF-8 byte order mark at the
// start is skipped, and a UTF-16 or UTF-32 one is an error.
//
// Rows without quotes take a fast path: one IndexByte for the line end,
// one for a quote, one per delimiter.
package csvsplit

import (
	"bytes"
	"io"

	"github.com/sluicehq/sluice/stages/split/internal/scan"
)

// Options configure a Splitter.
type Options struct {
	File           string // names the input in errors
	Comma          byte   // the field delimiter; 0 means ','
	MaxRecordBytes int    // cap on one row; 0 means 64 MiB
	BufferSize     int    // initial read window; 0 means 256 KiB
}

// Row is one CSV row.
type Row struct {
	// Data is the row's raw bytes without its line terminator (for a
	// quoted field spanning lines, the inner line ends are included). It
	// is carved from a shared slab: read-only, never reused.
	Data []byte
	// Fields are the decoded values; they share one allocation.
	Fields []string
	// Offset and Line locate the row's first byte.
	Offset int64
	Line   int64
}

// RowError is a malformed row: a bare quote in an unquoted field, a quote
// followed by something other than a delimiter or a line end, or a quoted
// field still open at the end of the file. Next returns it with the
// malformed row (its raw bytes up to the end of the line where the problem
// is, Fields nil); scanning goes on with the next line.
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
	max     int
	pos     int
	err     error
	started bool

	dec    []byte
	idx    []int
	slab   scan.Slab
	fields []string // slab of field slices
}

// New returns a Splitter reading r.
func New(r io.Reader, opt Options) *Splitter {
	max := opt.MaxRecordBytes
	if max <= 0 {
		max = 64 << 20
	}
	size := opt.BufferSize
	if size <= 0 {
		size = 256 << 10
	}
	comma := opt.Comma
	if comma == 0 {
		comma = ','
	}
	return &Splitter{w: scan.NewWindow(r, min(size, max+scan.MinRead), max+scan.MinRead), file: opt.File, comma: comma, max: max}
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
		for s.w.End < 4 && !s.w.EOF {
			if !s.fill() {
				return Row{}, s.err
			}
		}
		n, msg := scan.SkipBOM(s.w.Buf[:s.w.End])
		if msg != "" {
			s.err = &scan.Error{File: s.file, Line: 1, Col: 1, Msg: msg}
			return Row{}, s.err
		}
		s.pos = n
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
	if err := s.w.Fill(keep); err != nil {
		s.err = err
		return false
	}
	s.pos -= keep
	return true
}

// row scans the row at s.pos. ok is false when more input is needed (or
// at the end of input, when no row is left).
func (s *Splitter) row() (row Row, err error, ok bool) {
	buf := s.w.Buf[:s.w.End]
	p := s.pos
	// Skip empty lines, as encoding/csv does.
	for {
		if p == len(buf) || p+1 == len(buf) && buf[p] == '\r' {
			if s.w.EOF {
				s.pos = len(buf)
			}
			return Row{}, nil, false
		}
		switch {
		case buf[p] == '\n':
			p++
		case buf[p] == '\r' && buf[p+1] == '\n':
			p += 2
		default:
			goto start
		}
		s.pos = p
	}
start:
	nl := bytes.IndexByte(buf[p:], '\n')
	lineEnd, next := p+nl, p+nl+1
	if nl < 0 {
		if !s.w.EOF {
			return Row{}, nil, false
		}
		lineEnd, next = len(buf), len(buf)
	}
	ce := lineEnd
	if ce > p && buf[ce-1] == '\r' {
		ce--
	}
	if bytes.IndexByte(buf[p:ce], '"') < 0 {
		if ce-p > s.max {
			return Row{}, s.tooLarge(p), true
		}
		str := string(buf[p:ce])
		n := 1 + bytes.Count(buf[p:ce], []byte{s.comma})
		f := s.fieldSlice(n)
		for i := 0; i < n-1; i++ {
			j := indexByteString(str, s.comma)
			f[i], str = str[:j], str[j+1:]
		}
		f[n-1] = str
		s.pos = next
		return s.makeRow(p, ce, f), nil, true
	}
	return s.quoted(p)
}

func indexByteString(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}

// quoted scans a row holding quotes, field by field.
func (s *Splitter) quoted(p int) (Row, error, bool) {
	buf := s.w.Buf[:s.w.End]
	eof := s.w.EOF
	s.dec, s.idx = s.dec[:0], s.idx[:0]
	i := p
	for {
		if i < len(buf) && buf[i] == '"' {
			open := i
			i++
			for {
				k := bytes.IndexByte(buf[i:], '"')
				if k < 0 {
					if !eof {
						return Row{}, nil, false
					}
					return s.rowError(p, open, len(buf), len(buf), "quoted field is not closed: it runs from here to the end of the file")
				}
				s.dec = appendNorm(s.dec, buf[i:i+k])
				i += k + 1
				if i >= len(buf) && !eof {
					return Row{}, nil, false
				}
				var c byte = '\n'
				if i < len(buf) {
					c = buf[i]
				}
				switch {
				case c == '"' && i < len(buf):
					s.dec = append(s.dec, '"')
					i++
					continue
				case c == s.comma:
					s.idx = append(s.idx, len(s.dec))
					i++
				case c == '\n':
					s.idx = append(s.idx, len(s.dec))
					return s.quotedRow(p, i, min(i+1, len(buf)))
				case c == '\r' && i+1 < len(buf) && buf[i+1] == '\n':
					s.idx = append(s.idx, len(s.dec))
					return s.quotedRow(p, i, i+2)
				case c == '\r' && i+1 == len(buf):
					if !eof {
						return Row{}, nil, false
					}
					s.idx = append(s.idx, len(s.dec))
					return s.quotedRow(p, i, i+1)
				default:
					return s.lineError(p, i-1, `extraneous or missing " in quoted field: after a closing quote comes a delimiter or the end of the line (a quote inside a quoted field is written "")`)
				}
				break
			}
			continue
		}
		j := i
		for j < len(buf) && buf[j] != s.comma && buf[j] != '\n' {
			if buf[j] == '"' {
				return s.lineError(p, j, `bare " in unquoted field (quote the field and write the quote as "")`)
			}
			j++
		}
		if j == len(buf) && !eof {
			return Row{}, nil, false
		}
		fe := j
		if (j == len(buf) || buf[j] == '\n') && fe > i && buf[fe-1] == '\r' {
			fe--
		}
		s.dec = append(s.dec, buf[i:fe]...)
		s.idx = append(s.idx, len(s.dec))
		if j < len(buf) && buf[j] == s.comma {
			i = j + 1
			continue
		}
		return s.quotedRow(p, fe, min(j+1, len(buf)))
	}
}

// appendNorm appends b with each "\r\n" turned into "\n", as encoding/csv
// does inside quoted fields.
func appendNorm(dst, b []byte) []byte {
	for {
		i := bytes.Index(b, crlf)
		if i < 0 {
			return append(dst, b...)
		}
		dst = append(dst, b[:i]...)
		dst = append(dst, '\n')
		b = b[i+2:]
	}
}

var crlf = []byte("\r\n")

func (s *Splitter) quotedRow(p, end, next int) (Row, error, bool) {
	if end-p > s.max {
		return Row{}, s.tooLarge(p), true
	}
	str := string(s.dec)
	f := s.fieldSlice(len(s.idx))
	prev := 0
	for k, x := range s.idx {
		f[k] = str[prev:x]
		prev = x
	}
	s.pos = next
	return s.makeRow(p, end, f), nil, true
}

func (s *Splitter) makeRow(p, end int, fields []string) Row {
	off := s.w.Base + int64(p)
	return Row{Data: s.slab.Copy(s.w.Buf[p:end]), Fields: fields, Offset: off, Line: s.w.Line(off)}
}

func (s *Splitter) fieldSlice(n int) []string {
	if n > 256 {
		return make([]string, n)
	}
	if len(s.fields)+n > cap(s.fields) {
		s.fields = make([]string, 0, 4096)
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
	nl := bytes.IndexByte(buf[at:], '\n')
	if nl < 0 && !s.w.EOF {
		return Row{}, nil, false
	}
	end, next := len(buf), len(buf)
	if nl >= 0 {
		end, next = at+nl, at+nl+1
	}
	if end > p && buf[end-1] == '\r' {
		end--
	}
	return s.rowError(p, at, end, next, msg)
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
