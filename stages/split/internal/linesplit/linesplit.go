// Package linesplit streams text into lines, keeping each line's position.
// A line ends at "\n" (a "\r" before it is dropped); a last line without a
// newline is still a line. A UTF-8 byte order mark at the start is skipped.
package linesplit

import (
	"bytes"
	"io"

	"github.com/sluicehq/sluice/stages/split/internal/scan"
)

// Options configure a Splitter.
type Options struct {
	File           string // names the input in errors
	MaxRecordBytes int    // cap on one line; 0 means 64 MiB
	BufferSize     int    // initial read window; 0 means 256 KiB
	// Origin, when set, says that the reader starts at a line start in
	// the middle of the file (one byte range of it): positions count from
	// there, and no byte order mark is looked for.
	Origin *scan.Origin
}

// Line is one line without its terminator.
type Line struct {
	// Data is carved from a shared slab: read-only, never reused.
	Data   []byte
	Offset int64 // of the line's first byte
	Line   int64 // 1-based
}

// Splitter splits one stream. It is not safe for concurrent use.
type Splitter struct {
	w       *scan.Window
	file    string
	max     int
	pos     int
	line    int64
	err     error
	started bool
	slab    scan.Slab
}

// New returns a Splitter reading r.
func New(r io.Reader, opt Options) *Splitter {
	w, max, size := scan.RecordWindow(r, opt.MaxRecordBytes, opt.BufferSize)
	s := &Splitter{w: w, file: opt.File, max: max}
	s.slab.Size = scan.SlabFor(size)
	if o := opt.Origin; o != nil {
		s.w.Resume(*o)
		s.line = o.Line - 1
		if s.line < 0 {
			s.line = 0
		}
		s.started = true
	}
	return s
}

// Next returns the next line, or io.EOF after the last. Any other error
// (a line over the limit, a read error) is final.
func (s *Splitter) Next() (Line, error) {
	if s.err != nil {
		return Line{}, s.err
	}
	if !s.started {
		s.started = true
		if s.pos, s.err = s.w.Start(s.file); s.err != nil {
			return Line{}, s.err
		}
	}
	for {
		buf := s.w.Buf[:s.w.End]
		p := s.pos
		nl := bytes.IndexByte(buf[p:], '\n')
		if nl >= 0 || s.w.EOF && p < len(buf) {
			end, next := len(buf), len(buf)
			if nl >= 0 {
				end, next = p+nl, p+nl+1
			}
			if end > p && buf[end-1] == '\r' {
				end--
			}
			if end-p > s.max {
				return Line{}, s.tooLarge(p)
			}
			s.line++
			s.pos = next
			return Line{Data: s.slab.Copy(buf[p:end]), Offset: s.w.Base + int64(p), Line: s.line}, nil
		}
		if s.w.EOF {
			s.err = io.EOF
			return Line{}, io.EOF
		}
		if !s.fill() {
			return Line{}, s.err
		}
	}
}

func (s *Splitter) fill() bool {
	if s.w.End-s.pos > s.max {
		s.tooLarge(s.pos)
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

func (s *Splitter) tooLarge(p int) error {
	s.err = &scan.Error{File: s.file, Offset: s.w.Base + int64(p), Line: s.line + 1, Col: 1, Err: scan.ErrTooLarge,
		Msg: "line starting here is longer than max_record_bytes; raise max_record_bytes if it is legitimate"}
	return s.err
}
