package xmlsplit

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// Applying the internal subset's attribute-list declarations to start
// tags (XML 1.0 §3.3, §5.1): defaults and #FIXED values that a tag leaves
// out are added to it, and values of tokenized types are normalised, as
// edits of the record's bytes, so that every record carries them on its
// own. A document without ATTLIST declarations pays one nil check per
// start tag.

// attList is what the ATTLIST declarations of one element type say, merged
// in document order; the first definition of an attribute binds.
// It is immutable once the DOCTYPE is read, and shared by the splitters
// of one file's ranges.
type attList struct {
	defs     []attDef
	index    map[string]int // defs by attribute name
	defaults int            // how many defs carry a default or #FIXED value
}

// attDef is one attribute definition.
type attDef struct {
	name  string
	token bool   // a declared type other than CDATA: values are normalised
	value []byte // the normalised default or #FIXED value, nil if none
	lit   []byte // value escaped for writing between double quotes
	attr  []byte // ` name="lit"`, what a start tag without it gets
}

// declare merges the definitions of one ATTLIST for element elem.
func (t *entities) declare(elem string, defs []attDef) {
	if t.atts == nil {
		t.atts = map[string]*attList{}
	}
	l := t.atts[elem]
	if l == nil {
		l = &attList{index: map[string]int{}}
		t.atts[elem] = l
	}
	for _, def := range defs {
		if _, dup := l.index[def.name]; dup {
			continue // the first definition binds
		}
		if def.value != nil {
			def.lit = escapeAttr(def.value, '"')
			def.attr = make([]byte, 0, len(def.name)+len(def.lit)+4)
			def.attr = append(append(append(append(def.attr, ' '), def.name...), '=', '"'), def.lit...)
			def.attr = append(def.attr, '"')
			l.defaults++
		}
		l.index[def.name] = len(l.defs)
		l.defs = append(l.defs, def)
	}
}

// normalize returns the value of a raw attribute value: references
// replaced, white space normalised (XML 1.0 §3.3.3), and for a tokenized
// type leading and trailing spaces dropped and runs of spaces collapsed.
// The result is the value itself, not escaped.
func (t *entities) normalize(raw []byte, token bool) ([]byte, error) {
	out := make([]byte, 0, len(raw))
	out, err := t.appendNormal(out, raw, 0, false)
	if err != nil {
		return nil, err
	}
	if !token {
		return out, nil
	}
	n := 0
	for i, c := range out {
		if c == ' ' && (n == 0 || out[n-1] == ' ' || i == len(out)-1) {
			continue
		}
		out[n] = c
		n++
	}
	if n > 0 && out[n-1] == ' ' {
		n--
	}
	return out[:n], nil
}

// appendNormal appends the normalised text of raw; inEntity is set for
// the replacement text of an entity, whose character references were
// decoded at its declaration.
func (t *entities) appendNormal(out, raw []byte, depth int, inEntity bool) ([]byte, error) {
	for i := 0; i < len(raw); {
		c := raw[i]
		switch {
		case c == '\t' || c == '\n' || c == '\r':
			out = append(out, ' ')
			if c == '\r' && !inEntity && i+1 < len(raw) && raw[i+1] == '\n' {
				i++ // a CRLF line end is one space
			}
			i++
		case c != '&':
			out = append(out, c)
			i++
		default:
			end, name, msg := parseRef(raw, i)
			if msg != "" {
				return nil, errors.New(msg)
			}
			switch {
			case raw[i+1] == '#':
				out = utf8.AppendRune(out, charRef(raw[i+2:end-1]))
			case name == nil:
				out = append(out, predefined[string(raw[i+1:end-1])])
			default:
				v, err := t.attrTextOf(name, depth)
				if err != nil {
					return nil, err
				}
				if out, err = t.appendNormal(out, v, depth+1, true); err != nil {
					return nil, err
				}
				if len(out) > t.max {
					return nil, fmt.Errorf("the expansion of entity &%s; is larger than max_record_bytes", name)
				}
			}
			i = end
		}
	}
	return out, nil
}

// escapeAttr escapes a value for writing between quote characters so that
// any parser reads it back as v: markup characters and the white space
// that normalisation would turn into spaces become references.
func escapeAttr(v []byte, quote byte) []byte {
	out := make([]byte, 0, len(v)+8)
	for _, c := range v {
		switch c {
		case '&':
			out = append(out, "&amp;"...)
		case '<':
			out = append(out, "&lt;"...)
		case '\t':
			out = append(out, "&#9;"...)
		case '\n':
			out = append(out, "&#10;"...)
		case '\r':
			out = append(out, "&#13;"...)
		case quote:
			if quote == '"' {
				out = append(out, "&quot;"...)
			} else {
				out = append(out, "&apos;"...)
			}
		default:
			out = append(out, c)
		}
	}
	return out
}

// The start tags of declared elements.

// attlist returns the declarations of element name, or nil, and readies
// the scan of its start tag. It costs one nil check when the document
// declares no attributes.
func (s *Splitter) attlist(name []byte) *attList {
	if s.ents.atts == nil {
		return nil
	}
	l := s.ents.atts[string(name)]
	if l != nil {
		if cap(s.defSeen) < len(l.defs) {
			s.defSeen = make([]bool, len(l.defs))
		}
		s.defSeen = s.defSeen[:len(l.defs)]
		clear(s.defSeen)
	}
	return l
}

// declaredAttr notes the attribute name, whose raw value is buf[a:b]
// quoted with quote, on a start tag of an element with declarations l; a
// tokenized value is normalised by an edit in place of the edits of its
// references (those from ne on).
func (s *Splitter) declaredAttr(l *attList, name []byte, a, b int, quote byte, ne int) int {
	i, ok := l.index[string(name)]
	if !ok {
		return cont
	}
	s.defSeen[i] = true
	buf := s.buf()
	if !l.defs[i].token || !needsNormal(buf[a:b]) {
		return cont
	}
	v, err := s.ents.normalize(buf[a:b], true)
	if err != nil {
		return s.fail(a, "%v", err)
	}
	s.edits = append(s.edits[:ne], edit{off: s.w.Base + int64(a), n: b - a, exp: escapeAttr(v, quote)})
	return cont
}

// applyAttlist completes the start tag whose '>' or "/>" is at buf[end]:
// the declared attributes with a default that it does not specify are
// added before it, as edits; defaulted namespace declarations join
// s.tagDecls, for the namespace checks and, with outer set, the scope.
func (s *Splitter) applyAttlist(l *attList, end int, outer bool) int {
	if l.defaults == 0 {
		return cont
	}
	off := s.w.Base + int64(end)
	for k := range l.defs {
		def := &l.defs[k]
		if def.value == nil || s.defSeen[k] {
			continue
		}
		s.edits = append(s.edits, edit{off: off, exp: def.attr})
		if prefix, ok := declPrefix([]byte(def.name)); ok {
			s.tagDecls = append(s.tagDecls, tagDecl{prefix: string(prefix), uri: string(def.value), lit: def.lit, quote: '"'})
			s.tagNS = true
		}
	}
	return cont
}

// needsNormal reports whether a raw tokenized value may read differently
// once normalised: it has references or white space other than single
// spaces between tokens.
func needsNormal(raw []byte) bool {
	for i, c := range raw {
		switch c {
		case '&', '\t', '\n', '\r':
			return true
		case ' ':
			if i == 0 || i == len(raw)-1 || raw[i+1] == ' ' {
				return true
			}
		}
	}
	return false
}

// undeclared stands for an undeclared general entity in a document where
// that is only a validity error: it expands to nothing.
var undeclared = &entity{name: "undeclared", contentOK: true, content: []byte{}, attrOK: true, attr: []byte{}, quoted: [2][]byte{{}, {}}}

// crRefs returns content with each CR that is character data written as
// &#13;, so that it does not read back as a line end; in a CDATA section
// the section is split around the reference. In an attribute value a CR
// becomes the space that normalisation makes of it. A CR in a comment or
// processing instruction is left as is (no reference can stand there).
func crRefs(c []byte) []byte {
	if bytes.IndexByte(c, '\r') < 0 {
		return c
	}
	out := make([]byte, 0, len(c)+16)
	var quote byte
	inTag := false
	for i := 0; i < len(c); i++ {
		b := c[i]
		switch {
		case !inTag && b == '<' && bytes.HasPrefix(c[i:], []byte("<!--")):
			k := bytes.Index(c[i+4:], commentEnd)
			out = append(out, c[i:i+4+k+3]...)
			i += 4 + k + 2
			continue
		case !inTag && b == '<' && bytes.HasPrefix(c[i:], []byte("<?")):
			k := bytes.Index(c[i:], piEnd)
			out = append(out, c[i:i+k+2]...)
			i += k + 1
			continue
		case !inTag && b == '<' && bytes.HasPrefix(c[i:], []byte("<![CDATA[")):
			k := bytes.Index(c[i:], cdataEnd)
			sec := c[i : i+k+3]
			out = append(out, bytes.ReplaceAll(sec, []byte("\r"), []byte("]]>&#13;<![CDATA["))...)
			i += k + 2
			continue
		case !inTag && b == '<':
			inTag = true
		case inTag && quote == 0 && b == '>':
			inTag = false
		case inTag && quote == 0 && (b == '"' || b == '\''):
			quote = b
		case inTag && b == quote:
			quote = 0
		case b == '\r' && !inTag:
			out = append(out, "&#13;"...)
			continue
		case b == '\r' && quote != 0:
			b = ' ' // what normalising the attribute value makes of it
		}
		out = append(out, b)
	}
	return out
}

// equalDTD reports whether t and u hold the same attribute declarations
// and parameter-entity facts.
func (t *entities) equalDTD(u *entities) bool {
	if t.peRefs != u.peRefs || t.skipUndeclared != u.skipUndeclared || len(t.atts) != len(u.atts) {
		return false
	}
	for k, l := range t.atts {
		m := u.atts[k]
		if m == nil || !slices.EqualFunc(l.defs, m.defs, func(a, b attDef) bool {
			return a.name == b.name && a.token == b.token && bytes.Equal(a.value, b.value) && (a.value == nil) == (b.value == nil)
		}) {
			return false
		}
	}
	return true
}

// dtdJSON is the encoded form of what entities holds beyond entities.
type dtdJSON struct {
	PERefs         bool          `json:"pe_refs,omitempty"`
	SkipUndeclared bool          `json:"skip_undeclared,omitempty"`
	Attlists       []attlistJSON `json:"attlists,omitempty"`
}

type attlistJSON struct {
	Element string       `json:"element"`
	Defs    []attDefJSON `json:"defs"`
}

type attDefJSON struct {
	Name  string  `json:"name"`
	Token bool    `json:"token,omitempty"`
	Value *string `json:"value,omitempty"`
}

func (t *entities) dtdJSON() dtdJSON {
	j := dtdJSON{PERefs: t.peRefs, SkipUndeclared: t.skipUndeclared}
	for el, l := range t.atts {
		a := attlistJSON{Element: el}
		for _, d := range l.defs {
			dj := attDefJSON{Name: d.name, Token: d.token}
			if d.value != nil {
				v := string(d.value)
				dj.Value = &v
			}
			a.Defs = append(a.Defs, dj)
		}
		j.Attlists = append(j.Attlists, a)
	}
	slices.SortFunc(j.Attlists, func(a, b attlistJSON) int { return strings.Compare(a.Element, b.Element) })
	return j
}

func (t *entities) setDTD(j dtdJSON) {
	t.peRefs, t.skipUndeclared = j.PERefs, j.SkipUndeclared
	for _, a := range j.Attlists {
		defs := make([]attDef, 0, len(a.Defs))
		for _, d := range a.Defs {
			def := attDef{name: d.Name, token: d.Token}
			if d.Value != nil {
				def.value = append([]byte{}, *d.Value...)
			}
			defs = append(defs, def)
		}
		t.declare(a.Element, defs)
	}
}
