package core

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// deadLetters is the dead-letter file of one stage: JSON lines, one per
// rejected record, with the stage, the error and the record. It is written
// under a temporary name and renamed when the run ends, whatever the
// outcome (it is the record of what was rejected, most needed when a run
// fails). Rejections are rare, so a mutex is fine here.
type deadLetters struct {
	path string

	mu  sync.Mutex
	tmp string
	f   *os.File
	w   *bufio.Writer
	n   int64
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

func (d *deadLetters) write(stage string, r *Record, cause error) error {
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

func (d *deadLetters) count() int64 {
	if d == nil {
		return 0
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.n
}

// finish closes the file and moves it to its final name.
func (d *deadLetters) finish() error {
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
		os.Remove(d.tmp)
		return fmt.Errorf("%s: %w", d.path, err)
	}
	return os.Rename(d.tmp, d.path)
}
