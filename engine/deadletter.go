package engine

import (
	"bufio"
	"encoding/json"
	"fmt"
	"github.com/sluicehq/sluice/stage"
	"os"
	"path/filepath"
	"sync"
)

// deadLetters is the dead-letter file of one stage: JSON lines, one per
// rejected record, with the stage, the error and the record. It is written
// under a temporary name. A successful run commits it with its other
// outputs, so the file under path is always the last successful run's own:
// a successful run without rejections removes the previous one. A run that
// fails or is interrupted keeps its dead letters (they are how its failure
// is debugged) under path + FailedInfix + run id, a name no successful run
// uses. Rejections are rare, so a mutex is fine here.
type deadLetters struct {
	path string

	mu   sync.Mutex
	tmp  string
	f    *os.File
	w    *bufio.Writer
	n    int64
	kept string // where the records ended up, once the run is over
}

type deadLetter struct {
	Stage    string   `json:"stage"`
	Error    string   `json:"error"`
	File     string   `json:"file,omitempty"`
	Offset   int64    `json:"offset"`
	Line     int64    `json:"line,omitempty"`
	Ordinal  int64    `json:"ordinal,omitempty"`
	Kind     string   `json:"kind"`
	Category string   `json:"category,omitempty"`
	Record   string   `json:"record"`
	Fields   []string `json:"fields,omitempty"`
}

func (d *deadLetters) write(stage string, r *stage.Record, cause error) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.f == nil {
		if err := os.MkdirAll(filepath.Dir(d.path), 0o755); err != nil {
			return err
		}
		f, err := os.CreateTemp(filepath.Dir(d.path), "."+filepath.Base(d.path)+".tmp-*")
		if err != nil {
			return err
		}
		d.f, d.tmp, d.w = f, f.Name(), bufio.NewWriter(f)
	}
	b, err := json.Marshal(deadLetter{
		Stage: stage, Error: cause.Error(), File: r.Source.File, Offset: r.Source.Offset,
		Line: r.Source.Line, Ordinal: r.Source.Ordinal, Kind: r.Type.String(),
		Category: r.Category, Record: string(r.Data), Fields: r.Fields,
	})
	if err != nil {
		return err
	}
	d.n++
	d.w.Write(b)
	return d.w.WriteByte('\n')
}

// file is where the records are: where they were kept once the run is
// over, the final path while it runs (if there are any).
func (d *deadLetters) file() string {
	if d == nil {
		return ""
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.kept != "" || d.n == 0 {
		return d.kept
	}
	return d.path
}

func (d *deadLetters) count() int64 {
	if d == nil {
		return 0
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.n
}

// close flushes and closes the file.
func (d *deadLetters) close() error {
	if d == nil {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.f == nil {
		return nil
	}
	err := d.w.Flush()
	if cerr := d.f.Close(); err == nil {
		err = cerr
	}
	d.f = nil
	if err != nil {
		return fmt.Errorf("%s: %w", d.path, err)
	}
	return nil
}

// failedName is where a failed run's dead letters go.
func (d *deadLetters) failedName(run string) string {
	return d.path + FailedInfix + run
}

// plan returns the dead letters' part of the run's commit: the file to
// rename into place, or the previous run's file to remove when this run
// rejected nothing. keep gets the name its records keep if the commit is
// undone.
func (d *deadLetters) plan(run string, keep map[string]string) stage.CommitPlan {
	if d == nil {
		return stage.CommitPlan{}
	}
	if d.tmp == "" {
		return stage.CommitPlan{Renames: []stage.Rename{{Final: d.path}}}
	}
	keep[d.tmp] = d.failedName(run)
	return stage.CommitPlan{Renames: []stage.Rename{{Temp: d.tmp, Final: d.path}}}
}

// settle records where the records are after the run: under path when the
// commit succeeded, else under the failed name (moved there now, unless
// the commit already did). A failure to move them is returned, and the
// temporary file removed: nothing of a run outlives it under a temporary
// name.
func (d *deadLetters) settle(run string, committed bool) error {
	if d == nil || d.tmp == "" {
		return nil
	}
	if committed {
		d.kept = d.path
		return nil
	}
	failed := d.failedName(run)
	if exists(d.tmp) {
		if err := os.Rename(d.tmp, failed); err != nil {
			os.Remove(d.tmp)
			return fmt.Errorf("keep the dead letters of the failed run as %s: %w", failed, err)
		}
	}
	if exists(failed) {
		d.kept = failed
	}
	return nil
}
