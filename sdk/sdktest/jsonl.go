package sdktest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/sluicehq/sluice/sdk"
)

// jsonRecord is one line of a records file.
type jsonRecord struct {
	Kind     string            `json:"kind"`
	Data     *string           `json:"data"`
	Header   []string          `json:"header"`
	Fields   []string          `json:"fields"`
	File     string            `json:"file"`
	Line     int64             `json:"line"`
	Offset   int64             `json:"offset"`
	Ordinal  int64             `json:"ordinal"`
	Category string            `json:"category"`
	Labels   map[string]string `json:"labels"`
}

// ReadRecords reads a records file: one JSON object a line, as
// `sluice tap STAGE --format json` prints the records a stage emits and as
// the Python sdk's `python3 -m sluice_plugin check --records FILE` reads
// them. Keys: kind (xml, csv, line or json) and data, required; header and
// fields for CSV; file, line, offset, ordinal, category and labels,
// optional. An unknown key or kind is an error naming the line; blank
// lines are skipped. CSV records with the same header share one
// *sdk.Header, as records of one file do.
//
// So the records a pipeline really produces at any stage become a
// plugin's test input:
//
//	sluice tap rows --format json -n 100 > testdata/rows.jsonl
func ReadRecords(path string) ([]sdk.Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("sdktest: %w", err)
	}
	defer f.Close()
	var out []sdk.Record
	var headers []*sdk.Header
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<30)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var j jsonRecord
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&j); err != nil {
			return nil, fmt.Errorf("sdktest: %s:%d: not a record: %w (keys: kind, data, header, fields, file, line, offset, ordinal, category, labels)", path, n, err)
		}
		r := sdk.Record{
			Fields:   j.Fields,
			Source:   sdk.Position{File: j.File, Offset: j.Offset, Line: j.Line, Ordinal: j.Ordinal},
			Category: j.Category,
			Labels:   j.Labels,
		}
		switch strings.ToLower(j.Kind) {
		case "xml":
			r.Kind = sdk.XML
		case "csv":
			r.Kind = sdk.CSV
		case "line":
			r.Kind = sdk.Line
		case "json":
			r.Kind = sdk.JSON
		default:
			return nil, fmt.Errorf("sdktest: %s:%d: kind %q: expected xml, csv, line or json", path, n, j.Kind)
		}
		if j.Data == nil {
			return nil, fmt.Errorf("sdktest: %s:%d: no data", path, n)
		}
		r.Data = []byte(*j.Data)
		if j.Header != nil {
			i := slices.IndexFunc(headers, func(h *sdk.Header) bool { return slices.Equal(h.Names, j.Header) })
			if i < 0 {
				headers = append(headers, sdk.NewHeader(j.Header))
				i = len(headers) - 1
			}
			r.Header = headers[i]
		}
		out = append(out, r)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("sdktest: %s: %w", path, err)
	}
	return out, nil
}
