package protocol

// Kind is the kind of a record on the wire. Its values are the protocol's
// (classifier.proto's Kind), so they never change.
type Kind uint8

// The record kinds. KindUnspecified is what a record of any other kind (a
// file, for instance) is sent as.
const (
	KindUnspecified Kind = iota
	XML
	CSV
	Line
	JSON
)

// String returns the kind's name as the pipeline file spells it.
func (k Kind) String() string {
	switch k {
	case XML:
		return "xml"
	case CSV:
		return "csv"
	case Line:
		return "line"
	case JSON:
		return "json"
	}
	return "unspecified"
}

// Record is one record as the host sends it: a neutral copy of the fields
// of the engine's record that a plugin sees. Data, Header, Fields and
// Labels are referred to, not copied, until the batch is sent.
type Record struct {
	Kind Kind
	// Data is the record's raw bytes: an XML subtree, a CSV row, a line, a
	// JSON value.
	Data []byte
	// Header holds a CSV record's column names. Records that share a header
	// should share the slice: Encode sends each distinct slice once per
	// batch.
	Header []string
	// Fields holds a CSV record's values, in Header order.
	Fields []string
	// File, Offset (from 0), Line (from 1) and Ordinal (from 1) say where
	// the record came from; 0 or "" when not known.
	File    string
	Offset  int64
	Line    int64
	Ordinal int64
	// Category and Labels are what earlier stages set.
	Category string
	Labels   map[string]string
}
