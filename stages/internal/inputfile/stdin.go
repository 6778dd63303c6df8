package inputfile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"time"

	"github.com/mattn/go-isatty"
)

// StdinPath is the path that means standard input, for read's path option
// and for OpenContext.
const StdinPath = "-"

// stdinName names standard input in messages and positions.
const stdinName = "standard input"

// OpenContext is OpenCounted for a caller that can be cancelled. A path of
// "-" opens standard input, streamed once by one reader (it has no size
// and cannot be read by byte ranges): on Unix, when it is a pipe or a
// socket, a read waiting for data returns ctx's error once ctx is done,
// so a run stops even when the writer of the pipe never writes again.
// Standard input that is a terminal is refused: nobody means to type the
// input of a pipeline.
func OpenContext(ctx context.Context, path string, n *atomic.Int64) (io.ReadCloser, error) {
	if path != StdinPath {
		return OpenCounted(path, n)
	}
	if isatty.IsTerminal(os.Stdin.Fd()) || isatty.IsCygwinTerminal(os.Stdin.Fd()) {
		return nil, errors.New("read -: standard input is a terminal: pipe the input in (cat input.jsonl | sluice run ...) or give read a file path")
	}
	f, release, err := pollable(os.Stdin)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", stdinName, err)
	}
	stop := context.AfterFunc(ctx, func() { f.SetReadDeadline(time.Unix(1, 0)) })
	in := &stdin{ctx: ctx, f: f, close: func() error {
		stop()
		return release()
	}}
	return stream(in, in, stdinName, n)
}

// stdin reads standard input, turning the deadline set when its context
// is done into the context's error.
type stdin struct {
	ctx   context.Context
	f     *os.File
	close func() error
}

func (s *stdin) Read(p []byte) (int, error) {
	n, err := s.f.Read(p)
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) && s.ctx.Err() != nil {
		err = s.ctx.Err()
	}
	return n, err
}

func (s *stdin) Close() error { return s.close() }
