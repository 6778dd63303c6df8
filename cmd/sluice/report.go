package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/sluicehq/sluice/engine"
	"github.com/sluicehq/sluice/plugins"
)

// reportFile is where --report goes. It is created (under a temporary
// name, in the same directory) before the run starts, so that a path that
// cannot be written fails at once rather than after hours of work, and
// renamed into place once the report is written: a reader never sees half
// a report.
type reportFile struct {
	path string
	tmp  *os.File
}

func createReport(path string) (*reportFile, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".sluice-report-*.json")
	if err != nil {
		return nil, fmt.Errorf("--report %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil { // CreateTemp makes it private
		tmp.Close()
		os.Remove(tmp.Name())
		return nil, fmt.Errorf("--report %s: %w", path, err)
	}
	return &reportFile{path: path, tmp: tmp}, nil
}

// runReport is the report file's content: the run's Report, and the
// plugins built from source during its setup.
type runReport struct {
	*engine.Report
	PluginBuilds []plugins.Build `json:"plugin_builds,omitempty"`
}

// write writes rep and builds as indented JSON (the schema is
// docs/report.schema.json) and renames it into place.
func (f *reportFile) write(rep *engine.Report, builds []plugins.Build) error {
	enc := json.NewEncoder(f.tmp)
	enc.SetIndent("", "  ")
	err := enc.Encode(runReport{rep, builds})
	if cerr := f.tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.tmp.Name(), f.path)
	}
	if err != nil {
		os.Remove(f.tmp.Name())
		return fmt.Errorf("write report %s: %w", f.path, err)
	}
	return nil
}

// discard removes the temporary file when no report is written.
func (f *reportFile) discard() {
	f.tmp.Close()
	os.Remove(f.tmp.Name())
}
