package write

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/sluicehq/sluice/stage"
	"github.com/sluicehq/sluice/stages/internal/jsonout"
)

// Output formats (Options.Format).
const (
	formatNative = "native" // each record as its own kind
	formatJSONL  = "jsonl"
	formatCSV    = "csv"
)

// converter turns records into the kind of the output format before they
// are written: JSON objects and CSV rows into CSV rows of chosen columns,
// CSV rows and lines into JSON objects. It is used by Process only, on the
// stage's one goroutine, and reuses its buffers from record to record.
type converter struct {
	format string
	fields []string      // the chosen columns, in order; nil: all
	header *stage.Header // the CSV output's header, of fields
	out    stage.Record  // the converted record, valid until the next call
	vals   []string
	buf    []byte
	picks  map[*stage.Header][]int // for each input header, fields' columns in it
}

// newConverter returns the converter of format, or nil for native.
func newConverter(format string, fields []string) *converter {
	if format == formatNative || format == "" {
		return nil
	}
	if len(fields) == 0 {
		fields = nil // all the columns
	}
	c := &converter{format: format, fields: fields, picks: map[*stage.Header][]int{}}
	if fields != nil {
		c.header = stage.NewHeader(fields)
	}
	return c
}

// convert returns r in the output format: r itself when it already is, or
// a converted record valid until the next call.
func (c *converter) convert(r *stage.Record) (*stage.Record, error) {
	switch {
	case c.format == formatCSV && r.Type == stage.CSV:
		if c.fields == nil {
			return r, nil
		}
		vals, err := c.pick(r)
		if err != nil {
			return nil, err
		}
		return c.row(r, vals), nil
	case c.format == formatCSV && r.Type == stage.JSON:
		if c.fields == nil {
			return nil, fmt.Errorf("record %s: format: csv needs fields: (the columns to write, in order) for json records", r.Source.String())
		}
		obj, err := object(r)
		if err != nil {
			return nil, err
		}
		c.vals = c.vals[:0]
		for _, name := range c.fields {
			c.vals = append(c.vals, cell(obj[name]))
		}
		return c.row(r, c.vals), nil
	case c.format == formatJSONL && r.Type == stage.JSON:
		if c.fields == nil {
			return r, nil
		}
		obj, err := object(r)
		if err != nil {
			return nil, err
		}
		b := append(c.buf[:0], '{')
		for i, name := range c.fields {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(jsonout.String(b, name), ':')
			if v, ok := obj[name]; ok {
				b = append(b, v...)
			} else {
				b = append(b, "null"...)
			}
		}
		return c.json(r, append(b, '}')), nil
	case c.format == formatJSONL && r.Type == stage.CSV:
		vals, err := c.pick(r)
		if err != nil {
			return nil, err
		}
		names := c.fields
		if names == nil {
			names = r.Header.Names
		}
		b := append(c.buf[:0], '{')
		for i, name := range names {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(jsonout.String(b, name), ':')
			b = jsonout.String(b, vals[i])
		}
		return c.json(r, append(b, '}')), nil
	case c.format == formatJSONL && r.Type == stage.Line:
		b := jsonout.String(append(c.buf[:0], `{"line":`...), string(r.Data))
		return c.json(r, append(b, '}')), nil
	}
	return nil, fmt.Errorf("record %s: format: %s does not take %s records; give them the fields to write with a map stage first (e.g. map with fields: {id: 'attr(\"id\")'})",
		r.Source.String(), c.format, r.Type)
}

// pick returns r's fields of the chosen columns (all of them, when none
// are chosen).
func (c *converter) pick(r *stage.Record) ([]string, error) {
	if c.fields == nil || r.Header == nil {
		if r.Header == nil && c.fields != nil {
			return nil, fmt.Errorf("record %s: csv record has no header, so fields cannot be picked by name", r.Source.String())
		}
		return r.Fields, nil
	}
	idx, ok := c.picks[r.Header]
	if !ok {
		for _, name := range c.fields {
			i := slices.Index(r.Header.Names, name)
			if i < 0 {
				return nil, fmt.Errorf("record %s: the csv header has no column %q (columns: %s)", r.Source.String(), name, shortList(r.Header.Names))
			}
			idx = append(idx, i)
		}
		c.picks[r.Header] = idx
	}
	c.vals = c.vals[:0]
	for _, i := range idx {
		v := ""
		if i < len(r.Fields) {
			v = r.Fields[i]
		}
		c.vals = append(c.vals, v)
	}
	return c.vals, nil
}

// row returns a CSV record of vals under the output header, keeping r's
// position, category and labels.
func (c *converter) row(r *stage.Record, vals []string) *stage.Record {
	c.out = stage.Record{Type: stage.CSV, Header: c.header, Fields: vals, Source: r.Source, Category: r.Category, Labels: r.Labels}
	return &c.out
}

// json returns a JSON record of data, keeping r's position, category and
// labels; data becomes the converter's buffer for the next call.
func (c *converter) json(r *stage.Record, data []byte) *stage.Record {
	c.buf = data
	c.out = stage.Record{Type: stage.JSON, Data: data, Source: r.Source, Category: r.Category, Labels: r.Labels}
	return &c.out
}

// object decodes a JSON record that must hold an object.
func object(r *stage.Record) (map[string]json.RawMessage, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(r.Data, &obj); err != nil || obj == nil {
		return nil, fmt.Errorf("record %s: format needs a json object to pick fields from, got %.40s", r.Source.String(), bytes.TrimSpace(r.Data))
	}
	return obj, nil
}

// cell is a JSON value as a CSV field: a string's text, a number as
// written, true or false, empty for null or a missing field, and a list or
// an object as its compact JSON text.
func cell(v json.RawMessage) string {
	if len(v) == 0 || string(v) == "null" {
		return ""
	}
	if v[0] == '"' {
		var s string
		if json.Unmarshal(v, &s) == nil {
			return s
		}
	}
	var b bytes.Buffer
	if json.Compact(&b, v) == nil {
		return b.String()
	}
	return strings.TrimSpace(string(v))
}
