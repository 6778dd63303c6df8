package split

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/sluicehq/sluice/stage"
	"github.com/sluicehq/sluice/stages/internal/inputfile"
	"github.com/sluicehq/sluice/stages/split/internal/csvsplit"
	"github.com/sluicehq/sluice/stages/split/internal/linesplit"
	"github.com/sluicehq/sluice/stages/split/internal/scan"
	"github.com/sluicehq/sluice/stages/split/internal/xmlsplit"
)

//go:embed sample.yaml
var sample []byte

// Kind returns the split stage kind, for the registry.
func Kind() stage.Kind {
	return stage.Define("split", "Stream files into records: XML subtrees, CSV rows, lines or JSON lines.", sample, defaults, build)
}

// Options are the split stage's options. Exactly one of XML, CSV, Lines
// and JSONL is set.
type Options struct {
	XML            *XMLOptions    `yaml:"xml" doc:"Split XML into the subtrees of one element, e.g. xml: {element: record}."`
	CSV            *CSVOptions    `yaml:"csv" doc:"Split CSV (RFC 4180) into rows; csv: {} takes the defaults. A row ends at LF, CRLF or a lone CR (mixed in one file too), and a quoted field keeps its bytes, CRLF included."`
	Lines          *LinesOptions  `yaml:"lines" doc:"Split text into lines, without their line ends; write lines: {} for the defaults."`
	JSONL          *JSONLOptions  `yaml:"jsonl" doc:"Split JSON Lines into one JSON value per line, each checked with json.Valid; blank lines are skipped. Write jsonl: {}."`
	MaxRecordBytes stage.ByteSize `yaml:"max_record_bytes" max:"1GiB" doc:"A record larger than this fails its file, with the record's position; it bounds memory per worker."`
	Chunk          stage.ByteSize `yaml:"chunk" max:"1GiB" doc:"Cut each uncompressed file larger than this into byte ranges of this size, split by the workers at once with exactly the records, positions and order of a whole-file scan; 0 splits every file whole, on one worker (for debugging and comparison). Compressed files (gzip, zstd) and standard input (read path -) are always split whole. Memory per worker is about chunk + the largest record."`
}

// XMLOptions configure XML splitting.
type XMLOptions struct {
	Element string `yaml:"element" doc:"The element whose subtrees become records: a name (any prefix, any depth), p:name, {uri}name, or a path from the root such as catalog/record."`
}

// CSVOptions configure CSV splitting.
type CSVOptions struct {
	Delimiter  string `yaml:"delimiter" doc:"The field delimiter, one ASCII character (default \",\"; \"\\t\" for tab)."`
	Header     *bool  `yaml:"header" doc:"Whether the first row names the fields (default true); when false, fields are named \"1\", \"2\", ..."`
	ShortRows  string `yaml:"short_rows" doc:"A row with fewer fields than the header (as files that omit empty trailing fields have): reject (the default; the row goes to on_error) or pad (the missing fields read as empty, as Python's csv.DictReader and DuckDB's null_padding do; write writes the row padded)."`
	LongRows   string `yaml:"long_rows" doc:"A row with more fields than the header: reject (the default) or keep (the extra fields stay in the record without names: field() reads the named ones, write writes the row as it was read)."`
	LazyQuotes bool   `yaml:"lazy_quotes" doc:"Keep as data a quote that RFC 4180 does not allow: one inside an unquoted field (5'10\"), or one in a quoted field that is not doubled, as encoding/csv's LazyQuotes and Python's csv do; a quoted field left open runs to the end of the file. write quotes such rows correctly."`
}

// The values of csv.short_rows and csv.long_rows.
const (
	rowsReject = "reject"
	rowsPad    = "pad"
	rowsKeep   = "keep"
)

// LinesOptions configure line splitting.
type LinesOptions struct {
	SkipEmpty bool `yaml:"skip_empty" doc:"Drop empty lines instead of emitting them as empty records."`
}

// JSONLOptions configure JSON Lines splitting; there are none yet.
type JSONLOptions struct{}

// DefaultMaxRecordBytes is the default of max_record_bytes.
const DefaultMaxRecordBytes = 64 << 20

// maxMaxRecordBytes caps max_record_bytes: a worker's read window grows
// to the largest record.
const maxMaxRecordBytes = 1 << 30

// DefaultChunk is the default of chunk.
const DefaultChunk = 4 << 20

// minChunk and maxChunk bound chunk: a range must hold many records for
// its handoff to be cheap, and a worker holds its range's records.
const (
	minChunk = 1 << 20
	maxChunk = 1 << 30
)

func defaults() *Options {
	return &Options{MaxRecordBytes: DefaultMaxRecordBytes, Chunk: DefaultChunk}
}

type format uint8

const (
	formatXML format = iota
	formatCSV
	formatLines
	formatJSONL
)

// Stage is a built split stage: a stage.Processor taking stage.File records
// and emitting the records of each file in file order. It is read-only
// after Setup, so Process may run on many workers at once, one file each;
// all per-file state lives in the Process call.
type Stage struct {
	format    format
	match     *xmlsplit.Match
	comma     byte
	header    bool
	pad       bool // csv.short_rows: pad
	keepLong  bool // csv.long_rows: keep
	lazy      bool // csv.lazy_quotes
	skipEmpty bool
	max       int
	chunk     int64 // 0: files are split whole
	stats     *rangeStats
	out       stage.Type
	bytesIn   *atomic.Int64
	warn      *stage.Warnings
}

var (
	_ stage.Processor = (*Stage)(nil)
	_ stage.Setupper  = (*Stage)(nil)
)

func build(o *Options) (stage.Stage, error) {
	var errs []error
	s := &Stage{max: int(o.MaxRecordBytes), chunk: int64(o.Chunk), stats: &rangeStats{}}
	chosen := ""
	choose := func(name string, f format, t stage.Type) bool {
		if chosen != "" {
			errs = append(errs, stage.OptionError(name, "only one format may be chosen, and %s is already", chosen))
			return false
		}
		chosen, s.format, s.out = name, f, t
		return true
	}
	if o.XML != nil && choose("xml", formatXML, stage.XML) {
		m, err := xmlsplit.ParseMatch(o.XML.Element)
		if err != nil {
			errs = append(errs, stage.OptionError("xml.element", "%v", err))
		}
		s.match = m
	}
	if o.CSV != nil && choose("csv", formatCSV, stage.CSV) {
		c, err := delimiter(o.CSV.Delimiter)
		if err != nil {
			errs = append(errs, stage.OptionError("csv.delimiter", "%v", err))
		}
		s.comma = c
		s.header = o.CSV.Header == nil || *o.CSV.Header
		s.lazy = o.CSV.LazyQuotes
		switch o.CSV.ShortRows {
		case "", rowsReject:
		case rowsPad:
			s.pad = true
		default:
			errs = append(errs, stage.OptionError("csv.short_rows", "must be %s or %s, got %q", rowsReject, rowsPad, o.CSV.ShortRows))
		}
		switch o.CSV.LongRows {
		case "", rowsReject:
		case rowsKeep:
			s.keepLong = true
		default:
			errs = append(errs, stage.OptionError("csv.long_rows", "must be %s or %s, got %q", rowsReject, rowsKeep, o.CSV.LongRows))
		}
	}
	if o.Lines != nil && choose("lines", formatLines, stage.Line) {
		s.skipEmpty = o.Lines.SkipEmpty
	}
	if o.JSONL != nil {
		choose("jsonl", formatJSONL, stage.JSON)
	}
	if chosen == "" {
		errs = append(errs, errors.New("choose the input format: one of xml, csv, lines or jsonl, e.g. xml: {element: record} (a format without options is written lines: {}, not lines:)"))
	}
	if o.MaxRecordBytes <= 0 || o.MaxRecordBytes > maxMaxRecordBytes {
		errs = append(errs, stage.OptionError("max_record_bytes", "must be between 1 and %v, got %v", stage.ByteSize(maxMaxRecordBytes), o.MaxRecordBytes))
	}
	if o.Chunk != 0 && (o.Chunk < minChunk || o.Chunk > maxChunk) {
		errs = append(errs, stage.OptionError("chunk", "must be 0 (split files whole) or between %v and %v, got %v", stage.ByteSize(minChunk), stage.ByteSize(maxChunk), o.Chunk))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return s, nil
}

// delimiter checks a csv.delimiter option; "" is ",", and the two
// characters \t (as a single-quoted YAML string gives them) mean tab.
func delimiter(d string) (byte, error) {
	switch d {
	case "":
		return ',', nil
	case `\t`:
		return '\t', nil
	}
	if len(d) != 1 || d[0] >= 0x80 {
		return 0, fmt.Errorf("must be one ASCII character such as \",\", \";\", \"|\" or \"\\t\", got %q", d)
	}
	if d[0] == '"' || d[0] == '\r' || d[0] == '\n' {
		return 0, fmt.Errorf("cannot be %q, which CSV reserves", d)
	}
	return d[0], nil
}

// Signature implements stage.Stage: split takes files and emits the kind
// of its format.
func (s *Stage) Signature() stage.Signature {
	return stage.Signature{In: stage.File, Out: s.out}
}

// Setup implements stage.Setupper; it keeps the counter that input bytes
// are reported to, and the stage's warnings.
func (s *Stage) Setup(_ context.Context, env stage.Env) error {
	if env.Counters != nil {
		s.bytesIn = &env.Counters.BytesIn
	}
	s.warn = env.Warnings
	return nil
}

// Process implements stage.Processor: it streams the file r names (through
// inputfile.Open, so gzip and zstd are decompressed) and emits its records in
// order. Memory is bounded by the largest record, not the file. The runner
// calls Partition instead (see ranges.go), which splits large uncompressed
// files by byte ranges; Process is the whole-file scan it falls back to.
//
// A malformed CSV row or an invalid JSON line is passed to out.Reject with
// its position, and the file goes on if the on_error policy allows it.
// Malformed XML, a record over max_record_bytes, or a read error fails the
// file: Process returns the error, after the records before the problem
// have been emitted. Cancelling ctx stops the scan within one read chunk.
func (s *Stage) Process(ctx context.Context, r *stage.Record, out stage.Emitter) error {
	if r.Type != stage.File {
		return fmt.Errorf("split: expected a file record, got a %v record from %s", r.Type, r.Source.String())
	}
	path := r.Source.File
	f, err := inputfile.OpenContext(ctx, path, s.bytesIn)
	if err != nil {
		return err
	}
	defer f.Close()
	in := &input{ctx: ctx, r: f}
	st := &scanState{path: path}
	switch s.format {
	case formatXML:
		sp := xmlsplit.New(in, xmlsplit.Options{File: path, Match: s.match, MaxRecordBytes: s.max})
		err = s.splitXML(sp, st, out, nil)
	case formatCSV:
		err = s.splitCSV(csvsplit.New(in, s.csvOptions(path, 0, nil)), st, out)
	default:
		err = s.splitLines(linesplit.New(in, linesplit.Options{File: path, MaxRecordBytes: s.max}), st, out)
	}
	if err == nil && st.ord == 0 && in.n > 0 {
		s.noRecords(path, in.n, st.hdr)
	}
	return err
}

// noRecords warns that the file at path gave no records from size bytes
// (hdr: the CSV header, if one was read): a format option that matches
// nothing is otherwise silent.
func (s *Stage) noRecords(path string, size int64, hdr *stage.Header) {
	var why string
	switch {
	case s.format == formatXML:
		why = fmt.Sprintf("no element matches xml.element %q; check its name, its namespace ({uri}name) and its path", s.match.String())
	case s.format == formatCSV && hdr != nil && s.header:
		why = fmt.Sprintf("the file holds only the header row (%d columns)", len(hdr.Names))
	case s.format == formatCSV:
		why = "the file holds only empty lines"
	case s.format == formatJSONL:
		why = "the file holds only blank lines"
	default:
		why = "the file holds only empty lines, which lines.skip_empty drops"
	}
	s.warn.Warn(fmt.Sprintf("%s: no records from %d bytes: %s", path, size, why), "file", path, "bytes", size)
}

// dupColumns warns about names that hdr, read from line line of the file
// at path, gives to more than one column: field() reads the first.
func (s *Stage) dupColumns(path string, line int64, hdr *stage.Header) {
	var dups []string
	for i, name := range hdr.Names {
		if first := hdr.Index(name); first != i {
			dups = append(dups, fmt.Sprintf("%q (columns %d and %d)", name, first+1, i+1))
		}
	}
	if len(dups) == 0 {
		return
	}
	if len(dups) > 5 {
		dups = append(dups[:5], fmt.Sprintf("and %d more", len(dups)-5))
	}
	s.warn.Warn(fmt.Sprintf("%s:%d: the header names a column twice: %s; field() reads the first of each, so rename the others to read them", path, line, strings.Join(dups, ", ")), "file", path)
}

// input checks for cancellation once per read, which the splitters make
// in chunks of 64 KiB or more, and counts the bytes it yields
// (decompressed). (inputfile.OpenCounted counts the bytes on disk.)
type input struct {
	ctx context.Context
	r   io.Reader
	n   int64
}

func (in *input) Read(p []byte) (int, error) {
	if err := in.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := in.r.Read(p)
	in.n += int64(n)
	return n, err
}

// scanState is what one scan of a file, or of a byte range of it, carries
// from record to record and hands to the next range's scan.
type scanState struct {
	path string
	ord  int64 // records emitted so far: ordinals go on from here
	// end, when not 0, stops a CSV or line scan at the first row or line
	// starting at or after it; stopped and stop then say where.
	end     int64
	stopped bool
	stop    scan.Origin
	hdr     *stage.Header // CSV: the header, once known
	// onHeader, if set, is called when hdr is set.
	onHeader func(*stage.Header)
}

// stopAt reports whether a row or line starting at off (on line line)
// belongs to the next range, and if so records the stop there.
func (st *scanState) stopAt(off, line int64) bool {
	if st.end == 0 || off < st.end {
		return false
	}
	st.stopped = true
	st.stop = scan.Origin{Offset: off, Line: line, LastNL: off - 1}
	return true
}

// stopAtError reports whether a final error (an oversized row or line)
// is about a row starting at or after end, which the next range owns.
func (st *scanState) stopAtError(err error) bool {
	var se *scan.Error
	return st.end != 0 && errors.As(err, &se) && se.Line > 0 && st.stopAt(se.Offset, se.Line)
}

// splitXML emits sp's records. first, if not nil, is called once with the
// context of the first record's ancestors, before that record is emitted.
func (s *Stage) splitXML(sp *xmlsplit.Splitter, st *scanState, out stage.Emitter, first func(*xmlsplit.Context)) error {
	// One Record reused for every Emit (which copies it), so that passing
	// its address through the interface costs no allocation per record.
	// Checked: the splitter checks every character, name and reference of
	// a record before emitting it (see stage.Record.Checked).
	rec := &stage.Record{Type: stage.XML, Checked: true, Source: stage.Position{File: st.path}}
	for {
		x, err := sp.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if first != nil {
			first(sp.Context())
			first = nil
		}
		st.ord++
		rec.Source.Offset, rec.Source.Line, rec.Source.Ordinal = x.Offset, x.Line, st.ord
		rec.Data, rec.Size = x.Data, int64(len(x.Data))
		if err := out.Emit(rec); err != nil {
			return err
		}
	}
}

func (s *Stage) splitCSV(sp *csvsplit.Splitter, st *scanState, out stage.Emitter) error {
	rec := &stage.Record{}
	var rowErr *csvsplit.RowError
	for {
		row, err := sp.Next()
		if err == io.EOF {
			return nil
		}
		rowErr = nil
		if err != nil && !errors.As(err, &rowErr) {
			if st.stopAtError(err) {
				return nil
			}
			return err
		}
		if st.stopAt(row.Offset, row.Line) {
			return nil
		}
		if rowErr != nil && st.hdr == nil && s.header {
			return fmt.Errorf("header row: %w", err)
		}
		if st.hdr == nil && rowErr == nil {
			if s.header {
				// A copy: the row's fields share its read buffer.
				names := make([]string, len(row.Fields))
				for i, f := range row.Fields {
					names[i] = strings.Clone(f)
				}
				st.hdr = stage.NewHeader(names)
				s.dupColumns(st.path, row.Line, st.hdr)
			} else {
				st.hdr = stage.NewHeader(numbered(len(row.Fields)))
			}
			st.hdr.Delimiter = s.comma
			if st.onHeader != nil {
				st.onHeader(st.hdr)
			}
			if s.header {
				continue
			}
		}
		st.ord++
		*rec = stage.Record{
			Type: stage.CSV,
			// Data is the row of Fields (see stage.Record), unless the row
			// is malformed, padded, or not RFC 4180 (lazy quotes).
			Checked: rowErr == nil && !row.Lenient,
			Source:  stage.Position{File: st.path, Offset: row.Offset, Line: row.Line, Ordinal: st.ord},
			Size:    int64(len(row.Data)),
			Data:    row.Data,
			Header:  st.hdr,
			Fields:  row.Fields,
		}
		if rowErr == nil && len(row.Fields) != len(st.hdr.Names) {
			err = s.ragged(rec, st)
		}
		if err != nil {
			if err := out.Reject(rec, err); err != nil {
				return err
			}
			continue
		}
		if err := out.Emit(rec); err != nil {
			return err
		}
	}
}

// ragged handles a row with more or fewer fields than the header, as
// csv.short_rows and csv.long_rows say: it pads rec's fields, keeps them,
// or returns the error that rejects the row.
func (s *Stage) ragged(rec *stage.Record, st *scanState) error {
	n, want := len(rec.Fields), len(st.hdr.Names)
	switch {
	case n < want && s.pad:
		// A copy: the splitter's field slices are shared. Data no longer
		// holds every field.
		fields := make([]string, want)
		copy(fields, rec.Fields)
		rec.Fields, rec.Checked = fields, false
		return nil
	case n > want && s.keepLong:
		return nil
	}
	what := "the header has"
	if !s.header {
		what = "the first row has"
	}
	fix := "set csv.short_rows: pad to read the missing trailing fields as empty"
	if n > want {
		fix = "set csv.long_rows: keep to keep the extra fields"
	}
	return &scan.Error{File: st.path, Offset: rec.Source.Offset, Line: rec.Source.Line, Msg: fmt.Sprintf("row has %d fields, %s %d; %s", n, what, want, fix)}
}

// csvOptions returns the splitter options for path, with the read window
// size (0: the default) and the origin of a range's scan (nil: the file's
// start).
func (s *Stage) csvOptions(path string, bufSize int, origin *scan.Origin) csvsplit.Options {
	return csvsplit.Options{File: path, Comma: s.comma, LazyQuotes: s.lazy, MaxRecordBytes: s.max, BufferSize: bufSize, Origin: origin}
}

// numbered returns the names "1", "2", ... "n".
func numbered(n int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = strconv.Itoa(i + 1)
	}
	return names
}

func (s *Stage) splitLines(sp *linesplit.Splitter, st *scanState, out stage.Emitter) error {
	jsonl := s.format == formatJSONL
	rec := &stage.Record{Type: stage.Line, Source: stage.Position{File: st.path}}
	if jsonl {
		rec.Type = stage.JSON
	}
	for {
		l, err := sp.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			if st.stopAtError(err) {
				return nil
			}
			return err
		}
		if st.stopAt(l.Offset, l.Line) {
			return nil
		}
		if jsonl && blank(l.Data) || s.skipEmpty && len(l.Data) == 0 {
			continue
		}
		st.ord++
		rec.Source.Offset, rec.Source.Line, rec.Source.Ordinal = l.Offset, l.Line, st.ord
		rec.Data, rec.Size = l.Data, int64(len(l.Data))
		if jsonl && !json.Valid(l.Data) {
			if err := out.Reject(rec, jsonError(st.path, l.Line, l.Data)); err != nil {
				return err
			}
			continue
		}
		if err := out.Emit(rec); err != nil {
			return err
		}
	}
}

func blank(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\r' {
			return false
		}
	}
	return true
}

// jsonError describes an invalid JSON line; decoding it again is the slow
// path that finds where it goes wrong.
func jsonError(path string, line int64, data []byte) error {
	var v json.RawMessage
	err := json.Unmarshal(data, &v)
	var se *json.SyntaxError
	col := int64(0)
	if errors.As(err, &se) {
		col = se.Offset
	}
	if err == nil {
		err = errors.New("not a single JSON value")
	}
	// A *scan.Error, whose line a range's scan can move once it knows it.
	return &scan.Error{File: path, Line: line, Col: col, Msg: "invalid JSON: " + err.Error(), Err: err}
}
