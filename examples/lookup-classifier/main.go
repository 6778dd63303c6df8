// Command lookup-classifier is a small sluice classifier plugin that loads
// a large read-only table once per process and shares it, without locks, by
// every batch it classifies, several at a time.
//
// It classifies CSV rows with a place and a year (like the bundled
// examples/data/loans.csv) into "<region>/<decade>": a row published in
// Paris in 1866 is "europe/1860s". The gazetteer that maps places to regions
// and countries is places.tsv; a real one would hold millions of rows, and
// the point is that it is read once per process, not once per batch or per
// worker, and never copied.
package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/sdk"
)

func main() {
	sdk.Serve(newPlugin())
}

func newPlugin() sdk.Plugin {
	return sdk.Plugin{
		Name:       "gazetteer",
		Version:    "1.0.0",
		Accepts:    []sdk.Kind{sdk.CSV},
		Classifier: &gazetteer{},
		// The table is only read after Init, so batches can share it
		// concurrently: one process with several batches at once keeps one
		// copy of the table where several processes would keep one each.
		Concurrency: runtime.GOMAXPROCS(0),
	}
}

// place is one gazetteer entry.
type place struct {
	country, region string
}

// gazetteer is the classifier. places is written by Init and only read
// afterwards, which is what makes concurrent Classify calls safe.
type gazetteer struct {
	places              map[string]place
	placeField, yearCol string
}

type config struct {
	Table      string `json:"table"`       // the gazetteer: place<TAB>country<TAB>region
	PlaceField string `json:"place_field"` // the CSV column holding the place (default "place")
	YearField  string `json:"year_field"`  // the CSV column holding the year (default "year")
}

func (g *gazetteer) Init(_ context.Context, req *sdk.InitRequest) (*sdk.InitResponse, error) {
	cfg := config{PlaceField: "place", YearField: "year"}
	if err := req.DecodeConfig(&cfg); err != nil {
		return nil, err
	}
	if cfg.Table == "" {
		return nil, fmt.Errorf(`config: "table" is required: the path of a gazetteer such as examples/lookup-classifier/places.tsv`)
	}
	f, err := os.Open(cfg.Table)
	if err != nil {
		return nil, fmt.Errorf("opening the gazetteer: %w", err)
	}
	defer f.Close()
	g.places = map[string]place{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		cols := strings.Split(line, "\t")
		if len(cols) != 3 {
			return nil, fmt.Errorf("%s:%d: want place<TAB>country<TAB>region, got %q", cfg.Table, n, line)
		}
		g.places[strings.ToLower(cols[0])] = place{country: cols[1], region: cols[2]}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", cfg.Table, err)
	}
	g.placeField, g.yearCol = cfg.PlaceField, cfg.YearField
	return nil, nil
}

func (g *gazetteer) Classify(_ context.Context, req *sdk.ClassifyRequest) (*sdk.ClassifyResponse, error) {
	resp := &sdk.ClassifyResponse{Results: make([]sdk.Result, len(req.Records))}
	for i := range req.Records {
		r := &req.Records[i]
		name, _ := r.Field(g.placeField)
		p, ok := g.places[strings.ToLower(strings.TrimSpace(name))]
		if !ok {
			p = place{country: "unknown", region: "unknown"}
		}
		decade := "undated"
		if y, ok := r.Field(g.yearCol); ok {
			if year, err := strconv.Atoi(strings.TrimSpace(y)); err == nil {
				decade = fmt.Sprintf("%ds", year/10*10)
			}
		}
		resp.Results[i] = sdk.Result{
			Category: p.region + "/" + decade,
			Labels:   map[string]string{"country": p.country},
		}
	}
	return resp, nil
}
