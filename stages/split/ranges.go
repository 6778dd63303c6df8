package split

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicehq/sluice/stage"
	"github.com/sluicehq/sluice/stages/internal/inputfile"
	"github.com/sluicehq/sluice/stages/split/internal/csvsplit"
	"github.com/sluicehq/sluice/stages/split/internal/linesplit"
	"github.com/sluicehq/sluice/stages/split/internal/scan"
	"github.com/sluicehq/sluice/stages/split/internal/xmlsplit"
)

// Partition implements stage.Partitioner: an uncompressed file larger than
// chunk is cut into byte ranges of chunk bytes, one part each, which the
// stage's workers split at once (see fileJob for how the parts agree). A
// compressed file, a small one, or any file with chunk: 0 is one part,
// split whole by Process. Partition opens a file larger than chunk (by the
// size read found) to read its first four bytes, which tell compressed
// files apart, and its size.
func (s *Stage) Partition(ctx context.Context, r *stage.Record) ([]stage.Part, error) {
	if r.Type != stage.File {
		return nil, fmt.Errorf("split: expected a file record, got a %v record from %s", r.Type, r.Source.String())
	}
	rec := *r
	whole := []stage.Part{func(ctx context.Context, out stage.Emitter) error { return s.Process(ctx, &rec, out) }}
	if s.chunk <= 0 || rec.Size > 0 && rec.Size <= s.chunk {
		return whole, nil // (Size is the size on disk, which read sets)
	}
	size, plain, err := inputfile.Plain(rec.Source.File)
	if err != nil {
		return nil, err
	}
	if !plain || size <= s.chunk {
		return whole, nil
	}
	j := newFileJob(s, rec.Source.File, size, s.chunk)
	parts := make([]stage.Part, len(j.parts))
	for k := range parts {
		parts[k] = func(ctx context.Context, out stage.Emitter) error { return j.run(ctx, k, out) }
	}
	return parts, nil
}

// fileJob splits one file as parts that run at once, each on a byte range
// [cuts[k], cuts[k+1]). A part emits the records that start in its range,
// with exactly the positions, ordinals, order and errors a scan of the
// whole file gives.
//
// Part 0 scans from the file's start and stops at the first record (for
// XML, the first markup outside records) at or after its range's end: that
// place, with the line there, the ordinal reached and (XML) the open
// elements, is its handoff. Part k > 0 meanwhile speculates: it guesses
// where its first record starts and in which state (XML: the first '<'
// after the cut, in the context of the file's first record; CSV: the
// first line end outside quotes, by the parity of the quotes before the
// cut, which every part counts in its range first; lines: the first line
// start) and scans its range into a buffer, recording where it passed.
// When part k-1's handoff arrives, part k checks that its speculation
// passed through the handoff's place in the same state; if so its buffered
// records from there on are exact, once lines and ordinals are moved by
// what the handoff says, and it emits them; if not (a cut inside a
// comment, a CDATA section or a quoted field the guess got wrong) it scans
// its range again from the handoff, exactly. Either way it then hands off
// in turn. The sequential part is that wait and a check of a few words.
//
// A part that fails (malformed XML, an oversized record) hands off a
// failure, and later parts emit nothing, as a scan of the whole file would
// stop there; the error is reported with its exact position, since a
// speculative error is never reported: the part scans again exactly.
//
// Memory: each running part holds its range's records until its handoff
// arrives: about workers × (chunk + largest record).
type fileJob struct {
	s     *Stage
	path  string
	cuts  []int64
	parts []partState

	// Set by part 0 before prologDone is closed: the guesses the other
	// parts speculate from.
	prologDone chan struct{}
	xmlGuess   *xmlsplit.Context // the context of the file's first record
	hdrGuess   *stage.Header     // CSV: the header (nil: none, do not guess)
}

// partState is what part k hands to part k+1.
type partState struct {
	done chan struct{} // closed when h is set
	h    handoff
	// CSV: quote counts. counted is closed when quotes holds the number
	// of '"' in [cuts[0], cuts[k+1]), or failed is set.
	counted chan struct{}
	quotes  int64
	qfailed bool
}

// handoff is where a part's exact scan stopped: where the next part's
// first record (or, for XML, markup outside records) starts.
type handoff struct {
	failed bool        // the file failed at or before this part
	eof    bool        // the scan reached the end of the file
	at     scan.Origin // the place, with its line
	ord    int64       // records emitted before at
	xml    *xmlsplit.Context
	hdr    *stage.Header
}

// bufferSize is the read window of a part's scans: the splitters' default
// for real ranges, less for tiny ones (tests cut files into ranges of a
// few bytes).
func (j *fileJob) bufferSize() int {
	return int(min(256<<10, max(4<<10, 2*(j.cuts[1]-j.cuts[0]))))
}

func newFileJob(s *Stage, path string, size, chunk int64) *fileJob {
	n := (size + chunk - 1) / chunk
	j := &fileJob{s: s, path: path, cuts: make([]int64, n+1), parts: make([]partState, n), prologDone: make(chan struct{})}
	for k := range j.parts {
		j.cuts[k] = int64(k) * chunk
		j.parts[k].done = make(chan struct{})
		j.parts[k].counted = make(chan struct{})
	}
	j.cuts[n] = size
	return j
}

// run is part k. It always hands off (a failure, if it fails), so that
// later parts never wait for ever; their waits also end with ctx.
func (j *fileJob) run(ctx context.Context, k int, out stage.Emitter) (err error) {
	published := false
	var h handoff
	publish := func() {
		if k == 0 {
			j.prolog(nil, nil)
		}
		j.parts[k].h = h
		close(j.parts[k].done)
		published = true
	}
	defer func() {
		if err != nil {
			h.failed = true
		}
		if !published {
			publish()
		}
		if k == len(j.parts)-1 && !h.failed && h.ord == 0 {
			j.s.noRecords(j.path, j.cuts[k+1], h.hdr)
		}
		if j.s.bytesIn != nil {
			j.s.bytesIn.Add(j.cuts[k+1] - j.cuts[k])
		}
	}()
	if j.s.format == formatCSV {
		j.countQuotes(ctx, k, out)
	}
	if k == 0 {
		h, err = j.scan(ctx, k, handoff{}, out)
		return err
	}
	var spec *speculation
	select {
	case <-j.parts[k-1].done:
		// The handoff is here already (one worker, or a slow start): no
		// need to guess.
	default:
		spec = j.speculate(ctx, k, out)
	}
	if spec != nil {
		defer spec.buf.release()
		if spec.live {
			j.s.stats.replayed.Add(1)
			j.s.stats.live.Add(1)
			if spec.err != nil && spec.err != spec.outErr {
				return spec.moveError(spec.err) // the splitter's own
			}
			if spec.err != nil {
				return spec.err
			}
			h = spec.handoff(spec.ord)
			return nil
		}
	}
	prev, err := j.wait(ctx, k-1, out)
	if err != nil {
		return err
	}
	if prev.failed || prev.eof || prev.at.Offset >= j.cuts[k+1] {
		h = prev // nothing of this range is left to split, or may be
		return nil
	}
	if spec != nil && !spec.failed {
		start := time.Now()
		if from, ok := spec.check(prev, -1, 0); ok {
			j.s.stats.replayed.Add(1)
			spec.prev = prev
			h = spec.handoff(prev.ord + int64(spec.buf.n-from))
			// The next part may go on while this one emits, unless a
			// rejected record here could fail the file: then an error in
			// a later part must not come first.
			if !spec.buf.rejects(from) {
				publish()
			}
			j.s.stats.serial.Add(int64(time.Since(start)))
			return spec.replay(from, prev, out)
		}
	}
	if spec != nil {
		j.s.stats.redone.Add(1)
	} else {
		j.s.stats.direct.Add(1)
	}
	h, err = j.scan(ctx, k, prev, out)
	return err
}

// rangeStats count what the parts of a stage's files did, for tests and
// benchmarks: a part whose guess was right is replayed, one whose guess
// was wrong is redone (scanned twice), and a replayed part that checked its
// guess while it was still scanning went live; serial is the time from a handoff's
// arrival to the next handoff in replayed parts, in nanoseconds: the
// sequential part of a file's split.
type rangeStats struct {
	replayed, redone, serial atomic.Int64
	live                     atomic.Int64 // replayed parts that went live during their scan
	direct                   atomic.Int64 // parts whose handoff was there when they started: scanned once, exactly
}

func (j *fileJob) wait(ctx context.Context, k int, out stage.Emitter) (h handoff, err error) {
	stage.Idle(out, func() {
		select {
		case <-j.parts[k].done:
			h = j.parts[k].h
		case <-ctx.Done():
			err = ctx.Err()
		}
	})
	return h, err
}

// prolog publishes part 0's guesses for the other parts, once: the first
// call wins. Part 0 calls it as soon as it knows them (at its first XML
// record, at the CSV header), and at its end in any case.
func (j *fileJob) prolog(x *xmlsplit.Context, hdr *stage.Header) {
	select {
	case <-j.prologDone:
		return
	default:
	}
	j.xmlGuess, j.hdrGuess = x, hdr
	close(j.prologDone)
}

// openAt returns the bytes of the file at path from off on, checking ctx
// once per read.
func openAt(ctx context.Context, path string, off int64) (io.Reader, func() error, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	return &input{ctx: ctx, r: io.NewSectionReader(f, off, 1<<62)}, f.Close, nil
}

// end is where part k's scan stops: 0 (the end of the file) for the last.
func (j *fileJob) end(k int) int64 {
	if k == len(j.parts)-1 {
		return 0
	}
	return j.cuts[k+1]
}

// scan is part k's exact scan: from the file's start for part 0, else
// from prev's place and state. It emits straight to out.
func (j *fileJob) scan(ctx context.Context, k int, prev handoff, out stage.Emitter) (handoff, error) {
	var prolog func(*xmlsplit.Context, *stage.Header)
	if k == 0 {
		prolog = j.prolog
	}
	return j.s.scanRange(ctx, j.path, prev, k == 0, j.end(k), j.bufferSize(), prolog, out)
}

// scanRange splits path exactly from prev's place (from the file's start
// when start is set) to the first record or markup at or after end (0:
// the end of the file). prolog, if set, is told the context of the first
// XML record or the CSV header as soon as they are known, and the context
// at the end in any case.
func (s *Stage) scanRange(ctx context.Context, path string, prev handoff, start bool, end int64, bufSize int, prolog func(*xmlsplit.Context, *stage.Header), out stage.Emitter) (handoff, error) {
	from := prev.at.Offset
	if start {
		from = 0
	}
	r, closeFile, err := openAt(ctx, path, from)
	if err != nil {
		return handoff{}, err
	}
	defer closeFile()
	st := &scanState{path: path, ord: prev.ord, end: end, hdr: prev.hdr}
	var origin *scan.Origin
	if !start {
		origin = &prev.at
	}
	switch s.format {
	case formatXML:
		rg := &xmlsplit.Range{End: end}
		if !start {
			rg.Origin, rg.Context = prev.at, prev.xml
		}
		sp := xmlsplit.New(r, xmlsplit.Options{File: path, Match: s.match, MaxRecordBytes: s.max, BufferSize: bufSize, Range: rg})
		var first func(*xmlsplit.Context)
		if prolog != nil {
			first = func(c *xmlsplit.Context) { prolog(c, nil) }
		}
		if err := s.splitXML(sp, st, out, first); err != nil {
			return handoff{}, err
		}
		at, ctx, stopped := sp.Stop()
		if prolog != nil {
			prolog(ctx, nil) // no record in the range: the context at its end
		}
		return handoff{eof: !stopped, at: at, ord: st.ord, xml: ctx}, nil
	case formatCSV:
		sp := csvsplit.New(r, s.csvOptions(path, bufSize, origin))
		if prolog != nil {
			st.onHeader = func(h *stage.Header) { prolog(nil, h) }
		}
		if err := s.splitCSV(sp, st, out); err != nil {
			return handoff{}, err
		}
	default:
		sp := linesplit.New(r, linesplit.Options{File: path, MaxRecordBytes: s.max, BufferSize: bufSize, Origin: origin})
		if err := s.splitLines(sp, st, out); err != nil {
			return handoff{}, err
		}
	}
	return handoff{eof: !st.stopped, at: st.stop, ord: st.ord, hdr: st.hdr}, nil
}

// speculation is a part's scan from a guessed start, held until the
// previous part's handoff says whether it guessed right.
type speculation struct {
	j       *fileJob
	buf     buffer
	origin  int64 // CSV and lines: the guessed first row or line start
	failed  bool  // the scan ended with an error: never trusted
	xml     *xmlsplit.Splitter
	stopped bool
	stop    scan.Origin // where the scan stopped, its line counted from origin
	delta   int64       // once verified: what its lines are moved by
	err     error       // once live: the scan's error, if any
	outErr  error       // the last error out returned (already in the file's terms)

	// Going live: once the previous part's handoff has arrived and the
	// speculation checks out against it, the scan goes on straight into
	// out instead of the buffer.
	out      stage.Emitter
	prevDone <-chan struct{}
	prevH    *handoff
	known    bool    // prevDone was closed: prev is set
	prev     handoff // the previous part's handoff
	end      int64   // the part's range end: a handoff at or past it leaves it nothing
	live     bool
	ord      int64        // once live: the ordinal of the last record emitted
	rowState *scanState   // CSV and lines: the scan's state (its header)
	rec      stage.Record // once live: reused for every record
}

// errAbort stops a speculative scan that turned out wrong.
var errAbort = errors.New("speculation aborted")

var _ stage.Emitter = (*speculation)(nil)

// Emit implements stage.Emitter for the speculative scan.
func (sp *speculation) Emit(r *stage.Record) error { return sp.take(r, nil) }

// Reject implements stage.Emitter for the speculative scan.
func (sp *speculation) Reject(r *stage.Record, err error) error { return sp.take(r, err) }

// take buffers a record of the speculative scan or, once the handoff has
// come and checks out, emits it and what the buffer holds from the
// handoff's place on.
func (sp *speculation) take(r *stage.Record, rerr error) error {
	if sp.live {
		return sp.emit(r.Data, r.Fields, r.Source.Offset, r.Source.Line, rerr, r.Checked)
	}
	if !sp.known {
		select {
		case <-sp.prevDone:
			sp.known, sp.prev = true, *sp.prevH
		default:
		}
	}
	if sp.known {
		p := sp.prev
		if p.failed || p.eof || p.at.Offset >= sp.end {
			return errAbort // the range is left with nothing to split
		}
		if p.at.Offset <= r.Source.Offset {
			ok, err := sp.goLive(r.Source.Offset, r.Source.Line)
			if !ok {
				return errAbort
			}
			if err != nil {
				return err
			}
			return sp.emit(r.Data, r.Fields, r.Source.Offset, r.Source.Line, rerr, r.Checked)
		}
	}
	sp.buf.add(r, rerr)
	return nil
}

// goLive checks the speculation against the handoff while the record at
// offset cur (on line curLine, counted from the speculation's start) is
// being taken; if it checks out, it emits the buffer from the handoff's
// place on and turns live. err is an emitting error (a rejection under
// on_error: fail).
func (sp *speculation) goLive(cur, curLine int64) (ok bool, err error) {
	from, ok := sp.check(sp.prev, cur, curLine)
	if !ok {
		return false, nil
	}
	sp.startLive(sp.prev)
	err = sp.flush(from)
	sp.buf.release()
	return true, err
}

// check reports whether the speculation passed through prev's place in
// prev's state, and if so sets delta; from is the index of the first
// buffered record at or after the place. cur is the offset of the record
// being taken and curLine its line, or cur is -1 once the scan has ended.
func (sp *speculation) check(prev handoff, cur, curLine int64) (from int, ok bool) {
	at := prev.at
	from, found := sp.buf.search(at.Offset)
	if sp.xml != nil {
		if cur < 0 {
			sp.delta, ok = sp.xml.Verify(at, prev.xml)
		} else {
			sp.delta, ok = sp.xml.Confirm(at, prev.xml)
		}
		return from, ok
	}
	// A row or line start is a state of its own: the speculation is right
	// from there on if it started there or took a record there.
	var line int64
	switch {
	case at.Offset == sp.origin:
		line = 1
	case found:
		line = sp.buf.at(from).line
	case at.Offset == cur:
		line = curLine
	default:
		return 0, false
	}
	if !sameHeader(sp.rowState.hdr, prev.hdr) {
		return 0, false
	}
	sp.delta = at.Line - line
	return from, true
}

// startLive makes the speculation emit to out from now on, its lines
// moved by delta and its ordinals going on from prev's.
func (sp *speculation) startLive(prev handoff) {
	sp.live = true
	sp.ord = prev.ord
	s := sp.j.s
	sp.rec = stage.Record{Type: s.out, Header: prev.hdr, Source: stage.Position{File: sp.j.path}}
}

// flush emits the buffer's records from index from on.
func (sp *speculation) flush(from int) error {
	for i := from; i < sp.buf.n; i++ {
		e := sp.buf.at(i)
		if err := sp.emit(e.data, e.fields, e.off, e.line, e.err, e.checked); err != nil {
			return err
		}
	}
	return nil
}

// emit sends one record of a verified speculation to out, or rejects it;
// checked is the Checked the split gave it (see stage.Record).
func (sp *speculation) emit(data []byte, fields []string, off, line int64, rerr error, checked bool) error {
	sp.ord++
	rec := &sp.rec
	rec.Source.Offset, rec.Source.Line, rec.Source.Ordinal = off, line+sp.delta, sp.ord
	rec.Data, rec.Size, rec.Fields = data, int64(len(data)), fields
	rec.Checked = checked
	var err error
	if rerr != nil {
		err = sp.out.Reject(rec, sp.moveError(rerr))
	} else {
		err = sp.out.Emit(rec)
	}
	if err != nil {
		sp.outErr = err
	}
	return err
}

// moveError moves the line of a positioned error of the speculative scan
// by delta.
func (sp *speculation) moveError(err error) error {
	var se *scan.Error
	if errors.As(err, &se) && se.Line > 0 {
		se.Line += sp.delta
	}
	return err
}

func sameHeader(a, b *stage.Header) bool {
	return a == b || a != nil && b != nil && slices.Equal(a.Names, b.Names)
}

// speculate scans part k from a guessed start; nil when there is nothing
// to guess from. The records go to a buffer until part k-1's handoff
// arrives and checks out, then straight to out (the speculation is live);
// if it does not check out, the scan stops (failed).
func (j *fileJob) speculate(ctx context.Context, k int, out stage.Emitter) *speculation {
	s := j.s
	if s.format == formatXML || s.format == formatCSV {
		stage.Idle(out, func() {
			select {
			case <-j.prologDone:
			case <-ctx.Done():
			}
		})
		if ctx.Err() != nil {
			return nil
		}
	}
	sp := &speculation{j: j, out: out, prevDone: j.parts[k-1].done, prevH: &j.parts[k-1].h, end: j.cuts[k+1]}
	var err error
	switch s.format {
	case formatXML:
		if j.xmlGuess == nil {
			return nil
		}
		var r io.Reader
		var closeFile func() error
		if r, closeFile, err = openAt(ctx, j.path, j.cuts[k]); err != nil {
			return nil
		}
		defer closeFile()
		rg := &xmlsplit.Range{Origin: scan.Origin{Offset: j.cuts[k], Line: 1, LastNL: -1}, Context: j.xmlGuess, End: j.end(k), Speculative: true}
		sp.xml = xmlsplit.New(r, xmlsplit.Options{File: j.path, Match: s.match, MaxRecordBytes: s.max, BufferSize: j.bufferSize(), Range: rg})
		err = s.splitXML(sp.xml, &scanState{path: j.path}, sp, nil)
		sp.stop, _, sp.stopped = sp.xml.Stop()
	case formatCSV:
		if s.header && j.hdrGuess == nil {
			return nil
		}
		inQuote, ok := j.quoteStateAt(ctx, k)
		if !ok {
			return nil
		}
		err = sp.scanRows(ctx, k, inQuote)
	default:
		err = sp.scanRows(ctx, k, false)
	}
	if sp.live {
		sp.err = err // the scan's own error: exact but for its line
	} else {
		sp.failed = err != nil
	}
	return sp
}

// scanRows scans a CSV or line range from the first row start after the
// cut, given whether the cut is inside a quoted field.
func (sp *speculation) scanRows(ctx context.Context, k int, inQuote bool) error {
	j, s := sp.j, sp.j.s
	start, err := j.rowStart(ctx, j.cuts[k], s.format == formatCSV, inQuote)
	if err != nil {
		return err
	}
	sp.origin = start
	r, closeFile, err := openAt(ctx, j.path, start)
	if err != nil {
		return err
	}
	defer closeFile()
	origin := &scan.Origin{Offset: start, Line: 1, LastNL: start - 1}
	st := &scanState{path: j.path, end: j.end(k)}
	if s.format == formatCSV {
		st.hdr = j.hdrGuess // read after prologDone (lines do not wait for it)
	}
	sp.rowState = st
	if s.format == formatCSV {
		err = s.splitCSV(csvsplit.New(r, s.csvOptions(j.path, j.bufferSize(), origin)), st, sp)
	} else {
		err = s.splitLines(linesplit.New(r, linesplit.Options{File: j.path, MaxRecordBytes: s.max, BufferSize: j.bufferSize(), Origin: origin}), st, sp)
	}
	sp.stopped, sp.stop = st.stopped, st.stop
	return err
}

// handoff is the handoff of a checked speculation whose scan has ended,
// the last record it emits having ordinal ord.
func (sp *speculation) handoff(ord int64) handoff {
	h := handoff{eof: !sp.stopped, at: sp.stop, ord: ord, hdr: sp.prev.hdr}
	h.at.Line += sp.delta
	if sp.xml != nil {
		_, h.xml, _ = sp.xml.Stop()
		if h.at.LastNL < 0 {
			h.at.LastNL = sp.prev.at.LastNL // no line end since the place checked
		}
	}
	return h
}

// replay emits the verified speculation's records from index from on,
// with lines and ordinals shifted to prev's. An error is the file's (a
// rejected record under on_error: fail).
func (sp *speculation) replay(from int, prev handoff, out stage.Emitter) error {
	sp.out = out
	sp.startLive(prev)
	return sp.flush(from)
}

// rowStart returns the first row (or line) start at or after off: the
// position after the first line end from off-1 on that is outside quotes
// (for CSV, given whether off-1 is inside a quoted field). A line end is
// '\n', or for CSV '\r' too: after the CR of a CRLF, the scan from there
// skips the LF as an empty line.
func (j *fileJob) rowStart(ctx context.Context, off int64, csv, inQuote bool) (int64, error) {
	r, closeFile, err := openAt(ctx, j.path, off-1)
	if err != nil {
		return 0, err
	}
	defer closeFile()
	buf := make([]byte, j.bufferSize())
	pos := off - 1
	for {
		n, err := r.Read(buf)
		for _, c := range buf[:n] {
			switch {
			case c == '"' && csv:
				inQuote = !inQuote
			case (c == '\n' || c == '\r' && csv) && !inQuote:
				return pos + 1, nil
			}
			pos++
		}
		if err == io.EOF {
			return pos, nil
		}
		if err != nil {
			return 0, err
		}
	}
}

// countQuotes counts the '"' of part k's range and publishes the count
// from the file's start to the range's end, once part k-1 has.
func (j *fileJob) countQuotes(ctx context.Context, k int, out stage.Emitter) {
	p := &j.parts[k]
	defer close(p.counted)
	r, closeFile, err := openAt(ctx, j.path, j.cuts[k])
	if err != nil {
		p.qfailed = true
		return
	}
	defer closeFile()
	n, err := countByte(io.LimitReader(r, j.cuts[k+1]-j.cuts[k]), '"', j.bufferSize())
	if err != nil {
		p.qfailed = true
		return
	}
	if k > 0 {
		stage.Idle(out, func() {
			select {
			case <-j.parts[k-1].counted:
			case <-ctx.Done():
			}
		})
		if ctx.Err() != nil || j.parts[k-1].qfailed {
			p.qfailed = true
			return
		}
		n += j.parts[k-1].quotes
	}
	p.quotes = n
}

// quoteStateAt reports whether the byte before part k's cut is inside a
// quoted field, by the parity of the quotes before it; ok is false when
// the counts failed.
func (j *fileJob) quoteStateAt(ctx context.Context, k int) (inQuote, ok bool) {
	prev := &j.parts[k-1]
	select {
	case <-prev.counted:
	case <-ctx.Done():
		return false, false
	}
	if prev.qfailed {
		return false, false
	}
	n := prev.quotes
	// The quotes before cut-1: minus one if the byte at cut-1 is one.
	r, closeFile, err := openAt(ctx, j.path, j.cuts[k]-1)
	if err != nil {
		return false, false
	}
	defer closeFile()
	var b [1]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return false, false
	}
	if b[0] == '"' {
		n--
	}
	return n%2 == 1, true
}

// countByte counts c in what r yields.
func countByte(r io.Reader, c byte, size int) (int64, error) {
	buf := make([]byte, size)
	var n int64
	for {
		m, err := r.Read(buf)
		n += int64(bytes.Count(buf[:m], []byte{c}))
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// buffer is a stage.Emitter that keeps what a speculative scan emits and
// rejects, in order, for replay. It holds the records in blocks from a
// pool, so that a part's hundreds of thousands of records cost no copying
// as the buffer grows and little garbage: release returns the blocks.
type buffer struct {
	blocks     []*block
	n          int // entries in all
	lastReject int // 1 + the index of the last rejection, 0 if none
}

const blockLen = 1024

type block [blockLen]entry

var blocks = sync.Pool{New: func() any { return new(block) }}

// entry is one buffered record: the fields a split sets, the others being
// the same for every record of a file.
type entry struct {
	data      []byte
	fields    []string
	off, line int64
	err       error // a rejected record's reason
	checked   bool  // the record's Checked
}

func (b *buffer) add(r *stage.Record, err error) {
	i := b.n % blockLen
	if i == 0 {
		b.blocks = append(b.blocks, blocks.Get().(*block))
	}
	b.blocks[len(b.blocks)-1][i] = entry{data: r.Data, fields: r.Fields, off: r.Source.Offset, line: r.Source.Line, err: err, checked: r.Checked}
	if err != nil {
		b.lastReject = b.n + 1
	}
	b.n++
}

func (b *buffer) Emit(r *stage.Record) error {
	b.add(r, nil)
	return nil
}

func (b *buffer) Reject(r *stage.Record, err error) error {
	b.add(r, err)
	return nil
}

func (b *buffer) at(i int) *entry { return &b.blocks[i/blockLen][i%blockLen] }

// rejects reports whether an entry from index from on is a rejection.
func (b *buffer) rejects(from int) bool { return b.lastReject > from }

// search returns the index of the first entry at or after off, and
// whether one is at off.
func (b *buffer) search(off int64) (int, bool) {
	i := sort.Search(b.n, func(i int) bool { return b.at(i).off >= off })
	return i, i < b.n && b.at(i).off == off
}

// release returns the blocks to the pool; the buffer is empty after.
func (b *buffer) release() {
	for _, bl := range b.blocks {
		clear(bl[:])
		blocks.Put(bl)
	}
	b.blocks, b.n, b.lastReject = nil, 0, 0
}

var _ stage.Partitioner = (*Stage)(nil)
