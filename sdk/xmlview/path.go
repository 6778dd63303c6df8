package xmlview

import (
	"fmt"
	"strings"
	"unsafe"

	"github.com/sluicehq/sluice/sdk/xmlname"
)

// PathSyntax says what a Path may be, for error messages and docs.
const PathSyntax = `a path is element names separated by "/" from the element read ("authors/author"), ` +
	`"*" for any element, "." (or "") for the element itself, ` +
	`optionally ending in "@name" for an attribute ("published/@place", "@xml:lang")`

// PathError reports a path that Path's syntax does not support, rather
// than letting it match nothing.
type PathError struct {
	Path string
	Msg  string // what is wrong with it
}

// Error names the path, what is wrong and what is supported.
func (e *PathError) Error() string {
	return fmt.Sprintf("xml path %q: %s; %s", e.Path, e.Msg, PathSyntax)
}

// Path is a compiled path of the strict syntax the plugin SDK offers:
//
//	title               the <title> children of the element read
//	authors/author      their <author> children, and so on down
//	*/note              "*" is any element
//	. or ""             the element itself
//	@type               an attribute of the element itself
//	published/@place    an attribute of an element below it (last step only)
//
// Names are written as in queries (see the package documentation): "local",
// "prefix:local" with a prefix declared at the record's root, or
// "{uri}local". Anything else, such as "//" (any depth), "..", predicates
// ("author[1]"), functions ("text()"), "@*" or a name that is not an XML
// name, is a *PathError, never a path that matches nothing.
//
// A Path is compiled against one record (its prefixes are the record's)
// and reused from one record to the next without allocating.
type Path struct {
	steps  []step
	attr   step
	isAttr bool
}

// IsAttr reports whether the path ends in an attribute ("a/@b").
func (p *Path) IsAttr() bool { return p.isAttr }

// CompilePath checks path and resolves its names against the record's
// root scope into dst. It does not allocate once dst has grown, except for
// the error of a path it rejects.
func (t *Tree) CompilePath(dst *Path, path string) error {
	dst.steps, dst.isAttr = dst.steps[:0], false
	if path == "" || path == "." {
		return nil
	}
	rest := path
	for {
		end := pathStepEnd(rest)
		s, last := rest[:end], end == len(rest)
		if err := checkStep(path, rest, s, last); err != nil {
			return err
		}
		attr := s[0] == '@'
		if attr {
			s = s[1:]
		}
		q, err := resolveQuery(s, t.root.scope, attr)
		if err != nil {
			return &PathError{Path: path, Msg: err.Error()}
		}
		if attr {
			dst.attr, dst.isAttr = q, true
			return nil
		}
		dst.steps = append(dst.steps, q)
		if last {
			return nil
		}
		rest = rest[end+1:]
	}
}

// pathStepEnd returns the index of the "/" that ends the first step of
// path, or len(path); a "/" inside a Clark "{uri}" (after an "@" or not)
// does not end a step.
func pathStepEnd(path string) int {
	if strings.HasPrefix(path, "@{") {
		return 1 + stepEnd(path[1:])
	}
	return stepEnd(path)
}

// checkStep checks one step s of path, rest being the path from s on.
func checkStep(path, rest, s string, last bool) error {
	bad := func(msg string) error { return &PathError{Path: path, Msg: msg} }
	switch {
	case s == "" && len(rest) == len(path):
		return bad(`a leading "/" (absolute path) is not supported`)
	case s == "" && !last:
		return bad(`"//" (any depth) is not supported`)
	case s == "":
		return bad(`a trailing "/" is not supported`)
	case s == ".":
		return bad(`"." is supported only as the whole path`)
	case s == "..":
		return bad(`".." (parent) is not supported`)
	case strings.Contains(s, "::"):
		return bad("axes (child::, descendant::) are not supported")
	case strings.ContainsAny(s, "[]"):
		return bad("predicates ([...]) are not supported")
	case strings.ContainsAny(s, "()"):
		return bad("functions (text(), node()) are not supported")
	case s[0] == '@' && !last:
		return bad(`an attribute ("@name") can only be the last step`)
	case s == "@*":
		return bad(`"@*" (any attribute) is not supported`)
	case s == "*":
		return nil
	}
	return checkName(path, strings.TrimPrefix(s, "@"))
}

// checkName checks a name of path: "local", "prefix:local", "{uri}local".
func checkName(path, name string) error {
	s := name
	if name != "" && name[0] == '{' {
		end := strings.IndexByte(name, '}')
		if end < 0 {
			return &PathError{Path: path, Msg: fmt.Sprintf("%q: missing } after the namespace URI", s)}
		}
		name = name[end+1:]
	}
	prefix, local, ok := strings.Cut(name, ":")
	if !ok {
		prefix, local = "", name
	}
	if !ok && validNCName(local) || ok && validNCName(prefix) && validNCName(local) {
		return nil
	}
	return &PathError{Path: path, Msg: fmt.Sprintf("%q is not an XML name", s)}
}

// validNCName reports whether s is an XML name without a colon.
func validNCName(s string) bool {
	return !strings.Contains(s, ":") && xmlname.ValidName(unsafe.Slice(unsafe.StringData(s), len(s)))
}

// Next returns the index of the first element at or after index from that
// p's element steps match below element base (p's attribute, if any, is
// not looked at), or -1. A lazy tree is read until one starts or base
// ends. A path of no element steps matches base itself.
func (t *Tree) Next(base int, p *Path, from int) (int, error) {
	if len(p.steps) == 0 {
		if from <= base {
			return base, nil
		}
		return -1, nil
	}
	depth := t.nodes[base].depth
	want := depth + int32(len(p.steps))
	i := max(from, base+1)
	for {
		for ; i < len(t.nodes); i++ {
			n := &t.nodes[i]
			if n.depth <= depth {
				return -1, nil // past base's last descendant
			}
			if n.depth == want && t.matchUp(i, p.steps) {
				return i, nil
			}
		}
		if t.nodes[base].text1 >= 0 {
			return -1, nil // base is closed: all its descendants are read
		}
		for len(t.nodes) == i && t.nodes[base].text1 < 0 && t.p.step() {
		}
		if t.p.err != nil {
			return -1, t.p.err
		}
		if len(t.nodes) == i {
			return -1, nil
		}
	}
}

// matchUp reports whether element i and its ancestors match steps from
// the innermost out.
func (t *Tree) matchUp(i int, steps []step) bool {
	j := int32(i)
	for k := len(steps) - 1; k >= 0; k-- {
		if !steps[k].matchSpan(t.p, t.nodes[j].name) {
			return false
		}
		j = t.nodes[j].parent
	}
	return true
}

// Value returns what p names below element base, for the first element
// in document order that has it: the text of the element (CDATA included,
// references decoded, with its descendants' text), or the value of its
// attribute. A text is the caller's; an attribute value shares the
// record's memory (see Parser). A lazy tree is read as far as the answer.
func (t *Tree) Value(base int, p *Path) (string, bool, error) {
	if t.noText && !p.isAttr {
		return "", false, ErrNoText
	}
	for i := base; ; i++ {
		var err error
		if i, err = t.Next(base, p, i); i < 0 || err != nil {
			return "", false, err
		}
		if p.isAttr {
			if v, ok := t.attrOf(i, p.attr); ok {
				return v, true, nil
			}
			continue
		}
		s, err := t.ElementText(i)
		return s, err == nil, err
	}
}

// ElementText returns the text of element i with its descendants' (a new
// string), reading a lazy tree up to the element's end.
func (t *Tree) ElementText(i int) (string, error) {
	if t.noText {
		return "", ErrNoText
	}
	for t.nodes[i].text1 < 0 && t.p.step() {
	}
	if t.p.err != nil {
		return "", t.p.err
	}
	return string(t.textOf(i)), nil
}

// ElementAttr returns the value of element i's attribute called name
// ("type", "xml:lang", "{uri}local"; a prefix is resolved at the record's
// root) and whether it has one; the value shares the record's memory. A
// name that is not an XML name (a path such as "a/@b", "@b", "*") is a
// *PathError.
func (t *Tree) ElementAttr(i int, name string) (string, bool, error) {
	local := name
	if strings.HasPrefix(name, "{") {
		local = name[strings.IndexByte(name, '}')+1:] // all of it without a "}"
	}
	if strings.ContainsAny(local, "@/") {
		return "", false, &PathError{Path: name, Msg: `an attribute name is "name", "prefix:name" or "{uri}name", not a path (read paths with Text)`}
	}
	if err := checkName(name, name); err != nil {
		return "", false, err
	}
	q, err := resolveQuery(name, t.root.scope, true)
	if err != nil {
		return "", false, &PathError{Path: name, Msg: err.Error()}
	}
	v, ok := t.attrOf(i, q)
	return v, ok, nil
}

func (t *Tree) attrOf(i int, q step) (string, bool) {
	n := &t.nodes[i]
	for j := n.attr0; j < n.attr1; j++ {
		if a := &t.attrs[j]; q.matchSpan(t.p, a.name) {
			return t.p.str(a.value), true
		}
	}
	return "", false
}
