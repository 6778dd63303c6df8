package main

import (
	"testing"

	"github.com/sluicehq/sluice/sdk"
	"github.com/sluicehq/sluice/sdk/sdktest"
)

var tableConfig = map[string]any{"table": "places.tsv"}

// loans returns the rows of the example's input as the pipeline's split
// stage emits them.
func loans(t *testing.T) []sdk.Record {
	t.Helper()
	recs, err := sdktest.CSVRecords("../data/loans.csv", sdktest.CSVOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func TestClassify(t *testing.T) {
	c := sdktest.Serve(t, newPlugin())
	if err := c.Init(t.Context(), tableConfig); err != nil {
		t.Fatal(err)
	}
	hdr := sdk.NewHeader([]string{"id", "place", "year"})
	row := func(place, year string) sdk.Record {
		return sdk.Record{Kind: sdk.CSV, Header: hdr, Fields: []string{"x", place, year}}
	}
	tests := []struct {
		rec      sdk.Record
		category string
		country  string
	}{
		{row("Paris", "1866"), "europe/1860s", "France"},
		{row("são paulo", "2001"), "south-america/2000s", "Brazil"},
		{row("Atlantis", "1900"), "unknown/1900s", "unknown"},
		{row("Tokyo", ""), "asia/undated", "Japan"},
	}
	recs := make([]sdk.Record, len(tests))
	for i, tt := range tests {
		recs[i] = tt.rec
	}
	got, err := c.Classify(t.Context(), recs)
	if err != nil {
		t.Fatal(err)
	}
	for i, tt := range tests {
		if got[i].Err != nil || got[i].Category != tt.category || got[i].Labels["country"] != tt.country {
			t.Errorf("%v: got %+v, want %s with country %s", tt.rec.Fields, got[i], tt.category, tt.country)
		}
	}
	// Every place in the sample data is in the gazetteer.
	all, err := c.Classify(t.Context(), loans(t))
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range all {
		if r.Labels["country"] == "unknown" {
			t.Errorf("loan %d: place not in the gazetteer: %+v", i, r)
		}
	}
}

func TestInitErrors(t *testing.T) {
	for _, cfg := range []map[string]any{{}, {"table": "missing.tsv"}, {"table": "places.tsv", "tabel": "x"}} {
		c := sdktest.Serve(t, newPlugin())
		if err := c.Init(t.Context(), cfg); err == nil {
			t.Errorf("Init(%v) succeeded", cfg)
		}
	}
}

func TestConformance(t *testing.T) {
	sdktest.Conformance(t, newPlugin(), sdktest.Options{Config: tableConfig, Records: loans(t)})
}
