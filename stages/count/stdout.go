package count

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// stdoutName is the output that means standard output.
const stdoutName = "-"

// Standard output cannot be renamed into place, so it is written the
// honest way: Finish writes the totals to a temporary file (in the
// system's temporary directory), and only when the run's commit has made
// every other output final does Committed copy that file to standard
// output. A run that fails, or is interrupted, prints nothing there. The
// copy is the one step after the commit: if it fails (a closed pipe, a
// full disk behind a redirection) the error is logged and the output's
// note says so.

// createTemp creates the file Finish writes the totals to: beside the
// output, or in the temporary directory for standard output.
func (s *Stage) createTemp() (*os.File, error) {
	if s.output == stdoutName {
		return os.CreateTemp("", "sluice-count-*.jsonl")
	}
	if err := os.MkdirAll(filepath.Dir(s.output), 0o755); err != nil { // normally done at Setup
		return nil, err
	}
	return createTemp(s.output)
}

// copyToStdout copies the prepared file to standard output; a failed copy
// is also noted in the output's summary line.
func (s *Stage) copyToStdout() error {
	w := s.stdout
	if w == nil {
		w = os.Stdout
	}
	err := func() error {
		f, err := os.Open(s.tmp)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(w, f)
		return err
	}()
	os.Remove(s.tmp)
	if err != nil {
		s.copyErr = fmt.Errorf("copy the counts to standard output: %w", err)
	}
	return s.copyErr
}
