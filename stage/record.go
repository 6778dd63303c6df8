package stage

import (
	"fmt"
	"strings"
)

// Type is a set of record kinds, as a bit mask. A stage's Signature uses it
// to say what it accepts and what it emits, and the planner checks every
// edge of the graph against it.
type Type uint8

// The record kinds. A Type value may combine several with |.
const (
	// File is a reference to an input file: Source.File names it and Size
	// gives its length on disk; Data is empty. The read stage emits these.
	File Type = 1 << iota
	// XML is one element subtree, its raw bytes in Data, parseable on its own.
	XML
	// CSV is one row, its decoded values in Fields and the shared header in
	// Header; Data holds the row's raw bytes.
	CSV
	// Line is one line of text without its line terminator.
	Line
	// JSON is one JSON value (a line of a JSON-lines file).
	JSON

	// None is the empty set: a sink's output, or a source's input.
	None Type = 0
	// Records is every kind a split emits: what most processing stages accept.
	Records = XML | CSV | Line | JSON
	// Any is every kind.
	Any = File | Records
)

var typeNames = []struct {
	t    Type
	name string
}{{File, "file"}, {XML, "xml"}, {CSV, "csv"}, {Line, "line"}, {JSON, "json"}}

// String lists the kinds in the set, joined by "|" ("none" for the empty set).
func (t Type) String() string {
	if t == None {
		return "none"
	}
	var parts []string
	for _, n := range typeNames {
		if t&n.t != 0 {
			parts = append(parts, n.name)
		}
	}
	return strings.Join(parts, "|")
}

// Position says where a record came from. Offsets and lines are those of
// the record's first byte in the (decompressed) input file; Ordinal counts
// records of that file from 1.
type Position struct {
	File    string // path as the read stage found it
	Offset  int64  // byte offset, from 0
	Line    int64  // line number, from 1; 0 when not known
	Ordinal int64  // record number within File, from 1; 0 when not known
}

// String formats the position as "file:line (record N, byte B)", leaving
// out the parts that are not known.
func (p Position) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d", p.Line)
	}
	switch {
	case p.Ordinal > 0:
		fmt.Fprintf(&b, " (record %d, byte %d)", p.Ordinal, p.Offset)
	case p.Offset > 0:
		fmt.Fprintf(&b, " (byte %d)", p.Offset)
	}
	return b.String()
}

// Header names the fields of CSV records. One Header value is shared by
// every record of a file and must not be modified once records refer to it.
type Header struct {
	Names []string
	// Delimiter is the field delimiter of the records' Data (',' for RFC
	// 4180), set by split; 0 when not known.
	Delimiter byte
	index     map[string]int
}

// NewHeader returns a header for the given field names. A name that occurs
// twice resolves to its first column.
func NewHeader(names []string) *Header {
	h := &Header{Names: names, index: make(map[string]int, len(names))}
	for i, n := range names {
		if _, dup := h.index[n]; !dup {
			h.index[n] = i
		}
	}
	return h
}

// Index returns the column of name, or -1.
func (h *Header) Index(name string) int {
	if h == nil {
		return -1
	}
	if i, ok := h.index[name]; ok {
		return i
	}
	return -1
}

// Record is the unit that flows between stages.
//
// Records are values. Once emitted, a record and everything it points to
// (Data, Fields, Labels) are shared read-only by every consumer of the
// stage: a fan-out hands the same record to several stages running at
// once. A stage that changes a record emits a modified copy
// (r2 := *r; r2.Category = c; out.Emit(&r2)); slices are shared, so it
// replaces a slice or map rather than writing into it.
//
// The Record values themselves live in batches that the runner recycles,
// so a *Record handed to a stage is valid only during the call (see
// "Lifetime of records and batches" on Stage); what they refer to is
// never recycled.
type Record struct {
	Type Type
	// Checked says that the stage that made the record checked Data
	// against the rules of its kind, so that readers may skip those checks.
	// split sets it on the XML records it emits, whose every character,
	// name and reference it checked as encoding/xml does: the XML view of
	// classify and count then does not check the characters of text and
	// attribute values again (it still reads the structure, resolves
	// namespaces and applies its own rules). A record made any other way
	// (by a test, by an embedding program) leaves it false and is read
	// with every check; a stage that replaces Data emits a copy with
	// Checked false. On CSV records split sets it to say that Data is a
	// well-formed row whose fields, split at Header.Delimiter, are Fields,
	// so that write can copy Data instead of encoding Fields again; a stage
	// that changes Fields or Data emits a copy with Checked false.
	Checked  bool
	Source   Position
	Size     int64             // for File records: the size on disk; otherwise len(Data)
	Data     []byte            // the raw bytes: XML subtree, CSV row, line, JSON value
	Header   *Header           // CSV: the field names, shared by the file's records
	Fields   []string          // CSV: the decoded values, in Header order
	Category string            // set by classify; "" until then
	Labels   map[string]string // optional labels attached by classifiers
}

// Field returns the value of the named CSV field and whether it exists.
func (r *Record) Field(name string) (string, bool) {
	i := r.Header.Index(name)
	if i < 0 || i >= len(r.Fields) {
		return "", false
	}
	return r.Fields[i], true
}
