package plugins

import (
	"bufio"
	"bytes"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
)

// tailLines is how many of the last lines a plugin wrote are kept for error
// messages.
const tailLines = 10

// maxLine is the longest line logged as one record; longer lines are split.
const maxLine = 64 << 10

// outputLog turns what a plugin process writes on stderr (and on stdout
// after the handshake) into log records, one per line, tagged with the
// plugin, stage, instance and pid, and keeps the last lines for error
// messages. It is safe for concurrent use.
type outputLog struct {
	mu   sync.Mutex
	log  *slog.Logger
	tail []string // ring of the last tailLines lines
	next int
	n    int
	// headline is the last line that starts a crash report ("panic: ...",
	// "fatal error: ..."): a Go stack trace pushes it out of the tail.
	headline string
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

// line logs one line from stream ("stderr" or "stdout").
func (o *outputLog) line(stream string, text []byte) {
	s := string(text)
	o.mu.Lock()
	log := o.log
	o.mu.Unlock()
	log.Info(s, "stream", stream)
	o.mu.Lock()
	if isHeadline(s) {
		o.headline = s
	}
	o.tail[o.next] = s
	o.next = (o.next + 1) % len(o.tail)
	o.n++
	o.mu.Unlock()
}

// Tail returns the last lines written, oldest first, preceded by the last
// crash headline and "..." when the headline is older than those lines.
func (o *outputLog) Tail() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
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

// isHeadline reports whether line starts a crash report.
func isHeadline(line string) bool {
	for _, p := range []string{"panic: ", "fatal error: ", "SIGSEGV", "SIGABRT", "Traceback (most recent call last)"} {
		if strings.HasPrefix(line, p) {
			return true
		}
	}
	return false
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
