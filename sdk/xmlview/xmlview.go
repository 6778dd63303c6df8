package xmlview

import (
	"bytes"
	"fmt"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/sluicehq/sluice/sdk/xmlname"
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
	uriSpan     span
	shadow      int32 // the binding of the same prefix it hides, or -1 (nsIndex)
}

// span locates a string the Parser holds, so that the tree refers to its
// strings without pointers (which the garbage collector would have to
// follow and every write to pay a barrier for): bytes [off, off+n) of the
// record when off >= 0, else of the Parser's buffer of decoded values, at
// -off-1; spanXML stands for NamespaceXML.
type span struct{ off, n int32 }

var spanXML = span{off: math.MinInt32}

// nameSpan is a Name as spans.
type nameSpan struct{ space, local, prefix span }

// attrSpan is an Attr as spans.
type attrSpan struct {
	name  nameSpan
	value span
}

// openElement is an element whose end tag has not been read yet.
type openElement struct {
	qs, qe int   // its name as written, data[qs:qe], to match the end tag
	nsLen  int   // len(Parser.ns) before the element's declarations
	node   int32 // index in Tree.nodes
}

// rawAttr is an attribute of the start tag being read, before its name is
// resolved.
type rawAttr struct {
	prefix, local span
	value         span
	at            int // offset of its name, for errors
	kind          uint8
}

// The kinds of rawAttr.
const (
	attrPlain    = iota // no prefix
	attrPrefixed        // p:name, p not xmlns
	attrDecl            // xmlns or xmlns:p, a namespace declaration
)

// Parser parses XML records. The zero value is ready to use.
//
// A Parser is not safe for concurrent use. It reuses its buffers from one
// record to the next, so what it returns is valid until its next call.
// Names and attribute values it returns share the memory of the record's
// bytes (no copy is made): the bytes must not be modified while a result
// is in use, which holds for stage.Record data, read-only once emitted. A
// caller that keeps a string beyond the record copies it (strings.Clone);
// otherwise it also keeps the record's memory alive.
//
// Cost: one pass over the record's bytes (as far as the call needs), with
// no allocation once the Parser's buffers have grown, except for attribute
// values holding references (&amp;, &#233;), which are decoded into
// strings of their own. On catalogue records a whole parse runs at several
// hundred MB/s per core (BenchmarkParse).
type Parser struct {
	// Checked says that the records given to the Parser have had their
	// characters checked already, with the rules it applies itself: split
	// emits only such records and marks them (stage.Record.Checked). The
	// Parser then skips what split checked, the characters of text and
	// attribute values (valid UTF-8, characters XML allows), and still
	// reads the structure, resolves names and applies its own checks
	// (namespaces, repeated attributes). A record falsely marked is read
	// without those character checks, never out of bounds.
	Checked bool

	data  []byte
	pos   int   // next byte to read
	seen  bool  // the root start tag has been read
	done  bool  // the whole record has been read
	err   error // the record's error, once found
	ns    []binding
	open  []openElement
	attrs []rawAttr
	decls int // namespace declarations among attrs
	tree  Tree
	skip  bool          // keep no character data (Elements)
	dec   []byte        // attribute values that needed decoding, for this record
	names xmlname.Names // names checked (non-ASCII ones remembered)

	nsIdx   nsIndex // prefix index of a large scope (scope.go)
	attrSet attrSet // names of a large element's attributes (scope.go)
	work    int     // lookups and comparisons made, for tests of linearity
}

// dataSpan returns the span of p.data[a:b].
func dataSpan(a, b int) span { return span{int32(a), int32(b - a)} }

// str returns the string s locates, sharing the Parser's memory.
func (p *Parser) str(s span) string {
	switch {
	case s.off >= 0:
		return str(p.data[s.off : s.off+s.n])
	case s == spanXML:
		return NamespaceXML
	}
	o := -s.off - 1
	return str(p.dec[o : o+s.n])
}

// name returns the Name ns locates.
func (p *Parser) name(ns nameSpan) Name {
	return Name{Space: p.str(ns.space), Local: p.str(ns.local), Prefix: p.str(ns.prefix)}
}

// Root parses the record's root start tag only and returns it. The rest of
// the record is not read: a malformation after the first tag goes
// unnoticed. The result is valid until the Parser's next call.
func (p *Parser) Root(data []byte) (*Root, error) {
	p.begin(data)
	if err := p.readRoot(); err != nil {
		return nil, err
	}
	return &p.tree.root, nil
}

// Tree parses the whole record and returns it. Every malformation is
// reported as a *SyntaxError. The result is valid until the Parser's next
// call.
func (p *Parser) Tree(data []byte) (*Tree, error) {
	p.begin(data)
	if err := p.tree.Complete(); err != nil {
		return nil, err
	}
	return &p.tree, nil
}

// Elements parses the whole record, as Tree does, for a caller that reads
// only its elements and attributes: the character data is checked (or, on
// a Checked Parser, skipped) but not kept, so the tree's Text and Texts
// return ErrNoText. Every malformation Tree reports is reported.
func (p *Parser) Elements(data []byte) (*Tree, error) {
	p.begin(data)
	p.skip, p.tree.noText = true, true
	if err := p.tree.Complete(); err != nil {
		return nil, err
	}
	return &p.tree, nil
}

// Lazy parses the record's root start tag and returns a tree that reads
// the rest of the record only as far as its queries need: Text and Has
// stop at the first element the path matches, as Root stops at the root
// tag, so a malformation after that point is not noticed by them; Texts
// and Complete read the whole record. A malformation found by any query is
// returned by every later one. The result is valid until the Parser's next
// call.
func (p *Parser) Lazy(data []byte) (*Tree, error) {
	p.begin(data)
	if err := p.readRoot(); err != nil {
		return nil, err
	}
	return &p.tree, nil
}

func (p *Parser) begin(data []byte) {
	p.tree.reset()
	p.tree.p = p
	p.data = data
	p.dec = p.dec[:0]
	p.pos, p.seen, p.done, p.err = 0, false, false, nil
	p.skip = false
	p.ns = p.ns[:0]
	p.nsIdx.reset()
	p.attrSet.reset()
	p.open = p.open[:0]
}

// readRoot reads up to the end of the root start tag.
func (p *Parser) readRoot() error {
	for !p.seen && p.step() {
	}
	if p.err != nil {
		return p.err
	}
	return nil
}

// step reads one piece of the record (a run of text, a tag, a comment, a
// CDATA section...); it returns false at the end of the record or at its
// first malformation, kept in p.err.
func (p *Parser) step() bool {
	if p.done || p.err != nil {
		return false
	}
	data := p.data
	n := len(data)
	i := p.pos
	if i == n {
		p.done = true
		switch {
		case len(p.open) > 0:
			top := p.open[len(p.open)-1]
			p.err = p.errorf(n, "unexpected end of record: <%s> is not closed", data[top.qs:top.qe])
		case !p.seen:
			p.err = p.errorf(n, "no element in the record")
		}
		return false
	}
	var err error
	if data[i] != '<' {
		i, err = p.text(i)
	} else if i+1 == n {
		err = p.errorf(n, "unexpected EOF")
	} else {
		switch data[i+1] {
		case '/':
			i, err = p.endTag(i)
		case '?':
			i, err = p.procInst(i)
		case '!':
			i, err = p.bang(i)
		default:
			i, err = p.startTag(i, p.seen)
			p.seen = true
		}
	}
	if err != nil {
		p.err = err
		return false
	}
	p.pos = i
	return true
}

// text reads the character data starting at data[a] and returns where it
// ends: at the next '<' or the end of the record.
func (p *Parser) text(a int) (int, error) {
	data := p.data
	t := &p.tree
	if p.skip && p.Checked && len(p.open) > 0 {
		// Split checked the characters and references: find the end.
		if k := bytes.IndexByte(data[a:], '<'); k >= 0 {
			return a + k, nil
		}
		return len(data), nil
	}
	var e int
	if p.Checked {
		e = checkedEnd(data, a, len(data), 0)
	} else {
		var msg string
		if e, msg = scanPlain(data, a, len(data), inText); msg != "" {
			return 0, p.errorf(e, "%s", msg)
		}
	}
	b := e
	if e < len(data) && data[e] != '<' {
		// A reference, a line end to rewrite, a "]": decode the rest.
		b = len(data)
		if k := bytes.IndexByte(data[e:], '<'); k >= 0 {
			b = e + k
		}
	}
	if len(p.open) == 0 {
		for k := a; k < b; k++ {
			if !xmlname.IsSpace(data[k]) {
				return 0, p.errorf(k, "text outside the root element")
			}
		}
		return b, nil
	}
	mark := len(t.text)
	t.text = append(t.text, data[a:e]...)
	if e < b {
		var at int
		var msg string
		t.text, at, msg = decodeChars(t.text, data, e, b, false, false, p.Checked)
		if msg != "" {
			return 0, p.errorf(at, "%s", msg)
		}
	}
	if p.skip {
		t.text = t.text[:mark] // checked, not kept
	}
	return b, nil
}

// checkedEnd returns the index of the first byte of data[a:b] that stops
// checked character data, or b: in text (quote 0) '<', '&' or '\r'; in an
// attribute value, the closing quote, '&' or '\r'. Characters are not
// checked: the caller knows split checked them (and "]]>" in text).
func checkedEnd(data []byte, a, b int, quote byte) int {
	if quote == 0 {
		quote = '<'
	}
	return indexAny3(data, a, b, quote, '&', '\r')
}

// endTag reads the end tag at data[i] ("</") and closes its element.
func (p *Parser) endTag(i int) (int, error) {
	data := p.data
	if len(p.open) > 0 {
		// The common case: the end tag of the element open last, whose
		// name has been checked at its start tag.
		top := p.open[len(p.open)-1]
		e := i + 2 + top.qe - top.qs
		if e < len(data) && nameTab[data[e]]&nameByte == 0 && bytes.Equal(data[i+2:e], data[top.qs:top.qe]) {
			k := xmlname.SkipSpace(data, e)
			if k < len(data) && data[k] == '>' {
				p.tree.nodes[top.node].text1 = int32(len(p.tree.text))
				p.popNS(top.nsLen)
				p.open = p.open[:len(p.open)-1]
				return k + 1, nil
			}
		}
	}
	ne, flags, colons := xmlname.ReadName(data, i+2)
	switch {
	case ne == len(data):
		return 0, p.errorf(ne, "unexpected EOF")
	case ne == i+2 || colons > 1 && p.names.Read(data[i+2:ne], flags):
		return 0, p.errorf(i, "expected element name after </")
	case !p.names.Read(data[i+2:ne], flags):
		return 0, p.errorf(i+2, "invalid XML name: %s", data[i+2:ne])
	}
	k := xmlname.SkipSpace(data, ne)
	if k == len(data) {
		return 0, p.errorf(k, "unexpected EOF")
	}
	if data[k] != '>' {
		_, _, ls := splitQName(data, i+2, ne, colons)
		return 0, p.errorf(k, "invalid characters between </%s and >", data[ls:ne])
	}
	if len(p.open) == 0 {
		return 0, p.errorf(i, "end tag </%s> without a start tag", data[i+2:ne])
	}
	top := p.open[len(p.open)-1]
	if !bytes.Equal(data[top.qs:top.qe], data[i+2:ne]) {
		return 0, p.errorf(i, "element <%s> closed by </%s>", data[top.qs:top.qe], data[i+2:ne])
	}
	p.tree.nodes[top.node].text1 = int32(len(p.tree.text))
	p.popNS(top.nsLen)
	p.open = p.open[:len(p.open)-1]
	return k + 1, nil
}

// procInst reads the processing instruction at data[i] ("<?"), checking
// <?xml ...?> as encoding/xml does.
func (p *Parser) procInst(i int) (int, error) {
	data := p.data
	ne, flags, _ := xmlname.ReadName(data, i+2)
	switch {
	case ne == len(data):
		return 0, p.errorf(ne, "unexpected EOF")
	case ne == i+2:
		return 0, p.errorf(i, "expected target name after <?")
	case !p.names.Read(data[i+2:ne], flags):
		return 0, p.errorf(i+2, "invalid XML name: %s", data[i+2:ne])
	}
	k := bytes.Index(data[ne:], piEnd)
	if k < 0 {
		return 0, p.errorf(len(data), "unexpected EOF")
	}
	if string(data[i+2:ne]) == "xml" {
		content := data[ne : ne+k]
		if ver := xmlname.PseudoAttr("version", content); ver != "" && ver != "1.0" {
			return 0, p.errorf(i, "unsupported version %q; only version 1.0 is supported", ver)
		}
		if enc := xmlname.PseudoAttr("encoding", content); enc != "" && !strings.EqualFold(enc, "utf-8") {
			return 0, p.errorf(i, "encoding %q declared; records are read as UTF-8", enc)
		}
	}
	return ne + k + 2, nil
}

var (
	piEnd    = []byte("?>")
	dashDash = []byte("--")
	cdataEnd = []byte("]]>")
)

// bang reads markup starting "<!" at data[i]: a comment, a CDATA section
// (whose text belongs to the enclosing element) or a directive.
func (p *Parser) bang(i int) (int, error) {
	data := p.data
	n := len(data)
	if i+2 >= n {
		return 0, p.errorf(n, "unexpected EOF")
	}
	switch data[i+2] {
	case '-':
		if i+3 >= n {
			return 0, p.errorf(n, "unexpected EOF")
		}
		if data[i+3] != '-' {
			return 0, p.errorf(i, "invalid sequence <!- not part of <!--")
		}
		k := bytes.Index(data[i+4:], dashDash)
		if k < 0 || i+4+k+2 >= n {
			return 0, p.errorf(n, "unexpected EOF")
		}
		e := i + 4 + k + 2
		if data[e] != '>' {
			return 0, p.errorf(e-2, `invalid sequence "--" not allowed in comments`)
		}
		return e + 1, nil
	case '[':
		const cdata = "CDATA["
		for j := 0; j < len(cdata); j++ {
			if i+3+j >= n {
				return 0, p.errorf(n, "unexpected EOF")
			}
			if data[i+3+j] != cdata[j] {
				return 0, p.errorf(i, "invalid <![ sequence")
			}
		}
		s := i + 9
		k := bytes.Index(data[s:], cdataEnd)
		if k < 0 {
			return 0, p.errorf(n, "unexpected EOF in CDATA section")
		}
		if err := p.cdata(s, s+k); err != nil {
			return 0, err
		}
		return s + k + 3, nil
	}
	return p.directive(i)
}

// cdata handles the content data[a:b] of a CDATA section.
func (p *Parser) cdata(a, b int) error {
	t := &p.tree
	mark := len(t.text)
	var at int
	var msg string
	t.text, at, msg = decodeChars(t.text, p.data, a, b, false, true, p.Checked)
	if msg != "" {
		return p.errorf(at, "%s", msg)
	}
	if len(p.open) == 0 {
		for _, c := range t.text[mark:] {
			if !xmlname.IsSpace(c) {
				t.text = t.text[:mark]
				return p.errorf(a, "text outside the root element")
			}
		}
		t.text = t.text[:mark]
	}
	if p.skip {
		t.text = t.text[:mark] // checked, not kept
	}
	return nil
}

// directive finds the end of <!...> as encoding/xml does
// (xmlname.DirectiveEnd).
func (p *Parser) directive(i int) (int, error) {
	end, _ := xmlname.DirectiveEnd(p.data, i)
	if end < 0 {
		return 0, p.errorf(len(p.data), "unexpected EOF")
	}
	return end, nil
}

// startTag reads the start tag at data[i] ('<' then a name), opens its
// element and adds it to the tree.
func (p *Parser) startTag(i int, seenRoot bool) (int, error) {
	data := p.data
	n := len(data)
	qs := i + 1
	qe, flags, colons := xmlname.ReadName(data, qs)
	switch {
	case qe == n:
		return 0, p.errorf(n, "unexpected EOF")
	case qe == qs || colons > 1 && p.names.Read(data[qs:qe], flags):
		return 0, p.errorf(i, "expected element name after <")
	case !p.names.Read(data[qs:qe], flags):
		return 0, p.errorf(qs, "invalid XML name: %s", data[qs:qe])
	}
	p.attrs, p.decls = p.attrs[:0], 0
	selfClosing := false
	k := qe
	for {
		k = xmlname.SkipSpace(data, k)
		if k == n {
			return 0, p.errorf(n, "unexpected EOF")
		}
		c := data[k]
		if c == '>' {
			k++
			break
		}
		if c == '/' {
			if k+1 == n {
				return 0, p.errorf(n, "unexpected EOF")
			}
			if data[k+1] != '>' {
				return 0, p.errorf(k+1, "expected /> in element")
			}
			selfClosing = true
			k += 2
			break
		}
		as := k
		ae, flags, colons := xmlname.ReadName(data, as)
		switch {
		case ae == n:
			return 0, p.errorf(n, "unexpected EOF")
		case ae == as || colons > 1 && p.names.Read(data[as:ae], flags):
			return 0, p.errorf(as, "expected attribute name in element")
		case !p.names.Read(data[as:ae], flags):
			return 0, p.errorf(as, "invalid XML name: %s", data[as:ae])
		}
		k = xmlname.SkipSpace(data, ae)
		if k == n {
			return 0, p.errorf(n, "unexpected EOF")
		}
		if data[k] != '=' {
			return 0, p.errorf(k, "attribute name without = in element")
		}
		k = xmlname.SkipSpace(data, k+1)
		if k == n {
			return 0, p.errorf(n, "unexpected EOF")
		}
		q := data[k]
		if q != '"' && q != '\'' {
			return 0, p.errorf(k, "unquoted or missing attribute value in element")
		}
		ve, v, err := p.value(k+1, q)
		if err != nil {
			return 0, err
		}
		ps, pe, ls := splitQName(data, as, ae, colons)
		ra := rawAttr{prefix: dataSpan(ps, pe), local: dataSpan(ls, ae), value: v, at: as}
		switch {
		case pe-ps == 5 && string(data[ps:pe]) == "xmlns", pe == ps && ae-ls == 5 && string(data[ls:ae]) == "xmlns":
			ra.kind = attrDecl
			p.decls++
		case pe > ps:
			ra.kind = attrPrefixed
		}
		p.attrs = append(p.attrs, ra)
		k = ve + 1
	}
	if len(p.open) == 0 && seenRoot {
		return 0, p.errorf(i, "element <%s> after the end of the root element", data[qs:qe])
	}
	ps, pe, ls := splitQName(data, qs, qe, colons)
	if err := p.start(i, qs, qe, dataSpan(ps, pe), dataSpan(ls, qe)); err != nil {
		return 0, err
	}
	if selfClosing {
		top := p.open[len(p.open)-1]
		p.tree.nodes[top.node].text1 = int32(len(p.tree.text))
		p.popNS(top.nsLen)
		p.open = p.open[:len(p.open)-1]
	}
	return k, nil
}

// value reads the attribute value starting at data[a], after its opening
// quote q, and returns the index of its closing quote and its span:
// decoded in p.dec when it holds references or line ends, else in the
// record. One pass finds the quote and checks the characters.
func (p *Parser) value(a int, q byte) (int, span, error) {
	data := p.data
	k := a
	if p.Checked {
		// Find the quote, and decode below only if the value holds a
		// reference or a line end; '<' and characters were checked. (No
		// quote: the strict path below says what is wrong.)
		k = checkedEnd(data, a, len(data), q)
		if k < len(data) && data[k] == q {
			return k, dataSpan(a, k), nil
		}
	}
	for k < len(data) {
		c := data[k]
		if c == q {
			return k, dataSpan(a, k), nil
		}
		f := charTab[c] & (inAttr | highBit)
		if f == 0 {
			k++
			continue
		}
		if f&highBit == 0 {
			break // a reference, '<', a line end or a control: decode below
		}
		r, size := utf8.DecodeRune(data[k:])
		if r == utf8.RuneError && size == 1 {
			return 0, span{}, p.errorf(k, "invalid UTF-8")
		}
		if !inCharRange(r) {
			return 0, span{}, p.errorf(k, "%s", illegalChar(r))
		}
		k += size
	}
	b := bytes.IndexByte(data[k:], q)
	if b < 0 {
		if lt := bytes.IndexByte(data[a:], '<'); lt >= 0 {
			return 0, span{}, p.errorf(a+lt, "unescaped < inside quoted string")
		}
		return 0, span{}, p.errorf(len(data), "unexpected EOF")
	}
	b += k
	start := len(p.dec)
	var at int
	var msg string
	p.dec, at, msg = decodeChars(append(p.dec, data[a:k]...), data, k, b, true, false, p.Checked)
	if msg != "" {
		return 0, span{}, p.errorf(at, "%s", msg)
	}
	return b, span{off: int32(-start - 1), n: int32(len(p.dec) - start)}, nil
}

// start handles a start tag whose attributes are in p.attrs: namespace
// declarations, name resolution, repeated attributes.
func (p *Parser) start(at, qs, qe int, prefix, local span) error {
	t := &p.tree
	nsLen := len(p.ns)
	for _, a := range p.attrs {
		if p.decls == 0 {
			break
		}
		if a.kind != attrDecl {
			continue
		}
		if a.prefix.n == 5 {
			l, v := p.str(a.local), p.str(a.value)
			switch {
			case l == "xmlns":
				return p.errorf(a.at, "the prefix xmlns cannot be declared")
			case l == "xml" && v != NamespaceXML:
				return p.errorf(a.at, "the prefix xml cannot be bound to %q", v)
			case v == "":
				return p.errorf(a.at, "namespace prefix %q declared with an empty URI", l)
			case v == namespaceXMLNS || (v == NamespaceXML && l != "xml"):
				return p.errorf(a.at, "namespace %q cannot be bound to the prefix %q", v, l)
			}
			p.pushNS(binding{prefix: l, uri: v, uriSpan: a.value})
		} else {
			p.pushNS(binding{prefix: "", uri: p.str(a.value), uriSpan: a.value})
		}
	}
	name := nameSpan{local: local, prefix: prefix}
	switch ps := p.str(prefix); {
	case ps == "xml":
		name.space = spanXML
	case ps == "" && p.str(local) == "xmlns":
		// encoding/xml leaves an element named xmlns in no namespace.
	default:
		if len(p.ns) > 0 || ps != "" {
			uri, ok := p.lookupNS(ps)
			if !ok && ps != "" {
				return p.errorf(at, "element <%s> uses the undeclared namespace prefix %q", p.data[qs:qe], ps)
			}
			name.space = uri
		}
	}
	attr0 := len(t.attrs)
	for _, a := range p.attrs {
		if a.kind == attrDecl {
			continue
		}
		an := nameSpan{local: a.local, prefix: a.prefix}
		if a.kind == attrPrefixed {
			switch ps := p.str(a.prefix); ps {
			case "xml":
				an.space = spanXML
			default:
				uri, ok := p.lookupNS(ps)
				if !ok {
					return p.errorf(a.at, "attribute %s:%s of <%s> uses the undeclared namespace prefix %q", ps, p.str(a.local), p.data[qs:qe], ps)
				}
				an.space = uri
			}
		}
		if p.repeated(an, attr0, len(p.attrs)-p.decls) {
			n := p.name(an)
			return p.errorf(a.at, "attribute %s repeated on <%s>", n.Clark(), p.data[qs:qe])
		}
		t.attrs = append(t.attrs, attrSpan{name: an, value: a.value})
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
		text0:  int32(len(t.text)),
		text1:  -1,
	})
	p.open = append(p.open, openElement{qs: qs, qe: qe, nsLen: nsLen, node: int32(len(t.nodes) - 1)})
	if len(p.open) == 1 {
		t.finishRoot(p.ns)
	}
	return nil
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

// errorf reports a malformation at offset at of the record.
func (p *Parser) errorf(at int, format string, args ...any) error {
	at = min(max(at, 0), len(p.data))
	line := 1 + bytes.Count(p.data[:at], []byte{'\n'})
	return &SyntaxError{Line: line, Offset: int64(at), Msg: fmt.Sprintf(format, args...)}
}
