package plugins

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"
)

// tailLines is how many of the last lines a plugin wrote are kept for error
// messages.
const tailLines = 10

// maxLine is the longest line logged as one record; longer lines are split.
const maxLine = 64 << 10

// Bounds on folding a Go crash report (a panic's or fatal error's stack
// trace, a signal's register dump) into one log record.
const (
	crashLines = 60                     // lines kept in the record; the rest are counted
	crashHead  = 8                      // lines of it that error messages show
	crashQuiet = 200 * time.Millisecond // a report ends when the plugin writes nothing for this long
)

// outputLog turns what a plugin process writes on stderr (and on stdout
// after the handshake) into log records, one per line, tagged with the
// plugin, stage, instance and pid, and keeps the last lines for error
// messages. A Go crash report (from "panic: ", "fatal error: " or a
// signal's name to the end of the output, or to crashQuiet without output)
// is logged as one record instead: the headline as its message, the first
// crashLines lines as its trace. It is safe for concurrent use.
type outputLog struct {
	mu   sync.Mutex
	log  *slog.Logger
	tail []string // ring of the last tailLines lines
	next int
	n    int
	// headline is the last line that starts a crash report ("panic: ...",
	// "fatal error: ..."): a Go stack trace pushes it out of the tail.
	headline string
	// crash is the Go crash report being folded, from its headline on;
	// crashMore counts the lines past crashLines; quiet ends it.
	crash     []string
	crashMore int
	quiet     *time.Timer
	// report is the last crash report folded, kept for error messages.
	report []string
}

func newOutputLog(log *slog.Logger) *outputLog {
	return &outputLog{log: log, tail: make([]string, tailLines)}
}

// setLogger replaces the logger, once the plugin's name is known.
func (o *outputLog) setLogger(log *slog.Logger) {
	o.mu.Lock()
	o.log = log
	o.mu.Unlock()
}

// line logs one line from stream ("stderr" or "stdout"), or adds it to the
// crash report being folded.
func (o *outputLog) line(stream string, text []byte) {
	s := string(text)
	o.mu.Lock()
	if isHeadline(s) {
		o.headline = s
	}
	o.tail[o.next] = s
	o.next = (o.next + 1) % len(o.tail)
	o.n++
	switch {
	case o.crash != nil && !isHeadline(s):
		if len(o.crash) < crashLines {
			o.crash = append(o.crash, s)
		} else {
			o.crashMore++
		}
		o.quiet.Reset(crashQuiet)
		o.mu.Unlock()
		return
	case isGoCrash(s):
		o.flushLocked()
		o.crash = []string{s}
		if o.quiet == nil {
			o.quiet = time.AfterFunc(crashQuiet, o.flush)
		} else {
			o.quiet.Reset(crashQuiet)
		}
		o.mu.Unlock()
		return
	}
	o.flushLocked()
	log := o.log
	o.mu.Unlock()
	log.Info(s, "stream", stream)
}

// flush logs the crash report being folded, if any.
func (o *outputLog) flush() {
	o.mu.Lock()
	o.flushLocked()
	o.mu.Unlock()
}

func (o *outputLog) flushLocked() {
	if o.crash == nil {
		return
	}
	report := o.crash
	if o.crashMore > 0 {
		report = append(report, fmt.Sprintf("... (%d more lines)", o.crashMore))
	}
	o.report, o.crash, o.crashMore = report, nil, 0
	if o.quiet != nil {
		o.quiet.Stop()
	}
	attrs := []any{"stream", "stderr", "trace", strings.TrimLeft(strings.Join(report[1:], "\n"), "\n")}
	if at := crashSite(report); at != "" {
		attrs = append(attrs, "at", at)
	}
	o.log.Warn(report[0], attrs...)
}

// Tail returns what error messages show of the plugin's last output: the
// head of the last Go crash report when there is one (its headline and
// first frames, not the register dump or goroutine list that end it); else
// the last lines written, oldest first, preceded by the last crash
// headline and "..." when the headline is older than those lines.
func (o *outputLog) Tail() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	if r := o.report; r != nil || o.crash != nil {
		if o.crash != nil {
			r = o.crash
		}
		return slices.Clone(r[:min(len(r), crashHead)])
	}
	n := min(o.n, len(o.tail))
	out := make([]string, 0, n+2)
	for i := range n {
		out = append(out, o.tail[(o.next-n+i+len(o.tail))%len(o.tail)])
	}
	if o.headline != "" && !slices.Contains(out, o.headline) {
		out = append([]string{o.headline, "..."}, out...)
	}
	return out
}

// CrashSite returns the file:line where the last Go crash report says the
// plugin panicked, or "".
func (o *outputLog) CrashSite() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.crash != nil {
		return crashSite(o.crash)
	}
	return crashSite(o.report)
}

// isHeadline reports whether line starts a crash report.
func isHeadline(line string) bool {
	return isGoCrash(line) || strings.HasPrefix(line, "Traceback (most recent call last)")
}

// isGoCrash reports whether line starts a Go runtime's crash report: a
// panic, a fatal error, or a fatal signal.
func isGoCrash(line string) bool {
	for _, p := range []string{"panic: ", "fatal error: ", "SIGSEGV", "SIGABRT", "SIGBUS", "SIGILL", "SIGFPE"} {
		if strings.HasPrefix(line, p) {
			return true
		}
	}
	return false
}

// isStdFrame reports whether a stack frame's function is in the standard
// library (runtime, sync, ...): its import path's first element has no dot,
// and it is not package main.
func isStdFrame(fn string) bool {
	if first, _, ok := strings.Cut(fn, "/"); ok {
		return !strings.Contains(first, ".")
	}
	pkg, _, _ := strings.Cut(fn, ".")
	return pkg != "main"
}

// crashSite finds, in a Go crash report, the file:line of the first frame
// of the crashing goroutine that is the plugin's own code: not the
// runtime's, the sdk's (which recovers and re-panics) or gRPC's. The path
// is shortened to its last two elements.
func crashSite(report []string) string {
	inStack := false
	for i, l := range report {
		if strings.HasPrefix(l, "goroutine ") {
			if inStack {
				return "" // only the first goroutine is the crashing one
			}
			inStack = true
			continue
		}
		if !inStack || !strings.HasPrefix(l, "\t") || i == 0 {
			continue
		}
		if fn := report[i-1]; strings.HasPrefix(fn, "panic(") || isStdFrame(fn) ||
			strings.HasPrefix(fn, "github.com/sluicehq/sluice/sdk") || strings.HasPrefix(fn, "google.golang.org/grpc") {
			continue
		}
		loc := strings.TrimSpace(l)
		if j := strings.LastIndex(loc, " +0x"); j >= 0 {
			loc = loc[:j]
		}
		parts := strings.Split(loc, "/")
		return strings.Join(parts[max(len(parts)-2, 0):], "/")
	}
	return ""
}

// readLines logs the lines read from r until it fails or ends.
func (o *outputLog) readLines(stream string, r io.Reader) {
	br := bufio.NewReaderSize(r, maxLine)
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			o.line(stream, bytes.TrimRight(line, "\r\n"))
		}
		if err != nil && err != bufio.ErrBufferFull {
			o.flush() // the output ended: so did any crash report
			return
		}
	}
}

// writer returns an io.Writer that logs what is written to it line by line;
// go-plugin forwards the plugin's os.Stdout and os.Stderr to such writers.
func (o *outputLog) writer(stream string) io.Writer {
	return &lineWriter{o: o, stream: stream}
}

type lineWriter struct {
	o      *outputLog
	stream string
	mu     sync.Mutex
	buf    []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			w.buf = append(w.buf, p...)
			if len(w.buf) >= maxLine {
				w.o.line(w.stream, w.buf)
				w.buf = w.buf[:0]
			}
			break
		}
		w.buf = append(w.buf, p[:i]...)
		w.o.line(w.stream, bytes.TrimRight(w.buf, "\r"))
		w.buf = w.buf[:0]
		p = p[i+1:]
	}
	return n, nil
}

// handshakeReader passes a plugin's stdout to go-plugin, which reads the
// handshake from its first line, and logs every later line, which go-plugin
// would otherwise discard.
type handshakeReader struct {
	r        io.ReadCloser
	w        io.Writer
	pastLine bool
}

func (h *handshakeReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	chunk := p[:n]
	if !h.pastLine {
		i := bytes.IndexByte(chunk, '\n')
		if i < 0 {
			return n, err
		}
		h.pastLine = true
		chunk = chunk[i+1:]
	}
	if len(chunk) > 0 {
		h.w.Write(chunk)
	}
	return n, err
}

func (h *handshakeReader) Close() error { return h.r.Close() }
