package xmlview

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
)

// NamespaceXML is the namespace URI always bound to the prefix "xml"
// (xml:lang, xml:space, xml:id).
const NamespaceXML = "http://www.w3.org/XML/1998/namespace"

const namespaceXMLNS = "http://www.w3.org/2000/xmlns/"

// Name is a resolved XML name.
type Name struct {
	Space  string // namespace URI; "" when the name is in no namespace
	Local  string // local part
	Prefix string // prefix as written in the record; "" when unprefixed
}

// Clark returns the name in Clark notation: "{uri}local", or just "local"
// when the name is in no namespace.
func (n Name) Clark() string {
	if n.Space == "" {
		return n.Local
	}
	return "{" + n.Space + "}" + n.Local
}

// AppendClark appends the name in Clark notation to b, without allocating
// when b has room.
func (n Name) AppendClark(b []byte) []byte {
	if n.Space != "" {
		b = append(b, '{')
		b = append(b, n.Space...)
		b = append(b, '}')
	}
	return append(b, n.Local...)
}

// Qualified returns the name as written in the record: "prefix:local" or
// "local".
func (n Name) Qualified() string {
	if n.Prefix == "" {
		return n.Local
	}
	return n.Prefix + ":" + n.Local
}

// Attr is an attribute with a resolved name. Namespace declarations
// (xmlns, xmlns:p) are not attributes and never appear as one.
type Attr struct {
	Name  Name
	Value string
}

// Element is one element of a record: its name, its attributes in document
// order and its depth (0 for the root). Its Attrs slice belongs to the
// Parser that returned it and is valid until that Parser's next call.
type Element struct {
	Name  Name
	Attrs []Attr
	Depth int
}

// SyntaxError reports a malformed record, with a position inside the
// record's bytes. Callers add the record's own position in its file.
type SyntaxError struct {
	Line   int   // line inside the record, from 1
	Offset int64 // byte offset inside the record, from 0
	Msg    string
}

// Error formats the error with its position inside the record.
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("malformed XML at line %d, byte %d of the record: %s", e.Line, e.Offset, e.Msg)
}

// binding is one namespace declaration in scope: prefix "" is the default
// namespace.
type binding struct {
	prefix, uri string
}

// openElement is an element whose end tag has not been read yet.
type openElement struct {
	raw   xml.Name // as written, to match the end tag
	nsLen int      // len(Parser.ns) before the element's declarations
	node  int32    // index in Tree.nodes
}

// Parser parses XML records. The zero value is ready to use. A Parser is
// not safe for concurrent use; it reuses its buffers from one record to the
// next, so what it returns is valid until its next call.
type Parser struct {
	rd   bytes.Reader
	ns   []binding
	open []openElement
	tree Tree

	line   int // position of the token being read, for errors
	offset int64
}

// Root parses the record's root start tag only and returns it. The rest of
// the record is not read: a malformation after the first tag goes
// unnoticed. The result is valid until the Parser's next call.
func (p *Parser) Root(data []byte) (*Root, error) {
	if err := p.parse(data, true); err != nil {
		return nil, err
	}
	return &p.tree.root, nil
}

// Tree parses the whole record and returns it. Every malformation is
// reported as a *SyntaxError. The result is valid until the Parser's next
// call.
func (p *Parser) Tree(data []byte) (*Tree, error) {
	if err := p.parse(data, false); err != nil {
		return nil, err
	}
	return &p.tree, nil
}

func (p *Parser) parse(data []byte, rootOnly bool) error {
	t := &p.tree
	t.reset()
	p.ns = p.ns[:0]
	p.open = p.open[:0]
	p.rd.Reset(data)
	d := xml.NewDecoder(&p.rd) // bytes.Reader is an io.ByteReader: no extra buffering
	seenRoot := false
	for {
		// Errors found here point at the start of the offending token.
		p.line, _ = d.InputPos()
		p.offset = d.InputOffset()
		tok, err := d.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				return &SyntaxError{Line: se.Line, Offset: d.InputOffset(), Msg: se.Msg}
			}
			return p.errorf("%v", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if len(p.open) == 0 && seenRoot {
				return p.errorf("element <%s> after the end of the root element", rawName(tok.Name))
			}
			seenRoot = true
			if err := p.start(tok); err != nil {
				return err
			}
			if rootOnly {
				return nil
			}
		case xml.EndElement:
			if len(p.open) == 0 {
				return p.errorf("end tag </%s> without a start tag", rawName(tok.Name))
			}
			top := p.open[len(p.open)-1]
			if top.raw != tok.Name {
				return p.errorf("element <%s> closed by </%s>", rawName(top.raw), rawName(tok.Name))
			}
			t.nodes[top.node].text1 = len(t.text)
			p.ns = p.ns[:top.nsLen]
			p.open = p.open[:len(p.open)-1]
		case xml.CharData:
			if len(p.open) == 0 {
				if len(bytes.TrimSpace(tok)) > 0 {
					return p.errorf("text outside the root element")
				}
				continue
			}
			t.text = append(t.text, tok...)
		}
		// Comments, processing instructions and directives carry no data
		// that a record query reads.
	}
	if len(p.open) > 0 {
		return p.errorf("unexpected end of record: <%s> is not closed", rawName(p.open[len(p.open)-1].raw))
	}
	if !seenRoot {
		return p.errorf("no element in the record")
	}
	return nil
}

// start handles a start tag: declarations, name resolution, attributes.
func (p *Parser) start(tok xml.StartElement) error {
	t := &p.tree
	nsLen := len(p.ns)
	for _, a := range tok.Attr {
		switch {
		case a.Name.Space == "xmlns":
			switch {
			case a.Name.Local == "xmlns":
				return p.errorf("the prefix xmlns cannot be declared")
			case a.Name.Local == "xml" && a.Value != NamespaceXML:
				return p.errorf("the prefix xml cannot be bound to %q", a.Value)
			case a.Value == "":
				return p.errorf("namespace prefix %q declared with an empty URI", a.Name.Local)
			case a.Value == namespaceXMLNS || (a.Value == NamespaceXML && a.Name.Local != "xml"):
				return p.errorf("namespace %q cannot be bound to the prefix %q", a.Value, a.Name.Local)
			}
			p.ns = append(p.ns, binding{a.Name.Local, a.Value})
		case a.Name.Space == "" && a.Name.Local == "xmlns":
			p.ns = append(p.ns, binding{"", a.Value})
		}
	}
	name, ok := p.resolve(tok.Name, false)
	if !ok {
		return p.errorf("element <%s> uses the undeclared namespace prefix %q", rawName(tok.Name), tok.Name.Space)
	}
	attr0 := len(t.attrs)
	for _, a := range tok.Attr {
		if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") {
			continue
		}
		an, ok := p.resolve(a.Name, true)
		if !ok {
			return p.errorf("attribute %s of <%s> uses the undeclared namespace prefix %q", rawName(a.Name), rawName(tok.Name), a.Name.Space)
		}
		for _, prev := range t.attrs[attr0:] {
			if prev.Name.Space == an.Space && prev.Name.Local == an.Local {
				return p.errorf("attribute %s repeated on <%s>", an.Clark(), rawName(tok.Name))
			}
		}
		t.attrs = append(t.attrs, Attr{Name: an, Value: a.Value})
	}
	parent := int32(-1)
	if len(p.open) > 0 {
		parent = p.open[len(p.open)-1].node
	}
	t.nodes = append(t.nodes, node{
		name:   name,
		parent: parent,
		depth:  int32(len(p.open)),
		attr0:  int32(attr0),
		attr1:  int32(len(t.attrs)),
		text0:  len(t.text),
		text1:  -1,
	})
	p.open = append(p.open, openElement{raw: tok.Name, nsLen: nsLen, node: int32(len(t.nodes) - 1)})
	if len(p.open) == 1 {
		t.finishRoot(p.ns)
	}
	return nil
}

// resolve maps a raw name (Space holding the prefix) to a resolved one; it
// reports false for an undeclared prefix.
func (p *Parser) resolve(raw xml.Name, attr bool) (Name, bool) {
	n := Name{Local: raw.Local, Prefix: raw.Space}
	switch {
	case raw.Space == "xml":
		n.Space = NamespaceXML
		return n, true
	case raw.Space == "" && attr:
		return n, true
	}
	uri, ok := lookup(p.ns, raw.Space)
	if !ok && raw.Space != "" {
		return n, false
	}
	n.Space = uri
	return n, true
}

// lookup returns the URI bound to prefix in scope (innermost first). The
// default namespace is unbound ("" , false) when never declared.
func lookup(scope []binding, prefix string) (string, bool) {
	for i := len(scope) - 1; i >= 0; i-- {
		if scope[i].prefix == prefix {
			return scope[i].uri, true
		}
	}
	return "", false
}

func rawName(n xml.Name) string {
	if n.Space == "" {
		return n.Local
	}
	return n.Space + ":" + n.Local
}

// errorf reports a malformation at the start of the current token.
func (p *Parser) errorf(format string, args ...any) error {
	return &SyntaxError{Line: p.line, Offset: p.offset, Msg: fmt.Sprintf(format, args...)}
}
