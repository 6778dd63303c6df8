package main

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/sluicehq/sluice/sdk"
	"github.com/sluicehq/sluice/sdk/sdktest"
)

// TestTapRecordsAreSDKTestRecords taps split's records as JSON and reads
// them back with sdktest.ReadRecords: the same rows, each with its header,
// fields and position, records sluice sends (sdktest.CheckRecord), sharing
// one header.
func TestTapRecordsAreSDKTestRecords(t *testing.T) {
	dir, rows := tapWorkspace(t, 12)
	res := runTapCmd(t, dir, "rows", "-n", "100", "--format", "json")
	if res.code != 0 {
		t.Fatalf("exit %d: %s", res.code, res.stderr)
	}
	path := filepath.Join(t.TempDir(), "rows.jsonl")
	if err := os.WriteFile(path, []byte(res.stdout), 0o644); err != nil {
		t.Fatal(err)
	}
	recs, err := sdktest.ReadRecords(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != len(rows) {
		t.Fatalf("read %d records, want %d", len(recs), len(rows))
	}
	for i, r := range recs {
		if err := sdktest.CheckRecord(r); err != nil {
			t.Errorf("record %d: %v", i+1, err)
		}
		if r.Kind != sdk.CSV || !slices.Equal(r.Fields, rows[i]) || r.Header != recs[0].Header || !slices.Equal(r.Header.Names, []string{"id", "lang", "title"}) {
			t.Errorf("record %d: %+v, want fields %q under one header id,lang,title", i+1, r, rows[i])
		}
		if title, _ := r.Field("title"); title != rows[i][2] || r.Source.File != "data/books.csv" || r.Source.Ordinal == 0 || r.Source.Line == 0 {
			t.Errorf("record %d: title %q, position %v", i+1, title, r.Source)
		}
	}
}
