package xmlview

import (
	"errors"
	"fmt"
	"strings"
)

// Root is a record's root element together with the namespace declarations
// in scope on it, against which queries are resolved.
type Root struct {
	Name  Name
	t     *Tree
	scope []binding
}

// Attr returns the value of the root's attribute named by query ("type",
// "xml:lang", "{uri}local") and whether it is present. A query with an
// empty name, an empty prefix or local part, or an unclosed "{" is an error.
// It does not allocate.
func (r *Root) Attr(query string) (string, bool, error) {
	q, err := resolveQuery(query, r.scope, true)
	if err != nil {
		return "", false, err
	}
	t := r.t
	for j := range t.NumAttrs(0) {
		if a := &t.attrs[j]; q.matchSpan(t.p, a.name) {
			return t.p.str(a.value), true, nil
		}
	}
	return "", false, nil
}

// Tree is a parsed record: every element in document order with its
// attributes, and the character data of the record, kept so that the text
// of any element is one slice of it. Element 0 is the root.
//
// Its storage holds no pointers (names and values are spans of the
// record's bytes), so building it costs no write barriers and the garbage
// collector never scans it; Name, Attr and Element make the strings when
// asked, without allocating.
type Tree struct {
	p       *Parser // reads more of a lazy tree
	root    Root
	nodes   []node
	attrs   []attrSpan
	text    []byte // all character data inside the root, in document order
	steps   []step // scratch for path queries
	scratch []Attr // Element's Attrs
	noText  bool   // read by Parser.Elements: no character data kept
}

// ErrNoText is returned by Text and Texts on a tree read by
// Parser.Elements, which keeps no character data.
var ErrNoText = errors.New("xmlview: the record was read without its text (Parser.Elements)")

// node is one element. The text of the element and all its descendants is
// text[text0:text1], because character data is appended in document order.
type node struct {
	name         nameSpan
	parent       int32 // -1 for the root
	depth        int32
	attr0, attr1 int32
	text0, text1 int32
}

func (t *Tree) reset() {
	t.root = Root{}
	t.nodes = t.nodes[:0]
	t.attrs = t.attrs[:0]
	t.text = t.text[:0]
	t.noText = false
}

// finishRoot fills Root once the root start tag has been read.
func (t *Tree) finishRoot(scope []binding) {
	t.root = Root{Name: t.Name(0), t: t, scope: scope[:len(scope):len(scope)]}
}

// Complete reads the rest of the record, so that Len and Element cover
// every element; it returns the record's malformation, if any. It does
// nothing on a tree already complete.
func (t *Tree) Complete() error {
	for t.p.step() {
	}
	return t.p.err
}

// Root returns the record's root element.
func (t *Tree) Root() *Root { return &t.root }

// Len returns the number of elements in the record, the root included; on
// a lazy tree, of the elements read so far (see Complete).
func (t *Tree) Len() int { return len(t.nodes) }

// Element returns the i-th element in document order (0 is the root). Its
// Attrs slice is reused by the next call of Element; the strings are valid
// until the Parser's next call.
func (t *Tree) Element(i int) Element {
	t.scratch = t.scratch[:0]
	for j := range t.NumAttrs(i) {
		t.scratch = append(t.scratch, t.Attr(i, j))
	}
	return Element{Name: t.Name(i), Attrs: t.scratch, Depth: int(t.nodes[i].depth)}
}

// Name returns the name of the i-th element, without allocating.
func (t *Tree) Name(i int) Name { return t.p.name(t.nodes[i].name) }

// NumAttrs returns the number of attributes of the i-th element
// (namespace declarations are not attributes).
func (t *Tree) NumAttrs(i int) int {
	n := &t.nodes[i]
	return int(n.attr1 - n.attr0)
}

// Attr returns the j-th attribute of the i-th element, in document order,
// without allocating: the way to read every attribute of a large record
// at the least cost.
func (t *Tree) Attr(i, j int) Attr {
	a := &t.attrs[int(t.nodes[i].attr0)+j]
	return Attr{Name: t.p.name(a.name), Value: t.p.str(a.value)}
}

// Text returns the concatenated character data (CDATA included, entities
// decoded) of the first element, in document order, that path matches, and
// whether there is one. An invalid path is an error, and so is a
// malformation of the record (a *SyntaxError) found while reading it: a
// lazy tree is read up to the end of the element found.
func (t *Tree) Text(path string) (string, bool, error) {
	if t.noText {
		return "", false, ErrNoText
	}
	steps, err := t.compile(path)
	if err != nil {
		return "", false, err
	}
	i, err := t.first(steps)
	if i < 0 || err != nil {
		return "", false, err
	}
	for t.nodes[i].text1 < 0 && t.p.step() {
	}
	if t.p.err != nil {
		return "", false, t.p.err
	}
	return string(t.textOf(i)), true, nil
}

// first returns the first element that steps match, reading a lazy tree
// until one starts or the record ends; -1 when none does.
func (t *Tree) first(steps []step) (int, error) {
	from := 0
	for {
		if i := t.next(steps, from); i >= 0 {
			return i, nil
		}
		from = len(t.nodes)
		for len(t.nodes) == from && t.p.step() {
		}
		if t.p.err != nil {
			return -1, t.p.err
		}
		if len(t.nodes) == from {
			return -1, nil
		}
	}
}

// Texts returns the text of every element that path matches, in document
// order; it is empty (nil) when none does. It reads the whole record.
func (t *Tree) Texts(path string) ([]string, error) {
	if t.noText {
		return nil, ErrNoText
	}
	steps, err := t.compile(path)
	if err != nil {
		return nil, err
	}
	if err := t.Complete(); err != nil {
		return nil, err
	}
	var out []string
	for i := t.next(steps, 0); i >= 0; i = t.next(steps, i+1) {
		out = append(out, string(t.textOf(i)))
	}
	return out, nil
}

// Has reports whether path matches at least one element; a lazy tree is
// read until one starts.
func (t *Tree) Has(path string) (bool, error) {
	steps, err := t.compile(path)
	if err != nil {
		return false, err
	}
	i, err := t.first(steps)
	return i >= 0, err
}

func (t *Tree) textOf(i int) []byte {
	n := &t.nodes[i]
	return t.text[n.text0:n.text1]
}

// next returns the first element at or after index from that steps match,
// or -1. An element matches when it is len(steps) levels below the root and
// its ancestors match the steps from the innermost out.
func (t *Tree) next(steps []step, from int) int {
	depth := int32(len(steps))
	for i := from; i < len(t.nodes); i++ {
		if t.nodes[i].depth != depth {
			continue
		}
		j, ok := int32(i), true
		for k := len(steps) - 1; k >= 0; k-- {
			if !steps[k].matchSpan(t.p, t.nodes[j].name) {
				ok = false
				break
			}
			j = t.nodes[j].parent
		}
		if ok {
			return i
		}
	}
	return -1
}

// compile resolves a path into t.steps, without allocating once t.steps
// has grown.
func (t *Tree) compile(path string) ([]step, error) {
	t.steps = t.steps[:0]
	if path == "" || path == "." {
		return t.steps, nil
	}
	rest := path
	for {
		end := stepEnd(rest)
		s, err := resolveQuery(rest[:end], t.root.scope, false)
		if err != nil {
			return nil, fmt.Errorf("invalid path %q: %w", path, err)
		}
		t.steps = append(t.steps, s)
		if end == len(rest) {
			return t.steps, nil
		}
		rest = rest[end+1:]
	}
}

// stepEnd returns the index of the "/" that ends the first step of path, or
// len(path). A "/" inside a Clark "{uri}" does not end a step.
func stepEnd(path string) int {
	from := 0
	if strings.HasPrefix(path, "{") {
		if i := strings.IndexByte(path, '}'); i > 0 {
			from = i
		}
	}
	if i := strings.IndexByte(path[from:], '/'); i >= 0 {
		return from + i
	}
	return len(path)
}

// step is one resolved query name.
type step struct {
	any   bool // "*": any element
	none  bool // a prefix the record does not declare: matches nothing
	space string
	local string
}

func (s step) matchSpan(p *Parser, n nameSpan) bool {
	return s.any || (!s.none && int(n.local.n) == len(s.local) && p.str(n.local) == s.local && p.str(n.space) == s.space)
}

// resolveQuery resolves a name written in a query against the root's
// scope. See the package documentation for the rules.
func resolveQuery(q string, scope []binding, attr bool) (step, error) {
	switch {
	case q == "":
		return step{}, fmt.Errorf("empty name")
	case q == "*" && !attr:
		return step{any: true}, nil
	case q[0] == '{':
		end := strings.IndexByte(q, '}')
		if end < 0 {
			return step{}, fmt.Errorf("name %q: missing } after the namespace URI", q)
		}
		local := q[end+1:]
		if local == "" || strings.ContainsAny(local, ":{}") {
			return step{}, fmt.Errorf("name %q: expected a local name after }", q)
		}
		return step{space: q[1:end], local: local}, nil
	}
	if prefix, local, ok := strings.Cut(q, ":"); ok {
		if prefix == "" || local == "" || strings.Contains(local, ":") {
			return step{}, fmt.Errorf("name %q: expected prefix:local", q)
		}
		if prefix == "xml" {
			return step{space: NamespaceXML, local: local}, nil
		}
		uri, ok := lookup(scope, prefix)
		if !ok {
			return step{none: true}, nil
		}
		return step{space: uri, local: local}, nil
	}
	if attr {
		return step{local: q}, nil
	}
	uri, _ := lookup(scope, "")
	return step{space: uri, local: q}, nil
}
