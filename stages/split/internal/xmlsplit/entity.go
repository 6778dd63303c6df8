package xmlsplit

import (
	"bytes"
	"errors"
	"fmt"
	"io"

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

	// atts holds the ATTLIST declarations by element name (attlist.go);
	// nil when there are none.
	atts map[string]*attList
	// peRefs is set when the internal subset references a parameter
	// entity; skipUndeclared when an undeclared general entity is then
	// only a validity error and expands to nothing (not standalone, no
	// external DTD or parameter entity that could declare it).
	peRefs, skipUndeclared bool
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
	case e == nil && t.skipUndeclared:
		return undeclared, nil
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
	e.content = crRefs(rec.Data[3 : len(rec.Data)-4])
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
	// A CR here comes from a character reference (line ends in the
	// literal are LF): normalisation makes it a space, which a reader of
	// a raw CR (then a line end) might merge with a following LF.
	e.attr = bytes.ReplaceAll(v, []byte{'\r'}, []byte{' '})
	return e.attr, nil
}

// attrTextOf is attrText of the entity called name.
func (t *entities) attrTextOf(name []byte, depth int) ([]byte, error) {
	e, err := t.lookup(name)
	if err != nil {
		return nil, err
	}
	return t.attrText(e, depth)
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
			v, err := t.attrTextOf(name, depth)
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
