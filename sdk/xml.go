package sdk

import (
	"iter"
	"strings"

	"github.com/sluicehq/sluice/sdk/xmlview"
)

// XMLReader reads XML records: attributes and text anywhere in a record,
// by path, and repeated elements one by one. It is the lexer sluice's own
// classify and count stages use, so a plugin sees a record as the
// built-in rules do (attr("type"), text("title")), at a fraction of the
// cost of encoding/xml: names are resolved to namespaces, references
// (&amp;, &#233;) are decoded, CDATA is text, comments are not.
//
// # Paths
//
// Text, Each and an element's Text and Each take a path, relative to the
// element they are called on (the record's root for XMLRecord):
//
//	title               the first <title> child
//	authors/author      the first <author> child of an <authors> child
//	*/note              "*" is any element
//	. or ""             the element itself (all the text of the record)
//	@type               an attribute of the element itself
//	published/@place    the attribute of the first <published> that has one
//	@xml:lang           names are "local", "prefix:local", "{uri}local"
//
// An unprefixed element name is in the root's default namespace, as it
// would be if written in the record; an unprefixed attribute name is in no
// namespace, as in XML. A prefix is resolved with the declarations on the
// record's root ("xml" is always bound); one the record does not declare
// matches nothing. "{uri}local" names a namespace directly, "{}local" no
// namespace.
//
// Nothing else is supported, and saying so is an error rather than a
// match of nothing: "//" (any depth), "..", predicates ("author[2]"),
// functions ("text()"), "@*", a leading or trailing "/", an "@" before the
// last step, a name that is not an XML name. Iterate with Each instead of
// predicates.
//
// # Cost
//
// It reads only as far as the questions asked need: Read parses the root
// start tag, Text stops at the end of the element it returns and Each
// reads one element further per iteration. A malformation found on the
// way is an error; one further on goes unnoticed. Records that come from
// sluice's split stage have been checked whole already. Compiling a path
// and reading allocate nothing once the reader's buffers have grown; the
// strings returned are new (the caller's to keep).
//
// The zero value is ready to use. An XMLReader is not safe for concurrent
// use; it keeps its buffers from one record to the next, so use one per
// Classify call (or per goroutine), not one per record.
type XMLReader struct {
	p    xmlview.Parser
	path xmlview.Path
	free []*xmlview.Path // for Each, which may nest
}

// XMLRecord is a record being read by an XMLReader. It and the
// XMLElements it yields are valid until the reader's next Read.
type XMLRecord struct {
	x *XMLReader
	t *xmlview.Tree
}

// XMLElement is one element of a record, found by XMLRecord.Each: read
// its attributes and the text below it with paths relative to it.
type XMLElement struct {
	x *XMLReader
	t *xmlview.Tree
	i int
}

// Read starts reading data, an XML record (an element, with the namespace
// declarations it uses), and parses its root start tag.
func (x *XMLReader) Read(data []byte) (*XMLRecord, error) {
	t, err := x.p.Lazy(data)
	if err != nil {
		return nil, err
	}
	return &XMLRecord{x: x, t: t}, nil
}

// Check reads the rest of the record and returns its first malformation,
// if any: the reads above stop as soon as they have their answer, so a
// record is known to be well-formed only once Check has returned nil.
// Records from split are; Check is for records from elsewhere.
func (r *XMLRecord) Check() error { return r.t.Complete() }

// Root returns the record's root element.
func (r *XMLRecord) Root() XMLElement { return XMLElement{x: r.x, t: r.t} }

// Attr returns the value of the root element's attribute called name, and
// whether it has one. name is "type" (an attribute without a prefix, in no
// namespace), "xml:lang" (a prefix declared in the record) or "{uri}local";
// anything else (a path such as "a/@b") is an error: use Text for paths.
func (r *XMLRecord) Attr(name string) (string, bool, error) { return r.Root().Attr(name) }

// Text returns what path names (see Paths): the text of the first element
// it matches, with the text of the elements inside it, or an attribute's
// value; and whether there is one. An unsupported path is an error.
func (r *XMLRecord) Text(path string) (string, bool, error) { return r.Root().Text(path) }

// Each iterates over the elements path matches, in document order:
//
//	for author, err := range rec.Each("authors/author") {
//		if err != nil {
//			return err
//		}
//		id, _, _ := author.Attr("id")
//		name, _, _ := author.Text("name")
//	}
//
// An unsupported path, a path ending in an attribute, or a malformation
// found while reading is yielded once as the error, and ends the loop.
func (r *XMLRecord) Each(path string) iter.Seq2[XMLElement, error] { return r.Root().Each(path) }

// Name returns the element's name in Clark notation: "{uri}local", or
// "local" when it is in no namespace.
func (e XMLElement) Name() string { return e.t.Name(e.i).Clark() }

// Attr returns the value of the element's attribute called name (as for
// XMLRecord.Attr) and whether it has one.
func (e XMLElement) Attr(name string) (string, bool, error) {
	v, ok, err := e.t.ElementAttr(e.i, name)
	return strings.Clone(v), ok, err
}

// Text returns what path names below the element (see Paths) and whether
// there is one; Text(".") is all the element's text.
func (e XMLElement) Text(path string) (string, bool, error) {
	if err := e.t.CompilePath(&e.x.path, path); err != nil {
		return "", false, err
	}
	v, ok, err := e.t.Value(e.i, &e.x.path)
	if e.x.path.IsAttr() {
		v = strings.Clone(v) // shares the record's memory
	}
	return v, ok, err
}

// attrEach says why Each refuses a path ending in an attribute.
const attrEach = `Each iterates over elements, and the path names an attribute (read it with Text)`

// Each iterates over the elements path matches below the element, in
// document order (see XMLRecord.Each).
func (e XMLElement) Each(path string) iter.Seq2[XMLElement, error] {
	return func(yield func(XMLElement, error) bool) {
		p := e.x.takePath()
		defer e.x.putPath(p)
		if err := e.t.CompilePath(p, path); err != nil {
			yield(XMLElement{}, err)
			return
		}
		if p.IsAttr() {
			yield(XMLElement{}, &xmlview.PathError{Path: path, Msg: attrEach})
			return
		}
		for i := e.i; ; i++ {
			next, err := e.t.Next(e.i, p, i)
			if err != nil {
				yield(XMLElement{}, err)
				return
			}
			if next < 0 || !yield(XMLElement{x: e.x, t: e.t, i: next}, nil) {
				return
			}
			i = next
		}
	}
}

// takePath returns a compiled-path buffer for Each, reused once returned.
func (x *XMLReader) takePath() *xmlview.Path {
	if n := len(x.free); n > 0 {
		p := x.free[n-1]
		x.free = x.free[:n-1]
		return p
	}
	return new(xmlview.Path)
}

func (x *XMLReader) putPath(p *xmlview.Path) { x.free = append(x.free, p) }
