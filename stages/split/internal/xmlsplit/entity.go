package xmlsplit

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/sluicehq/sluice/internal/xmlname"
	"github.com/sluicehq/sluice/stages/split/internal/scan"
)

// entities holds the general entities declared in the DOCTYPE's internal
// subset, and caches their expansions. Expansion is bounded against
// "billion laughs" documents: references nest at most maxEntityDepth deep
// and no expansion may exceed the record size limit.
type entities struct {
	m        map[string]*entity
	parsed   bool
	external bool // the DOCTYPE names an external DTD, which is not read
	max      int
}

const maxEntityDepth = 32

type entity struct {
	name     string
	value    []byte // replacement text: character references decoded
	external bool   // SYSTEM or PUBLIC
	bad      string // why the entity cannot be used

	busy       bool
	contentOK  bool
	content    []byte
	contentErr error
	attrOK     bool
	attr       []byte
	attrErr    error
	quoted     [2][]byte // attr escaped for '"' and for '\''
}

// lookup returns the declared entity called name.
func (t *entities) lookup(name []byte) (*entity, error) {
	e := t.m[string(name)]
	switch {
	case e == nil && t.external:
		return nil, fmt.Errorf("undeclared entity &%s; (the DOCTYPE names an external DTD, which split does not read: declare the entity in the internal subset, or replace the reference)", name)
	case e == nil:
		return nil, fmt.Errorf("undeclared entity &%s; (declare it in the DOCTYPE, or write &amp;%s; for literal text)", name, name)
	case e.external:
		return nil, fmt.Errorf("entity &%s; is external (SYSTEM or PUBLIC), which split does not support: expand it before splitting, e.g. with xmllint --noent", name)
	case e.bad != "":
		return nil, fmt.Errorf("entity &%s; cannot be expanded: %s", name, e.bad)
	}
	return e, nil
}

// content returns e's replacement text as it must appear in element
// content: checked as well-formed content and with nested declared
// entities expanded. It reuses the splitter on "<_>text</_>".
func (t *entities) content(e *entity, depth int) ([]byte, error) {
	if e.contentOK {
		return e.content, e.contentErr
	}
	if e.busy {
		return nil, fmt.Errorf("entity &%s; refers to itself", e.name)
	}
	if depth >= maxEntityDepth {
		return nil, fmt.Errorf("entity references nest more than %d deep", maxEntityDepth)
	}
	e.busy = true
	doc := make([]byte, 0, len(e.value)+7)
	doc = append(append(append(doc, "<_>"...), e.value...), "</_>"...)
	sub := New(bytes.NewReader(doc), Options{File: "entity &" + e.name + ";", Match: wrapper, MaxRecordBytes: t.max + 7, BufferSize: len(doc) + 1})
	sub.ents = t
	sub.depth = depth + 1
	rec, err := sub.Next()
	if err == nil {
		if _, err2 := sub.Next(); err2 != io.EOF {
			err = err2
		}
	}
	e.busy = false
	e.contentOK = true
	if err != nil {
		if errors.Is(err, scan.ErrTooLarge) {
			err = fmt.Errorf("the expansion of entity &%s; is larger than max_record_bytes", e.name)
		}
		e.contentErr = fmt.Errorf("in the text of entity &%s;: %w", e.name, err)
		return nil, e.contentErr
	}
	e.content = rec.Data[3 : len(rec.Data)-4]
	return e.content, nil
}

var wrapper, _ = ParseMatch("/_")

// attr returns e's replacement text for use in an attribute value quoted
// with quote: nested entities expanded, the quote character escaped.
func (t *entities) attr(e *entity, quote byte, depth int) ([]byte, error) {
	v, err := t.attrText(e, depth)
	if err != nil {
		return nil, err
	}
	qi := 0
	if quote == '\'' {
		qi = 1
	}
	if e.quoted[qi] == nil {
		e.quoted[qi] = escapeQuote(v, quote)
	}
	return e.quoted[qi], nil
}

func escapeQuote(v []byte, quote byte) []byte {
	if bytes.IndexByte(v, quote) < 0 {
		return v
	}
	rep := "&quot;"
	if quote == '\'' {
		rep = "&apos;"
	}
	return bytes.ReplaceAll(v, []byte{quote}, []byte(rep))
}

// attrText returns e's replacement text with nested declared entities
// expanded, checked for use in an attribute value (no '<').
func (t *entities) attrText(e *entity, depth int) ([]byte, error) {
	if e.attrOK {
		return e.attr, e.attrErr
	}
	if e.busy {
		return nil, fmt.Errorf("entity &%s; refers to itself", e.name)
	}
	if depth >= maxEntityDepth {
		return nil, fmt.Errorf("entity references nest more than %d deep", maxEntityDepth)
	}
	e.busy = true
	v, err := t.expandText(e.value, depth+1)
	e.busy = false
	e.attrOK = true
	if err != nil {
		e.attrErr = fmt.Errorf("in the text of entity &%s;: %w", e.name, err)
		return nil, e.attrErr
	}
	e.attr = v
	return v, nil
}

// expandText expands declared entities in attribute text, leaving
// predefined and character references as they are.
func (t *entities) expandText(raw []byte, depth int) ([]byte, error) {
	if i := bytes.IndexByte(raw, '<'); i >= 0 {
		return nil, errors.New("< is not allowed in an attribute value")
	}
	if i, msg := scan.BadChar(raw); i >= 0 {
		return nil, errors.New(msg)
	}
	if bytes.IndexByte(raw, '&') < 0 {
		return raw, nil
	}
	out := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); {
		if raw[i] != '&' {
			out = append(out, raw[i])
			i++
			continue
		}
		end, name, msg := parseRef(raw, i)
		if msg != "" {
			return nil, errors.New(msg)
		}
		if name == nil {
			out = append(out, raw[i:end]...)
		} else {
			e, err := t.lookup(name)
			if err != nil {
				return nil, err
			}
			v, err := t.attrText(e, depth)
			if err != nil {
				return nil, err
			}
			if len(out)+len(v) > t.max {
				return nil, fmt.Errorf("the expansion of entity &%s; is larger than max_record_bytes", name)
			}
			out = append(out, v...)
		}
		i = end
	}
	return out, nil
}

// expandAttrText expands declared entities in a raw attribute value
// quoted with quote; it returns raw itself when there are none.
func (t *entities) expandAttrText(raw []byte, quote byte, depth int) ([]byte, error) {
	if bytes.IndexByte(raw, '&') < 0 {
		return raw, nil
	}
	v, err := t.expandText(raw, depth)
	if err != nil {
		return nil, err
	}
	return escapeQuote(v, quote), nil
}

// parseDoctype reads the general entity declarations of a DOCTYPE's
// internal subset; d is the declaration without "<!" and ">". It is
// lenient: what it cannot parse it skips, since encoding/xml does not
// parse DTDs at all and a document it accepts must not fail here.
// Parameter entities are not expanded.
func (t *entities) parseDoctype(d []byte) {
	t.parsed = true
	i := len("DOCTYPE")
	var q byte
	for ; i < len(d); i++ {
		c := d[i]
		if q != 0 {
			if c == q {
				q = 0
			}
			continue
		}
		if c == '"' || c == '\'' {
			q = c
			continue
		}
		if c == '[' {
			break
		}
	}
	if bytes.Contains(d[:i], []byte("SYSTEM")) || bytes.Contains(d[:i], []byte("PUBLIC")) {
		t.external = true
	}
	if i >= len(d) {
		return
	}
	sub := d[i+1:]
	for j := 0; j < len(sub); {
		rest := sub[j:]
		switch {
		case bytes.HasPrefix(rest, []byte("<!--")):
			k := bytes.Index(rest[4:], commentEnd)
			if k < 0 {
				return
			}
			j += 4 + k + 3
		case bytes.HasPrefix(rest, []byte("<?")):
			k := bytes.Index(rest, piEnd)
			if k < 0 {
				return
			}
			j += k + 2
		case bytes.HasPrefix(rest, []byte("<!ENTITY")) && len(rest) > 8 && xmlname.IsSpace(rest[8]):
			j += 8 + t.entityDecl(rest[8:])
		case bytes.HasPrefix(rest, []byte("<!")):
			j += 2 + declEnd(rest[2:])
		case rest[0] == ']':
			return
		default:
			j++
		}
	}
}

// declEnd returns the index after the '>' ending a markup declaration,
// skipping quoted strings, or len(b).
func declEnd(b []byte) int {
	var q byte
	for i, c := range b {
		switch {
		case q != 0:
			if c == q {
				q = 0
			}
		case c == '"' || c == '\'':
			q = c
		case c == '>':
			return i + 1
		}
	}
	return len(b)
}

// entityDecl parses the rest of <!ENTITY ...> and returns its length.
func (t *entities) entityDecl(b []byte) int {
	n := declEnd(b)
	i := xmlname.SkipSpace(b, 0)
	if i < len(b) && b[i] == '%' {
		return n // a parameter entity
	}
	ne, _, _ := readName(b, i)
	name := b[i:ne]
	if !validName(name, nil) {
		return n
	}
	i = xmlname.SkipSpace(b, ne)
	if i >= len(b) {
		return n
	}
	e := &entity{name: string(name)}
	switch {
	case b[i] == '"' || b[i] == '\'':
		k := bytes.IndexByte(b[i+1:], b[i])
		if k < 0 {
			return n
		}
		e.value, e.bad = entityValue(b[i+1 : i+1+k])
		n = max(n, i+1+k+1+declEnd(b[i+1+k+1:]))
	case bytes.HasPrefix(b[i:], []byte("SYSTEM")) || bytes.HasPrefix(b[i:], []byte("PUBLIC")):
		e.external = true
	default:
		return n
	}
	if t.m == nil {
		t.m = map[string]*entity{}
	}
	_, pre := predefined[e.name]
	if _, dup := t.m[e.name]; !dup && !pre {
		t.m[e.name] = e // the first declaration binds
	}
	return n
}

// entityValue turns an entity's literal into its replacement text:
// character references are decoded, entity references kept for later.
func entityValue(lit []byte) (value []byte, bad string) {
	if bytes.IndexByte(lit, '%') >= 0 {
		return nil, "its value uses a parameter entity reference, which split does not expand"
	}
	if bytes.IndexByte(lit, '&') < 0 {
		return bytes.Clone(lit), "" // lit is in the read window, which moves
	}
	out := make([]byte, 0, len(lit))
	for i := 0; i < len(lit); {
		if lit[i] != '&' {
			out = append(out, lit[i])
			i++
			continue
		}
		end, _, msg := parseRef(lit, i)
		if msg != "" {
			return nil, msg
		}
		if lit[i+1] == '#' {
			out = utf8.AppendRune(out, charRef(lit[i+2:end-1]))
		} else {
			out = append(out, lit[i:end]...)
		}
		i = end
	}
	return out, ""
}
