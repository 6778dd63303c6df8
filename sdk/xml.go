package sdk

import (
	"strings"

	"github.com/sluicehq/sluice/sdk/xmlview"
)

// XMLReader reads XML records: the attributes of a record's root element
// and the text of the elements below it. It is the lexer sluice's own
// classify and count stages use, so a plugin sees a record as the
// built-in rules do (attr("type"), text("title")), at a fraction of the
// cost of encoding/xml: names are resolved to namespaces, references
// (&amp;, &#233;) are decoded, CDATA is text, comments are not.
//
// It reads only as far as the questions asked need: Read parses the root
// start tag, and Text stops at the end of the element it returns. A
// malformation found on the way is an error; one further on goes
// unnoticed. Records that come from sluice's split stage have been
// checked whole already.
//
// The zero value is ready to use. An XMLReader is not safe for concurrent
// use; it keeps its buffers from one record to the next, so use one per
// Classify call (or per goroutine), not one per record.
type XMLReader struct {
	p xmlview.Parser
}

// XMLRecord is a record being read by an XMLReader. It is valid until the
// reader's next Read; the strings it returns are the caller's to keep.
type XMLRecord struct {
	t *xmlview.Tree
}

// Read starts reading data, an XML record (an element, with the namespace
// declarations it uses), and parses its root start tag.
func (x *XMLReader) Read(data []byte) (*XMLRecord, error) {
	t, err := x.p.Lazy(data)
	if err != nil {
		return nil, err
	}
	return &XMLRecord{t: t}, nil
}

// Attr returns the value of the root element's attribute called name, and
// whether it has one. name is "type" (an attribute without a prefix, in no
// namespace), "xml:lang" (a prefix declared in the record) or "{uri}local".
func (r *XMLRecord) Attr(name string) (string, bool, error) {
	v, ok, err := r.t.Root().Attr(name)
	return strings.Clone(v), ok, err
}

// Text returns the text of the first element below the root that path
// names, with the text of the elements inside it, and whether there is
// one. A path is element names separated by "/", from the root's children
// down: "title", "authors/author", "*/note"; an unprefixed name is in the
// root's default namespace, as it would be if written in the record.
func (r *XMLRecord) Text(path string) (string, bool, error) {
	return r.t.Text(path)
}
