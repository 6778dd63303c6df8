package write

import (
	"fmt"
	"io"
	"os"

	"github.com/sluicehq/sluice/stage"
)

// stdoutName is the dir that means standard output.
const stdoutName = "-"

// Standard output cannot be renamed into place, so write stages its one
// file as for a directory, but in the system's temporary directory, and
// Committed copies it to standard output only once the run's commit has
// made every other output final: a failed or interrupted run prints
// nothing there. The copy is the one step after the commit; if it fails (a
// full disk behind a redirection), the error is logged and the output's
// note says so. The staged file costs disk space, not memory: standard
// output may take any size.

// setupStdout makes the staging directory for standard output.
func (w *Writer) setupStdout() error {
	staging, err := os.MkdirTemp("", "sluice-write-")
	if err != nil {
		return fmt.Errorf("create staging directory for standard output: %w", err)
	}
	w.staging, w.dir = staging, staging
	w.state = stateReady
	return nil
}

// oneStdoutKind refuses a record whose kind would need a second output
// (another extension) on standard output.
func (w *Writer) oneStdoutKind(r *stage.Record, ext string) error {
	if !w.stdout || len(w.order) == 0 || w.order[0].ext == ext {
		return nil
	}
	return fmt.Errorf("record %s: standard output already holds %s records, not %s ones: write to a directory, or convert the records to one kind with format: jsonl or csv", r.Source.String(), w.order[0].typ, r.Type)
}

// copyToStdout copies the staged file to standard output and removes the
// staging directory.
func (w *Writer) copyToStdout() error {
	out := w.out
	if out == nil {
		out = os.Stdout
	}
	var err error
	for _, f := range w.created() {
		if err = copyFile(out, f.tmp); err != nil {
			break
		}
	}
	if rerr := os.RemoveAll(w.staging); rerr != nil {
		w.log.Error("remove staging directory", "dir", w.staging, "err", rerr)
	}
	if err != nil {
		w.copyNote = fmt.Sprintf("standard output: the copy failed: %v", err)
		return fmt.Errorf("copy the records to standard output: %w", err)
	}
	return nil
}

func copyFile(w io.Writer, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}
