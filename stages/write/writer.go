package write

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/sluicehq/sluice/stage"
)

// stagingPrefix starts the name of the hidden directory, inside the output
// directory, that holds a run's files until the run's commit.
const stagingPrefix = ".sluice-tmp-"

// Writer is the write stage: it routes each record to the output file of
// its key and owns every file handle.
//
// A Writer is used by one goroutine at a time (its Signature caps its
// workers at 1), in the runner's order: Setup, Process (many times),
// Finish, then Prepare and Committed, or Abort, then Teardown. It holds at
// most max_open files open, each with a buffer of the configured size.
type Writer struct {
	opts  Options
	dir   string
	label string     // label name for by: label:NAME, "" for by: category
	conv  *converter // converts records to the output format; nil for native
	// stdout: dir is "-"; every record goes to one file, staged in the
	// temporary directory and copied to out (os.Stdout) once committed.
	stdout bool
	out    io.Writer
	names  *namer
	log    *slog.Logger

	staging string // staging directory, set by Setup
	state   state

	files map[claim]*file
	order []*file // in creation order
	last  *file   // the file of the previous record, to skip the map lookup

	// Open files form a list from the most (head) to the least (tail)
	// recently used.
	head, tail *file
	open       int // files open now
	peakOpen   int // most files ever open at once (checked by tests)
	limit      int // max_open, lowered if the process runs out of descriptors
	spare      []*bufio.Writer

	csvBuf  bytes.Buffer
	csvW    *csv.Writer
	jsonBuf bytes.Buffer

	// openFile is os.OpenFile; tests replace it to inject failures.
	openFile func(name string, flag int, perm os.FileMode) (*os.File, error)

	copyNote string // why the copy to standard output failed
}

type state int

const (
	stateNew state = iota
	stateReady
	stateFinished
	stateCommitted
	stateAborted
)

func osOpenFile(name string, flag int, perm os.FileMode) (*os.File, error) {
	return os.OpenFile(name, flag, perm)
}

// file is one output file.
type file struct {
	claim
	typ   stage.Type
	name  string // final base name
	tmp   string // path in the staging directory
	final string // path in the output directory
	note  string

	header    []string // CSV: the header of the file's records
	hasHeader bool     // CSV: header was set by the first record

	created bool // the staged file exists
	done    bool // its trailer is written and it is closed for good

	fh         *os.File // non-nil while open
	w          *bufio.Writer
	prev, next *file // LRU links while open

	records, bytes int64

	// Write-behind (behindWriter): the file's size, the end of the part
	// whose writeback was started, and the end of the part dropped from
	// the page cache.
	size, flushed, dropped int64
	behindOff              bool // a call failed: no more write-behind
}

var (
	_ stage.Processor  = (*Writer)(nil)
	_ stage.Setupper   = (*Writer)(nil)
	_ stage.Finisher   = (*Writer)(nil)
	_ stage.Committer  = (*Writer)(nil)
	_ stage.Teardowner = (*Writer)(nil)
	_ stage.Outputter  = (*Writer)(nil)
)

// Signature implements stage.Stage: write accepts every record kind, emits
// nothing, and runs on one worker so that it owns its files without locks.
func (w *Writer) Signature() stage.Signature {
	return stage.Signature{In: stage.Records, Out: stage.None, Terminal: true, MaxWorkers: 1}
}

// Setup creates the output directory if needed and a staging directory
// inside it, on the same filesystem so that the commit can rename. It warns
// about staging directories left behind by runs that were killed.
func (w *Writer) Setup(ctx context.Context, env stage.Env) error {
	if w.state != stateNew {
		return errors.New("write: Setup called twice")
	}
	w.log = env.Log
	if w.log == nil {
		w.log = slog.New(slog.DiscardHandler)
	}
	if w.stdout {
		return w.setupStdout()
	}
	if err := os.MkdirAll(w.dir, 0o777); err != nil {
		return fmt.Errorf("create output directory: %w", err)
	}
	stale, _ := filepath.Glob(filepath.Join(w.dir, stagingPrefix+"*"))
	staging, err := os.MkdirTemp(w.dir, stagingPrefix)
	if err != nil {
		return fmt.Errorf("create staging directory in %s: %w", w.dir, err)
	}
	w.staging = staging
	w.state = stateReady
	if len(stale) > 0 {
		w.log.Warn("output directory holds staging directories of interrupted runs; delete them once no other run writes there",
			"dir", w.dir, "staging", stale)
	}
	return nil
}

// Process writes r to the file of its key, opening or creating that file
// as needed. A record that cannot be written as its kind requires (a CSV
// header that differs from the file's, a line with a line break, a JSON
// value that is not valid JSON) is an error about that record; a failure
// of the filesystem is fatal.
func (w *Writer) Process(_ context.Context, r *stage.Record, _ stage.Emitter) error {
	if w.state != stateReady {
		return stage.Fatal(fmt.Errorf("write: Process called %s", w.state.when()))
	}
	if w.conv != nil {
		c, err := w.conv.convert(r)
		if err != nil {
			return err
		}
		r = c
	}
	key := r.Category
	if w.label != "" {
		key = r.Labels[w.label]
	}
	if w.stdout {
		key = ""
	}
	f := w.last
	if f == nil || f.typ != r.Type || f.key != key {
		ext, ok := extensions[r.Type]
		if !ok {
			return fmt.Errorf("record %s: write cannot store %s records", r.Source.String(), r.Type)
		}
		if err := w.oneStdoutKind(r, ext); err != nil {
			return err
		}
		f = w.file(claim{key: key, ext: ext}, r.Type)
		w.last = f
	}

	payload := r.Data
	switch r.Type {
	case stage.CSV:
		p, err := w.csvRow(f, r)
		if err != nil {
			return err
		}
		payload = p
	case stage.Line:
		if bytes.IndexByte(payload, '\n') >= 0 {
			return fmt.Errorf("record %s: line contains a line break and would be written as several lines", r.Source.String())
		}
	case stage.JSON:
		if bytes.IndexByte(payload, '\n') >= 0 || bytes.IndexByte(payload, '\r') >= 0 {
			w.jsonBuf.Reset()
			if err := json.Compact(&w.jsonBuf, payload); err != nil {
				return fmt.Errorf("record %s: json value spans several lines and cannot be compacted to one: %w", r.Source.String(), err)
			}
			payload = w.jsonBuf.Bytes()
		}
	}

	if err := w.acquire(f); err != nil {
		return stage.Fatal(err)
	}
	n, err := f.w.Write(payload)
	if err == nil {
		err = f.w.WriteByte('\n')
		n++
	}
	f.bytes += int64(n)
	if err != nil {
		return stage.Fatal(f.fail("write", err))
	}
	f.records++
	return nil
}

// file returns the output file for c, making (but not creating) it the
// first time c is seen.
func (w *Writer) file(c claim, typ stage.Type) *file {
	if f, ok := w.files[c]; ok {
		return f
	}
	nm := w.names.assign(c)
	f := &file{
		claim: c,
		typ:   typ,
		name:  nm.name,
		tmp:   filepath.Join(w.staging, nm.name),
		final: filepath.Join(w.dir, nm.name),
		note:  w.note(c, typ, nm),
	}
	w.files[c] = f
	w.order = append(w.order, f)
	return f
}

// note explains a file name that is not the plain mapping of its key.
func (w *Writer) note(c claim, typ stage.Type, nm naming) string {
	if nm.plain {
		return ""
	}
	var b strings.Builder
	b.WriteString(w.describeKey(c.key))
	if nm.clash && nm.clashWith.key == c.key {
		fmt.Fprintf(&b, " (%s records)", typ)
	}
	fmt.Fprintf(&b, " written as %q", nm.name)
	if nm.clash {
		holder := w.describeKey(nm.clashWith.key)
		if nm.clashWith.key == c.key {
			holder = fmt.Sprintf("its %s records", kindOf(nm.clashWith.ext))
		}
		fmt.Fprintf(&b, " because %q is taken by %s", nm.clashName, holder)
		if nm.caseOnly {
			b.WriteString(" (names that differ only in case are the same file on macOS and Windows)")
		}
	}
	return b.String()
}

// kindOf returns the record kind whose files have extension ext.
func kindOf(ext string) stage.Type {
	for t, e := range extensions {
		if e == ext {
			return t
		}
	}
	return stage.None
}

// describeKey names a key for notes: `category "x"`, `label "lang" value
// "x"`, or `records without category`.
func (w *Writer) describeKey(key string) string {
	what := "category"
	if w.label != "" {
		what = fmt.Sprintf("label %q", w.label)
	}
	switch {
	case key == "":
		return "records without " + what
	case w.label != "":
		return fmt.Sprintf("%s value %q", what, key)
	}
	return fmt.Sprintf("%s %q", what, key)
}

// csvRow checks r's header against the file's and encodes its fields as
// one CSV row. The returned slice is valid until the next call.
func (w *Writer) csvRow(f *file, r *stage.Record) ([]byte, error) {
	var names []string
	if r.Header != nil {
		names = r.Header.Names
	}
	if !f.hasHeader {
		f.header, f.hasHeader = names, true
	} else if !slices.Equal(f.header, names) {
		return nil, fmt.Errorf("record %s: csv header [%s] differs from the header [%s] of %s; send records with different headers to different keys",
			r.Source.String(), shortList(names), shortList(f.header), f.final)
	}
	if len(r.Fields) == 0 {
		return nil, fmt.Errorf("record %s: csv record has no fields", r.Source.String())
	}
	if r.Checked && r.Header != nil && r.Header.Delimiter == ',' && len(r.Data) > 0 {
		// split's row as it was read: its Data is the row of its Fields
		// (see stage.Record.Checked), so the encoding is skipped.
		return r.Data, nil
	}
	if w.csvW == nil {
		w.csvW = csv.NewWriter(&w.csvBuf)
	}
	w.csvBuf.Reset()
	if err := encodeCSV(w.csvW, &w.csvBuf, r.Fields); err != nil {
		return nil, fmt.Errorf("record %s: encode csv: %w", r.Source.String(), err)
	}
	// The trailing newline is written by Process, like every other kind's.
	return bytes.TrimSuffix(w.csvBuf.Bytes(), []byte("\n")), nil
}

// encodeCSV appends row to buf through cw, a csv.Writer on buf.
// encoding/csv writes a row of one empty field as an empty line, which
// readers skip; it is written as "" instead so that the row is not lost.
func encodeCSV(cw *csv.Writer, buf *bytes.Buffer, row []string) error {
	if len(row) == 1 && row[0] == "" {
		buf.WriteString("\"\"\n")
		return nil
	}
	cw.Write(row) // an error is kept for Error
	cw.Flush()
	return cw.Error()
}

func shortList(names []string) string {
	const max = 8
	if len(names) > max {
		return strings.Join(names[:max], ",") + fmt.Sprintf(",… (%d columns)", len(names))
	}
	return strings.Join(names, ",")
}

// acquire makes f open and the most recently used, closing the least
// recently used file first if max_open files are open. A file opened for
// the first time is created and gets its preamble.
func (w *Writer) acquire(f *file) error {
	if f.fh != nil {
		w.touch(f)
		return nil
	}
	if f.done {
		return fmt.Errorf("write %s: file already finished", f.final)
	}
	for w.open >= w.limit {
		if err := w.evict(); err != nil {
			return err
		}
	}
	flag := os.O_WRONLY | os.O_APPEND
	if !f.created {
		flag |= os.O_CREATE | os.O_EXCL
	}
	fh, err := w.openFile(f.tmp, flag, 0o666)
	for err != nil && tooManyFiles(err) && w.open > 0 {
		// Other stages hold descriptors too: settle for fewer open files.
		w.limit = w.open
		w.log.Warn("out of file descriptors; holding fewer output files open", "max_open", w.limit)
		if err := w.evict(); err != nil {
			return err
		}
		fh, err = w.openFile(f.tmp, flag, 0o666)
	}
	if err != nil {
		if f.created {
			return f.fail("reopen", err)
		}
		return f.fail("create", err)
	}
	f.fh = fh
	under := &behindWriter{fh: fh, f: f, step: int64(w.opts.WriteBehind)}
	if n := len(w.spare); n > 0 {
		f.w = w.spare[n-1]
		w.spare = w.spare[:n-1]
		f.w.Reset(under)
	} else {
		f.w = bufio.NewWriterSize(under, int(w.opts.Buffer))
	}
	w.pushFront(f)
	w.open++
	w.peakOpen = max(w.peakOpen, w.open)
	if !f.created {
		f.created = true
		n, err := f.w.Write(w.preamble(f))
		f.bytes += int64(n)
		if err != nil {
			return f.fail("write", err)
		}
	}
	return nil
}

func tooManyFiles(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE)
}

// preamble is what starts a file: the XML declaration and root start tag,
// or the CSV header.
func (w *Writer) preamble(f *file) []byte {
	switch f.typ {
	case stage.XML:
		var b bytes.Buffer
		fmt.Fprintf(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<%s ", w.opts.XMLRoot)
		if w.label != "" {
			b.WriteString(`label="`)
			xml.EscapeText(&b, []byte(w.label))
			b.WriteString(`" value="`)
		} else {
			b.WriteString(`category="`)
		}
		xml.EscapeText(&b, []byte(f.key))
		b.WriteString("\">\n")
		return b.Bytes()
	case stage.CSV:
		if len(f.header) == 0 {
			return nil
		}
		// Not w.csvBuf: it holds the row being written.
		var b bytes.Buffer
		if err := encodeCSV(csv.NewWriter(&b), &b, f.header); err != nil {
			return nil // cannot happen: the comma is the default one
		}
		return b.Bytes()
	}
	return nil
}

// trailer is what ends a file: the XML root end tag.
func (w *Writer) trailer(f *file) []byte {
	if f.typ == stage.XML {
		return []byte("</" + w.opts.XMLRoot + ">\n")
	}
	return nil
}

// evict flushes and closes the least recently used open file.
func (w *Writer) evict() error {
	return w.close(w.tail, false)
}

// close flushes f, syncs it if asked, and closes it. Its buffer goes back
// to the spare list.
func (w *Writer) close(f *file, sync bool) error {
	w.unlink(f)
	w.open--
	fh := f.fh
	err := f.w.Flush()
	f.w.Reset(nil)
	w.spare = append(w.spare, f.w)
	f.fh, f.w = nil, nil
	if err == nil && sync {
		err = fh.Sync()
	}
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return f.fail("write", err)
	}
	return nil
}

// fail describes a filesystem error on f, naming its final path and where
// it is staged.
func (f *file) fail(op string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return fmt.Errorf("%s %s (staged as %s): %w", op, f.final, f.tmp, err)
}

func (w *Writer) pushFront(f *file) {
	f.prev, f.next = nil, w.head
	if w.head != nil {
		w.head.prev = f
	}
	w.head = f
	if w.tail == nil {
		w.tail = f
	}
}

func (w *Writer) unlink(f *file) {
	if f.prev != nil {
		f.prev.next = f.next
	} else {
		w.head = f.next
	}
	if f.next != nil {
		f.next.prev = f.prev
	} else {
		w.tail = f.prev
	}
	f.prev, f.next = nil, nil
}

func (w *Writer) touch(f *file) {
	if w.head != f {
		w.unlink(f)
		w.pushFront(f)
	}
}

// Finish completes every file: it writes the XML trailers (reopening files
// that max_open had closed), flushes, syncs when the sync option is set,
// and closes. No file is open afterwards. It stops early, with ctx's
// error, if ctx is cancelled.
func (w *Writer) Finish(ctx context.Context, _ stage.Emitter) error {
	switch w.state {
	case stateFinished:
		return nil
	case stateReady:
	default:
		return stage.Fatal(fmt.Errorf("write: Finish called %s", w.state.when()))
	}
	// Open files first, so that reopening the others never exceeds the cap.
	for w.head != nil {
		if err := w.complete(w.head); err != nil {
			return stage.Fatal(err)
		}
	}
	for _, f := range w.order {
		if err := ctx.Err(); err != nil {
			return err
		}
		if f.created && !f.done {
			if err := w.complete(f); err != nil {
				return stage.Fatal(err)
			}
		}
	}
	w.state = stateFinished
	return nil
}

func (w *Writer) complete(f *file) error {
	if err := w.acquire(f); err != nil {
		return err
	}
	n, err := f.w.Write(w.trailer(f))
	f.bytes += int64(n)
	if err != nil {
		w.close(f, false)
		return f.fail("write", err)
	}
	f.done = true
	return w.close(f, w.opts.Sync)
}

// Prepare finishes the files if Finish was not called, and hands the
// runner their renames from the staging directory to their final names
// (replacing files of those names), and the staging directory to remove
// once the run's commit is over. The runner syncs the output directory
// after the renames.
func (w *Writer) Prepare(ctx context.Context) (stage.CommitPlan, error) {
	if w.state == stateReady {
		if err := w.Finish(ctx, nil); err != nil {
			return stage.CommitPlan{}, err
		}
	}
	if w.state != stateFinished {
		return stage.CommitPlan{}, fmt.Errorf("write: Prepare called %s", w.state.when())
	}
	if w.stdout {
		return stage.CommitPlan{}, nil // copied to standard output by Committed
	}
	files := w.created()
	plan := stage.CommitPlan{Renames: make([]stage.Rename, len(files)), Cleanup: []string{w.staging}}
	for i, f := range files {
		plan.Renames[i] = stage.Rename{Temp: f.tmp, Final: f.final}
	}
	return plan, nil
}

// Committed records that the run's commit made the files final.
func (w *Writer) Committed() error {
	if w.state == stateFinished {
		w.state = stateCommitted
		if w.stdout {
			return w.copyToStdout()
		}
	}
	return nil
}

// Abort closes every file and removes the staging directory, so that
// nothing of the run appears under the output directory. It does nothing
// after Committed. Failures are logged: there is no one left to
// return them to.
func (w *Writer) Abort() {
	switch w.state {
	case stateReady, stateFinished:
	default:
		return
	}
	w.state = stateAborted
	w.discard()
}

// discard closes open files without caring about errors and removes the
// staging directory.
func (w *Writer) discard() {
	for w.head != nil {
		f := w.head
		w.unlink(f)
		f.fh.Close()
		f.fh, f.w = nil, nil
	}
	w.open = 0
	if err := os.RemoveAll(w.staging); err != nil && w.log != nil {
		w.log.Error("remove staging directory", "dir", w.staging, "err", err)
	}
}

// Teardown releases whatever the run still holds. If neither Committed
// nor Abort was called, it discards the staged files as Abort does.
func (w *Writer) Teardown(context.Context) error {
	if w.state == stateReady || w.state == stateFinished {
		w.state = stateAborted
		w.discard()
	}
	w.spare, w.last = nil, nil
	return nil
}

// Outputs lists the files of the run, sorted by path, with their record
// and byte counts and, for files whose name is not the plain mapping of
// their key, a note saying why. After Committed the paths are final.
func (w *Writer) Outputs() []stage.Output {
	files := w.created()
	out := make([]stage.Output, len(files))
	for i, f := range files {
		out[i] = stage.Output{Path: f.final, Records: f.records, Bytes: f.bytes, Note: f.note}
		if w.stdout {
			out[i].Path, out[i].Note = stdoutName, cmp.Or(w.copyNote, "standard output")
		}
	}
	return out
}

// created returns the files that exist, sorted by name.
func (w *Writer) created() []*file {
	var files []*file
	for _, f := range w.order {
		if f.created {
			files = append(files, f)
		}
	}
	slices.SortFunc(files, func(a, b *file) int { return cmp.Compare(a.name, b.name) })
	return files
}

func (s state) when() string {
	switch s {
	case stateNew:
		return "before Setup"
	case stateReady:
		return "before Finish"
	case stateFinished:
		return "after Finish"
	case stateCommitted:
		return "after the commit"
	}
	return "after Abort"
}
