package xmlsplit

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/sluicehq/sluice/sdk/xmlname"
	"github.com/sluicehq/sluice/stages/split/internal/scan"
)

// The DOCTYPE is read once per file, strictly, as XML 1.0 (fifth edition)
// requires of a non-validating processor: the grammar of every markup
// declaration of the internal subset, comments, processing instructions,
// and parameter-entity references between declarations, which are
// expanded when internal. External DTDs and external parameter entities
// are never read. What the subset declares is kept in entities: general
// entities, and the attribute-list declarations whose defaults, #FIXED
// values and value normalisation every start tag of a declared element
// gets (see attList).

// dtdError is a malformed DOCTYPE at byte at of the parsed slice.
type dtdError struct {
	at  int
	msg string
}

var errShort = &dtdError{msg: "unexpected end of file in the DOCTYPE declaration"}

// dtdParser reads a DOCTYPE declaration (or the replacement text of a
// parameter entity) from b.
type dtdParser struct {
	b      []byte
	t      *entities
	pes    map[string]*paramEntity
	names  *xmlname.Names // the splitter's
	depth  int            // parameter-entity nesting
	budget *int           // bytes of parameter-entity text still allowed
	// refAt, when ≥ 0, is where errors are reported: the reference of the
	// parameter entity whose text is being read.
	refAt int
	// unread is set after a reference to a parameter entity that is not
	// read: later ENTITY and ATTLIST declarations are checked only (§5.1).
	unread *bool
	// standalone is the XML declaration's standalone="yes".
	standalone bool
}

type paramEntity struct {
	value    []byte // replacement text, nil for an external one
	external bool
	busy     bool
}

// doctype reads the DOCTYPE declaration at buf[p] and returns the index
// after it (or needMore, or failed). It replaces s.ents only when the
// whole declaration is well-formed.
func (s *Splitter) doctype(p int) int {
	if s.ents.parsed {
		return s.fail(p, "a second DOCTYPE declaration: a document has at most one")
	}
	buf := s.buf()
	t := &entities{max: s.max, parsed: true}
	budget := s.max
	unread := false
	d := &dtdParser{b: buf[p:], t: t, names: &s.validNames, budget: &budget, refAt: -1, unread: &unread, standalone: s.standalone}
	end, err := d.doctype()
	// An error near the end of what was read may be a declaration cut by
	// the read window: read on before reporting it.
	if err != nil && !s.w.EOF && (err == errShort || err.at+64 > len(d.b)) {
		return needMore
	}
	if err != nil {
		at := p + err.at
		if err == errShort {
			at = p
		}
		return s.fail(at, "malformed DOCTYPE: %s", err.msg)
	}
	t.skipUndeclared = t.skipUndeclared && !t.external && !unread
	s.ents = t
	s.ctxGen++
	return p + end
}

// isDoctype reports whether buf[p:] starts "<!DOCTYPE".
func isDoctype(buf []byte, p int) bool {
	return len(buf)-p >= 9 && string(buf[p+2:p+9]) == "DOCTYPE"
}

func (d *dtdParser) errf(at int, format string, args ...any) *dtdError {
	if d.refAt >= 0 {
		return &dtdError{at: d.refAt, msg: fmt.Sprintf(format, args...)}
	}
	return &dtdError{at: at, msg: fmt.Sprintf(format, args...)}
}

// short is errShort, or inside a parameter entity's text an error there.
func (d *dtdParser) short(at int, what string) *dtdError {
	if d.refAt >= 0 {
		return d.errf(at, "unexpected end of %s", what)
	}
	return errShort
}

// space skips white space from i; it reports whether there was any.
func (d *dtdParser) space(i int) (int, bool) {
	j := xmlname.SkipSpace(d.b, i)
	return j, j > i
}

// needSpace skips required white space before what.
func (d *dtdParser) needSpace(i int, what string) (int, *dtdError) {
	j, ok := d.space(i)
	if j == len(d.b) {
		return j, d.short(i, what)
	}
	if !ok {
		return j, d.errf(i, "expected white space before %s", what)
	}
	return j, nil
}

// name reads an XML name at i.
func (d *dtdParser) name(i int, what string) (string, int, *dtdError) {
	e, flags, _ := xmlname.ReadName(d.b, i)
	if e == len(d.b) {
		return "", e, d.short(i, what)
	}
	if e == i || !d.names.Read(d.b[i:e], flags) {
		return "", e, d.errf(i, "expected %s, found %s", what, near(d.b[i:]))
	}
	return string(d.b[i:e]), e, nil
}

// ncName reads a name without a colon at i: Namespaces 1.0 allows none
// in entity names, processing instruction targets and notation names.
func (d *dtdParser) ncName(i int, what string) (string, int, *dtdError) {
	name, e, err := d.name(i, what)
	if err == nil && strings.IndexByte(name, ':') >= 0 {
		return "", e, d.errf(i, "%s may not contain a colon (Namespaces in XML 1.0): %q", what, name)
	}
	return name, e, err
}

// nmtoken reads a name token at i.
func (d *dtdParser) nmtoken(i int) (int, *dtdError) {
	e, _, _ := xmlname.ReadName(d.b, i)
	if e == len(d.b) {
		return e, d.short(i, "enumeration")
	}
	if e == i || !d.names.Valid(append([]byte("x"), d.b[i:e]...)) {
		return e, d.errf(i, "expected a name token, found %s", near(d.b[i:]))
	}
	return e, nil
}

// near quotes the start of b for an error message.
func near(b []byte) string {
	n := min(len(b), 20)
	for n < len(b) && n < 24 && !utf8.RuneStart(b[n]) {
		n++
	}
	if n == 0 {
		return "the end of the declaration"
	}
	return fmt.Sprintf("%q", b[:n])
}

// keyword reports whether b[i:] starts with kw not followed by a name byte.
func (d *dtdParser) keyword(i int, kw string) bool {
	if len(d.b)-i < len(kw) || string(d.b[i:i+len(kw)]) != kw {
		return false
	}
	return i+len(kw) == len(d.b) || nameTab[d.b[i+len(kw)]]&nameByte == 0
}

// literal reads a quoted literal at i and returns its content's bounds.
func (d *dtdParser) literal(i int, what string) (a, b int, err *dtdError) {
	if i == len(d.b) {
		return 0, 0, d.short(i, what)
	}
	q := d.b[i]
	if q != '"' && q != '\'' {
		return 0, 0, d.errf(i, "expected a quoted %s, found %s", what, near(d.b[i:]))
	}
	k := bytes.IndexByte(d.b[i+1:], q)
	if k < 0 {
		return 0, 0, d.short(i, what)
	}
	a, b = i+1, i+1+k
	if j, msg := scan.BadChar(d.b[a:b]); j >= 0 {
		return 0, 0, d.errf(a+j, "%s in %s", msg, what)
	}
	return a, b, nil
}

// doctype reads '<!DOCTYPE' S Name (S ExternalID)? S? ('[' intSubset ']' S?)? '>'.
func (d *dtdParser) doctype() (int, *dtdError) {
	i, err := d.needSpace(9, "the document type name")
	if err != nil {
		return 0, err
	}
	if _, i, err = d.name(i, "the document type name"); err != nil {
		return 0, err
	}
	j, sp := d.space(i)
	if j == len(d.b) {
		return 0, errShort
	}
	if d.b[j] == 'S' || d.b[j] == 'P' {
		if !sp {
			return 0, d.errf(j, "expected white space before the external ID")
		}
		if j, err = d.externalID(j, false); err != nil {
			return 0, err
		}
		d.t.external = true
		j, _ = d.space(j)
	}
	if j < len(d.b) && d.b[j] == '[' {
		if j, err = d.subset(j + 1); err != nil {
			return 0, err
		}
		if j == len(d.b) {
			return 0, errShort
		}
		if d.b[j] != ']' {
			return 0, d.errf(j, "expected ] to end the internal subset, found %s", near(d.b[j:]))
		}
		j, _ = d.space(j + 1)
	}
	if j == len(d.b) {
		return 0, errShort
	}
	if d.b[j] != '>' {
		return 0, d.errf(j, "expected > or [ after the document type name, found %s (see XML 1.0 §2.8)", near(d.b[j:]))
	}
	return j + 1, nil
}

// externalID reads 'SYSTEM' S SystemLiteral | 'PUBLIC' S PubidLiteral
// S SystemLiteral; with notation set, the system literal after a public
// one is optional (PublicID).
func (d *dtdParser) externalID(i int, notation bool) (int, *dtdError) {
	switch {
	case d.keyword(i, "SYSTEM"):
		i, err := d.needSpace(i+6, "the system literal")
		if err != nil {
			return 0, err
		}
		_, b, err := d.literal(i, "system literal")
		return b + 1, err
	case d.keyword(i, "PUBLIC"):
		i, err := d.needSpace(i+6, "the public identifier")
		if err != nil {
			return 0, err
		}
		a, b, err := d.literal(i, "public identifier")
		if err != nil {
			return 0, err
		}
		for k := a; k < b; k++ {
			if !isPubid(d.b[k]) {
				return 0, d.errf(k, "character %s is not allowed in a public identifier", near(d.b[k:k+1]))
			}
		}
		j, sp := d.space(b + 1)
		if notation && (j == len(d.b) || d.b[j] == '>') {
			return b + 1, nil
		}
		if !sp {
			if j == len(d.b) {
				return 0, d.short(j, "external ID")
			}
			return 0, d.errf(j, "expected white space and a system literal after the public identifier")
		}
		_, e, err := d.literal(j, "system literal")
		return e + 1, err
	}
	if i == len(d.b) {
		return 0, d.short(i, "external ID")
	}
	return 0, d.errf(i, "expected SYSTEM or PUBLIC, found %s", near(d.b[i:]))
}

func isPubid(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return bytes.IndexByte([]byte(" \r\n-'()+,./:=?;!*#@$_%"), c) >= 0
}

// subset reads (markupdecl | DeclSep)* from i and returns the index of
// the first byte that starts neither (']' or the end).
func (d *dtdParser) subset(i int) (int, *dtdError) {
	for {
		i, _ = d.space(i)
		if i == len(d.b) || d.b[i] == ']' {
			return i, nil
		}
		var err *dtdError
		switch b := d.b[i:]; {
		case b[0] == '%':
			i, err = d.peRef(i)
		case len(b) < 4 && d.refAt < 0 && bytes.HasPrefix([]byte("<!--"), b):
			return 0, errShort
		case bytes.HasPrefix(b, []byte("<!--")):
			i, err = d.comment(i)
		case bytes.HasPrefix(b, []byte("<?")):
			i, err = d.pi(i)
		case d.keyword(i, "<!ELEMENT"):
			i, err = d.elementDecl(i)
		case d.keyword(i, "<!ATTLIST"):
			i, err = d.attlistDecl(i)
		case d.keyword(i, "<!ENTITY"):
			i, err = d.entityDecl(i)
		case d.keyword(i, "<!NOTATION"):
			i, err = d.notationDecl(i)
		case bytes.HasPrefix(b, []byte("<![")):
			return 0, d.errf(i, "conditional sections (<![INCLUDE[ or <![IGNORE[) are not allowed in the internal subset")
		case len(b) < 10 && d.refAt < 0 && b[0] == '<':
			return 0, errShort
		default:
			return 0, d.errf(i, "expected a markup declaration, comment, processing instruction or parameter-entity reference in the internal subset, found %s", near(b))
		}
		if err != nil {
			return 0, err
		}
	}
}

// comment reads '<!--' ((Char - '-') | ('-' (Char - '-')))* '-->'.
func (d *dtdParser) comment(i int) (int, *dtdError) {
	k := bytes.Index(d.b[i+4:], dashDash)
	if k < 0 || i+4+k+2 == len(d.b) {
		return 0, d.short(i, "comment")
	}
	e := i + 4 + k
	if d.b[e+2] != '>' {
		return 0, d.errf(e, `"--" is not allowed inside a comment`)
	}
	if j, msg := scan.BadChar(d.b[i+4 : e]); j >= 0 {
		return 0, d.errf(i+4+j, "%s in a comment", msg)
	}
	return e + 3, nil
}

// pi reads a processing instruction; its target may not be "xml" in any
// case.
func (d *dtdParser) pi(i int) (int, *dtdError) {
	target, e, err := d.ncName(i+2, "a processing instruction target")
	if err != nil {
		return 0, err
	}
	if len(target) == 3 && (target[0]|0x20) == 'x' && (target[1]|0x20) == 'm' && (target[2]|0x20) == 'l' {
		return 0, d.errf(i+2, "the processing instruction target %q is reserved (an XML declaration is allowed only at the start of the document)", target)
	}
	k := bytes.Index(d.b[e:], piEnd)
	if k < 0 {
		return 0, d.short(i, "processing instruction")
	}
	if k > 0 && !xmlname.IsSpace(d.b[e]) {
		return 0, d.errf(e, "expected white space or ?> after the processing instruction target %s", target)
	}
	if j, msg := scan.BadChar(d.b[e : e+k]); j >= 0 {
		return 0, d.errf(e+j, "%s in a processing instruction", msg)
	}
	return e + k + 2, nil
}

// declEnd reads S? '>' ending the declaration what.
func (d *dtdParser) declEnd(i int, what string) (int, *dtdError) {
	i, _ = d.space(i)
	if i == len(d.b) {
		return 0, d.short(i, what)
	}
	if d.b[i] != '>' {
		return 0, d.errf(i, "expected > to end the %s, found %s", what, near(d.b[i:]))
	}
	return i + 1, nil
}

// elementDecl reads '<!ELEMENT' S Name S contentspec S? '>'.
func (d *dtdParser) elementDecl(i int) (int, *dtdError) {
	i, err := d.needSpace(i+9, "the element type name")
	if err != nil {
		return 0, err
	}
	if _, i, err = d.name(i, "an element type name"); err != nil {
		return 0, err
	}
	if i, err = d.needSpace(i, "the content specification"); err != nil {
		return 0, err
	}
	switch {
	case d.keyword(i, "EMPTY"):
		i += 5
	case d.keyword(i, "ANY"):
		i += 3
	case d.b[i] == '(':
		j, _ := d.space(i + 1)
		if d.keyword(j, "#PCDATA") {
			i, err = d.mixed(j + 7)
		} else {
			i, err = d.group(i, 0)
		}
		if err != nil {
			return 0, err
		}
	default:
		return 0, d.errf(i, "expected EMPTY, ANY or ( in an element declaration, found %s", near(d.b[i:]))
	}
	return d.declEnd(i, "element declaration")
}

// mixed reads the rest of '(' S? '#PCDATA' (S? '|' S? Name)* S? ')*' or
// '(' S? '#PCDATA' S? ')'.
func (d *dtdParser) mixed(i int) (int, *dtdError) {
	names := 0
	for {
		i, _ = d.space(i)
		if i == len(d.b) {
			return 0, d.short(i, "element declaration")
		}
		switch d.b[i] {
		case ')':
			if i+1 < len(d.b) && d.b[i+1] == '*' {
				return i + 2, nil
			}
			if names > 0 {
				return 0, d.errf(i, "mixed content with element names must end with )*")
			}
			return i + 1, nil
		case '|':
			j, _ := d.space(i + 1)
			var err *dtdError
			if _, i, err = d.name(j, "an element name"); err != nil {
				return 0, err
			}
			names++
		default:
			return 0, d.errf(i, "expected | or ) in mixed content, found %s", near(d.b[i:]))
		}
	}
}

const maxGroupDepth = 256

// group reads a choice or seq starting at '(' at i, and its occurrence
// indicator: children and cp.
func (d *dtdParser) group(i, depth int) (int, *dtdError) {
	if depth > maxGroupDepth {
		return 0, d.errf(i, "content model groups nest more than %d deep", maxGroupDepth)
	}
	var sep byte
	for n := 0; ; n++ {
		i, _ = d.space(i + 1) // past '(' or the separator
		if i == len(d.b) {
			return 0, d.short(i, "element declaration")
		}
		var err *dtdError
		if d.b[i] == '(' {
			i, err = d.group(i, depth+1)
		} else {
			_, i, err = d.name(i, "an element name or ( in a content model")
			if err == nil {
				i = occurrence(d.b, i)
			}
		}
		if err != nil {
			return 0, err
		}
		i, _ = d.space(i)
		if i == len(d.b) {
			return 0, d.short(i, "element declaration")
		}
		switch c := d.b[i]; {
		case c == ')':
			return occurrence(d.b, i+1), nil
		case c == '|' || c == ',':
			if sep != 0 && c != sep {
				return 0, d.errf(i, "a content model group mixes | and , (use nested groups)")
			}
			sep = c
		default:
			return 0, d.errf(i, "expected |, , or ) in a content model, found %s", near(d.b[i:]))
		}
	}
}

func occurrence(b []byte, i int) int {
	if i < len(b) && (b[i] == '?' || b[i] == '*' || b[i] == '+') {
		return i + 1
	}
	return i
}

// notationDecl reads '<!NOTATION' S Name S (ExternalID | PublicID) S? '>'.
func (d *dtdParser) notationDecl(i int) (int, *dtdError) {
	i, err := d.needSpace(i+10, "the notation name")
	if err != nil {
		return 0, err
	}
	if _, i, err = d.ncName(i, "a notation name"); err != nil {
		return 0, err
	}
	if i, err = d.needSpace(i, "the notation's external ID"); err != nil {
		return 0, err
	}
	if i, err = d.externalID(i, true); err != nil {
		return 0, err
	}
	return d.declEnd(i, "notation declaration")
}

// entityDecl reads '<!ENTITY' S ('%' S)? Name S EntityDef S? '>'.
func (d *dtdParser) entityDecl(i int) (int, *dtdError) {
	i, err := d.needSpace(i+8, "the entity name")
	if err != nil {
		return 0, err
	}
	pe := d.b[i] == '%'
	if pe {
		if i, err = d.needSpace(i+1, "the parameter entity name"); err != nil {
			return 0, err
		}
	}
	name, i, err := d.ncName(i, "an entity name")
	if err != nil {
		return 0, err
	}
	if i, err = d.needSpace(i, "the entity's value or external ID"); err != nil {
		return 0, err
	}
	e := &entity{name: name}
	if c := d.b[i]; c == '"' || c == '\'' {
		a, b, err := d.literal(i, "entity value")
		if err != nil {
			return 0, err
		}
		if e.value, err = d.entityValue(a, b); err != nil {
			return 0, err
		}
		i = b + 1
	} else {
		if i, err = d.externalID(i, false); err != nil {
			return 0, err
		}
		e.external = true
		j, sp := d.space(i)
		if d.keyword(j, "NDATA") {
			if pe {
				return 0, d.errf(j, "a parameter entity cannot be unparsed (NDATA)")
			}
			if !sp {
				return 0, d.errf(j, "expected white space before NDATA")
			}
			if j, err = d.needSpace(j+5, "the notation name"); err != nil {
				return 0, err
			}
			if _, i, err = d.ncName(j, "a notation name"); err != nil {
				return 0, err
			}
			e.bad = "it is an unparsed (NDATA) entity, which may be named only in an ENTITY attribute"
		}
	}
	if i, err = d.declEnd(i, "entity declaration"); err != nil {
		return 0, err
	}
	if *d.unread && !d.standalone {
		return i, nil // §5.1: it may have been overridden by what was not read
	}
	if pe {
		if d.pes == nil {
			d.pes = map[string]*paramEntity{}
		}
		if _, dup := d.pes[name]; !dup {
			d.pes[name] = &paramEntity{value: e.value, external: e.external}
		}
		return i, nil
	}
	if d.t.m == nil {
		d.t.m = map[string]*entity{}
	}
	_, pre := predefined[name]
	if _, dup := d.t.m[name]; !dup && !pre {
		d.t.m[name] = e // the first declaration binds
	}
	return i, nil
}

// entityValue checks an entity's literal b[a:end] and returns its
// replacement text: character references decoded (a CR from one kept as a
// reference where text holds it, see content), entity references kept for
// later, line ends normalised to LF.
func (d *dtdParser) entityValue(a, end int) ([]byte, *dtdError) {
	lit := d.b[a:end]
	if k := bytes.IndexByte(lit, '%'); k >= 0 {
		return nil, d.errf(a+k, "a parameter-entity reference may not occur inside a markup declaration in the internal subset")
	}
	if bytes.IndexByte(lit, '&') < 0 && bytes.IndexByte(lit, '\r') < 0 {
		return bytes.Clone(lit), nil // lit may be in the read window, which moves
	}
	out := make([]byte, 0, len(lit))
	for i := 0; i < len(lit); {
		switch lit[i] {
		case '&':
			e, _, msg := parseRef(lit, i)
			if msg != "" {
				return nil, d.errf(a+i, "%s in an entity value", msg)
			}
			if lit[i+1] == '#' {
				out = utf8.AppendRune(out, charRef(lit[i+2:e-1]))
			} else {
				out = append(out, lit[i:e]...)
			}
			i = e
		case '\r':
			out = append(out, '\n')
			i++
			if i < len(lit) && lit[i] == '\n' {
				i++
			}
		default:
			out = append(out, lit[i])
			i++
		}
	}
	return out, nil
}

// peRef reads a parameter-entity reference between declarations and
// reads the entity's replacement text as declarations.
func (d *dtdParser) peRef(i int) (int, *dtdError) {
	name, e, err := d.ncName(i+1, "a parameter entity name after %")
	if err != nil {
		return 0, err
	}
	if d.b[e] != ';' {
		return 0, d.errf(e, "parameter-entity reference %%%s has no closing ;", name)
	}
	d.t.peRefs = true
	// WFC: Entity Declared holds no more: an undeclared general entity is
	// a validity error only.
	d.t.skipUndeclared = !d.standalone
	pe := d.pes[name]
	at := i
	if d.refAt >= 0 {
		at = d.refAt
	}
	switch {
	case pe == nil && (d.t.external || *d.unread):
		*d.unread = true
		return e + 1, nil
	case pe == nil:
		return 0, d.errf(i, "undeclared parameter entity %%%s;", name)
	case pe.external:
		*d.unread = true // never read: later declarations are not processed
		return e + 1, nil
	case pe.busy:
		return 0, d.errf(i, "parameter entity %%%s; refers to itself", name)
	case d.depth >= maxEntityDepth:
		return 0, d.errf(i, "parameter-entity references nest more than %d deep", maxEntityDepth)
	}
	if *d.budget -= len(pe.value); *d.budget < 0 {
		return 0, d.errf(i, "the expansion of parameter entity %%%s; is larger than max_record_bytes", name)
	}
	sub := *d
	sub.b, sub.refAt, sub.depth = pe.value, at, d.depth+1
	pe.busy = true
	j, err := sub.subset(0)
	pe.busy = false
	d.pes = sub.pes
	if err == nil && j < len(pe.value) {
		err = sub.errf(j, "unexpected ] in parameter entity %%%s;", name)
	}
	if err != nil {
		err.msg = fmt.Sprintf("in parameter entity %%%s;: %s", name, err.msg)
		return 0, err
	}
	return e + 1, nil
}

// attlistDecl reads '<!ATTLIST' S Name AttDef* S? '>', AttDef being
// S Name S AttType S DefaultDecl.
func (d *dtdParser) attlistDecl(i int) (int, *dtdError) {
	i, err := d.needSpace(i+9, "the element type name")
	if err != nil {
		return 0, err
	}
	elem, i, err := d.name(i, "an element type name")
	if err != nil {
		return 0, err
	}
	var defs []attDef
	for {
		j, sp := d.space(i)
		if j == len(d.b) {
			return 0, d.short(j, "attribute-list declaration")
		}
		if d.b[j] == '>' {
			i = j + 1
			break
		}
		if !sp {
			return 0, d.errf(j, "expected white space before an attribute definition")
		}
		var def attDef
		if def.name, j, err = d.name(j, "an attribute name"); err != nil {
			return 0, err
		}
		if j, err = d.needSpace(j, "the attribute type"); err != nil {
			return 0, err
		}
		if def.token, j, err = d.attType(j); err != nil {
			return 0, err
		}
		if j, err = d.needSpace(j, "the attribute default"); err != nil {
			return 0, err
		}
		switch {
		case d.keyword(j, "#REQUIRED"):
			j += 9
		case d.keyword(j, "#IMPLIED"):
			j += 8
		default:
			if d.keyword(j, "#FIXED") {
				if j, err = d.needSpace(j+6, "the #FIXED value"); err != nil {
					return 0, err
				}
			} else if d.b[j] == '#' {
				return 0, d.errf(j, "expected #REQUIRED, #IMPLIED, #FIXED or a quoted default value, found %s", near(d.b[j:]))
			}
			a, b, err := d.literal(j, "default value")
			if err != nil {
				return 0, err
			}
			if def.value, err = d.attValue(a, b, def.token); err != nil {
				return 0, err
			}
			j = b + 1
		}
		defs = append(defs, def)
		i = j
	}
	if !*d.unread || d.standalone {
		d.t.declare(elem, defs)
	}
	return i, nil
}

// attType reads an attribute type and reports whether it is tokenized
// (anything but CDATA).
func (d *dtdParser) attType(i int) (bool, int, *dtdError) {
	for _, kw := range [...]string{"CDATA", "IDREFS", "IDREF", "ID", "ENTITY", "ENTITIES", "NMTOKENS", "NMTOKEN"} {
		if d.keyword(i, kw) {
			return kw != "CDATA", i + len(kw), nil
		}
	}
	notation := d.keyword(i, "NOTATION")
	if notation {
		var err *dtdError
		if i, err = d.needSpace(i+8, "the notation names"); err != nil {
			return false, 0, err
		}
	}
	if d.b[i] != '(' {
		return false, 0, d.errf(i, "expected an attribute type (CDATA, ID, IDREF, IDREFS, ENTITY, ENTITIES, NMTOKEN, NMTOKENS, NOTATION or an enumeration), found %s", near(d.b[i:]))
	}
	for {
		j, _ := d.space(i + 1)
		var err *dtdError
		if notation {
			_, j, err = d.ncName(j, "a notation name")
		} else {
			j, err = d.nmtoken(j)
		}
		if err != nil {
			return false, 0, err
		}
		j, _ = d.space(j)
		if j == len(d.b) {
			return false, 0, d.short(j, "attribute-list declaration")
		}
		switch d.b[j] {
		case ')':
			return true, j + 1, nil
		case '|':
			i = j
		default:
			return false, 0, d.errf(j, "expected | or ) in an enumeration, found %s", near(d.b[j:]))
		}
	}
}

// attValue checks a default value b[lo:hi] (no '<', references valid and to
// entities declared before, whose text has no '<' and that are not
// external) and returns it normalised (XML 1.0 §3.3.3).
func (d *dtdParser) attValue(lo, hi int, token bool) ([]byte, *dtdError) {
	raw := d.b[lo:hi]
	if k := bytes.IndexByte(raw, '<'); k >= 0 {
		return nil, d.errf(lo+k, "< is not allowed in an attribute value (write &lt;)")
	}
	for k := bytes.IndexByte(raw, '&'); k >= 0; {
		end, name, msg := parseRef(raw, k)
		if msg != "" {
			return nil, d.errf(lo+k, "%s", msg)
		}
		if name != nil {
			if _, err := d.t.lookup(name); err != nil {
				return nil, d.errf(lo+k, "in a default value: %v", err)
			}
		}
		n := bytes.IndexByte(raw[end:], '&')
		if n < 0 {
			break
		}
		k = end + n
	}
	v, err := d.t.normalize(raw, token)
	if err != nil {
		return nil, d.errf(lo, "in a default value: %v", err)
	}
	return v, nil
}
