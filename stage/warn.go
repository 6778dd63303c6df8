package stage

import (
	"log/slog"
	"sync"
)

// MaxWarnings is how many warnings of a stage the run report and summary
// list; the rest are counted (and logged).
const MaxWarnings = 20

// Warnings collects a stage's warnings: what a user must hear about but
// is not an error, such as an input file that gave no records or a CSV
// header that names a column twice. Each warning is logged at warn level
// with the stage's name, and the first MaxWarnings are kept for the run
// summary and report (StageReport.Warnings), which count them all. It is
// safe for concurrent use, and costs a lock per warning: warn about files
// or settings, not per record. A nil *Warnings drops warnings.
type Warnings struct {
	log   *slog.Logger
	mu    sync.Mutex
	first []string
	n     int64
}

// Warn logs msg, a sentence that stands on its own in the summary (name
// the file), with the log attributes args, and keeps it for the report.
func (w *Warnings) Warn(msg string, args ...any) {
	if w == nil {
		return
	}
	if w.log != nil {
		w.log.Warn(msg, args...)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.n++
	if len(w.first) < MaxWarnings {
		w.first = append(w.first, msg)
	}
}

// NewWarnings returns a Warnings that logs to log (nil: nowhere), for
// programs and tests that set stages up themselves; the runner makes one
// per stage.
func NewWarnings(log *slog.Logger) *Warnings { return &Warnings{log: log} }

// List returns the warnings kept (the first MaxWarnings) and how many
// there were in all.
func (w *Warnings) List() ([]string, int64) {
	if w == nil {
		return nil, 0
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.n == 0 {
		return nil, 0
	}
	return append([]string(nil), w.first...), w.n
}
