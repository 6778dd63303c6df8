package xmlsplit

import (
	"bytes"
	"encoding/xml"
	"io"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sluicehq/sluice/sdk/xmlname/xmlnametest"
)

// strictOK is the oracle's check of the well-formedness rules of XML 1.0
// fifth edition and Namespaces 1.0 that encoding/xml leaves out, written
// apart from the splitter: it reads doc (which encoding/xml accepts) with
// RawToken (with the entities ents) and regular expressions over each
// token's bytes.
func strictOK(doc []byte, ents map[string]string) bool {
	start := 0
	if bytes.HasPrefix(doc, []byte("\uFEFF")) {
		start = 3
	}
	d := xml.NewDecoder(bytes.NewReader(doc))
	d.Entity = ents
	var scopes []map[string]string
	depth, doctypes, roots := 0, 0, 0
	prev := int64(0)
	for {
		tok, err := d.RawToken()
		if err == io.EOF {
			return true
		}
		if err != nil {
			return false
		}
		raw := doc[prev:d.InputOffset()]
		at := prev
		prev = d.InputOffset()
		switch t := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				roots++
			}
			scope := map[string]string{}
			if !startTagOK(raw, t, scope, scopes) {
				return false
			}
			scopes = append(scopes, scope)
			depth++
		case xml.EndElement:
			depth--
			if len(scopes) > 0 {
				scopes = scopes[:len(scopes)-1]
			}
		case xml.CharData:
			cdata := bytes.HasPrefix(raw, []byte("<![CDATA["))
			if cdata && depth == 0 || !cdata && surrogateRef(raw) {
				return false
			}
		case xml.Comment:
			if !xmlChars(t) {
				return false
			}
		case xml.ProcInst:
			after := raw[2+len(t.Target):]
			if strings.Contains(t.Target, ":") || !(bytes.HasPrefix(after, []byte("?>")) || len(after) > 0 && strings.IndexByte(" \t\r\n", after[0]) >= 0) || !xmlChars(t.Inst) {
				return false
			}
			if strings.EqualFold(t.Target, "xml") && (t.Target != "xml" || at != int64(start) || !xmlDeclRE.Match(raw)) {
				return false
			}
		case xml.Directive:
			doctypes++
			m := doctypeRE.FindSubmatch(t)
			if depth > 0 || roots > 0 || doctypes > 1 || m == nil || !nameOK(string(m[1])) {
				return false
			}
		}
	}
}

// XML's white space is [ \t\r\n] (RE2's \s also takes \f).
var (
	xmlDeclRE = regexp.MustCompile(`^<\?xml[ \t\r\n]+version[ \t\r\n]*=[ \t\r\n]*("1\.[0-9]+"|'1\.[0-9]+')` +
		`([ \t\r\n]+encoding[ \t\r\n]*=[ \t\r\n]*("[A-Za-z][A-Za-z0-9._-]*"|'[A-Za-z][A-Za-z0-9._-]*'))?` +
		`([ \t\r\n]+standalone[ \t\r\n]*=[ \t\r\n]*("(yes|no)"|'(yes|no)'))?[ \t\r\n]*\?>$`)
	doctypeRE = regexp.MustCompile(`^DOCTYPE[ \t\r\n]+([^ \t\r\n\[>"']+)([ \t\r\n]+(SYSTEM[ \t\r\n]+("[^"]*"|'[^']*')|PUBLIC[ \t\r\n]+("[^"]*"|'[^']*')[ \t\r\n]+("[^"]*"|'[^']*')))?[ \t\r\n]*(\[|$)`)
	charRefRE = regexp.MustCompile(`&#(x[0-9a-fA-F]+|[0-9]+);`)
)

// startTagOK checks a start tag: white space between attributes, no
// attribute twice (by name or by namespace and local name), declared
// prefixes, and the reserved prefixes and namespaces.
func startTagOK(raw []byte, t xml.StartElement, scope map[string]string, outer []map[string]string) bool {
	// After a closing quote comes white space, '>' or '/'.
	var q byte
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; {
		case q != 0 && c == q:
			q = 0
			if i+1 < len(raw) && !strings.ContainsRune(" \t\r\n/>", rune(raw[i+1])) {
				return false
			}
		case q == 0 && (c == '"' || c == '\''):
			q = c
		}
	}
	if surrogateRef(raw) {
		return false
	}
	seen := map[string]bool{}
	for _, a := range t.Attr {
		name := a.Name.Local
		if a.Name.Space != "" {
			name = a.Name.Space + ":" + name
		}
		if seen[name] {
			return false
		}
		seen[name] = true
		var prefix string
		switch {
		case a.Name.Space == "xmlns":
			prefix = a.Name.Local
		case a.Name.Space == "" && a.Name.Local == "xmlns":
		default:
			continue
		}
		switch {
		case prefix == "xml" && a.Value != xmlURL, prefix != "xml" && a.Value == xmlURL,
			prefix == "xmlns", a.Value == "http://www.w3.org/2000/xmlns/", prefix != "" && a.Value == "":
			return false
		}
		scope[prefix] = a.Value
	}
	lookup := func(p string) (string, bool) {
		if p == "xml" {
			return xmlURL, true
		}
		if u, ok := scope[p]; ok {
			return u, true
		}
		for i := len(outer) - 1; i >= 0; i-- {
			if u, ok := outer[i][p]; ok {
				return u, true
			}
		}
		return "", false
	}
	okName := func(n xml.Name, element bool) bool {
		if strings.Contains(n.Local, ":") || n.Local == "" || strings.HasPrefix(string(raw[1:]), ":") {
			return false
		}
		if n.Space == "" {
			return true
		}
		if n.Space == "xmlns" {
			return !element
		}
		_, ok := lookup(n.Space)
		return ok
	}
	if !okName(t.Name, true) {
		return false
	}
	expanded := map[string]bool{}
	for _, a := range t.Attr {
		if !okName(a.Name, false) {
			return false
		}
		if a.Name.Space == "" || a.Name.Space == "xmlns" {
			continue
		}
		u, _ := lookup(a.Name.Space)
		if expanded[u+" "+a.Name.Local] {
			return false
		}
		expanded[u+" "+a.Name.Local] = true
	}
	return true
}

// nameOK reports whether encoding/xml takes name as an element name;
// where the fourth and fifth editions differ on its characters it says
// no, which lets the splitter decide either way.
func nameOK(name string) bool {
	var v struct{ XMLName xml.Name }
	return xml.Unmarshal([]byte("<"+name+"/>"), &v) == nil && !xmlnametest.EditionsDiffer([]byte(name))
}

// surrogateRef reports whether b holds a character reference to a
// surrogate code point, which XML does not allow.
func surrogateRef(b []byte) bool {
	for _, m := range charRefRE.FindAllSubmatch(b, -1) {
		digits, base := string(m[1]), 10
		if digits[0] == 'x' {
			digits, base = digits[1:], 16
		}
		n, err := strconv.ParseUint(digits, base, 32)
		if err == nil && 0xD800 <= n && n <= 0xDFFF {
			return true
		}
	}
	return false
}

// xmlChars reports whether b is UTF-8 of characters XML allows (the Char
// production).
func xmlChars(b []byte) bool {
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n == 1 {
			return false
		}
		if !(r == 9 || r == 10 || r == 13 || 0x20 <= r && r <= 0xD7FF || 0xE000 <= r && r <= 0xFFFD || 0x10000 <= r && r <= 0x10FFFF) {
			return false
		}
		b = b[n:]
	}
	return true
}

func TestStrictOracle(t *testing.T) {
	for doc, want := range map[string]bool{
		`<a x="1" y="2"/>`:                           true,
		`<a x="1"y="2"/>`:                            false,
		`<a x="1" x="2"/>`:                           false,
		`<p:a/>`:                                     false,
		`<p:a xmlns:p="u"><p:b p:c="1"/></p:a>`:      true,
		`<a xmlns:p="u" xmlns:q="u" p:x="" q:x=""/>`: false,
		`<?xml version="1.0"?><a/>`:                  true,
		` <?xml version="1.0"?><a/>`:                 false,
		`<a><?xml version="1.0"?></a>`:               false,
		`<?xml version="1.0" standalone="YES"?><a/>`: false,
		`<![CDATA[x]]><a/>`:                          false,
		`<a>&#xD800;</a>`:                            false,
		`<!DOCTYPE a><a/>`:                           true,
		`<!DOCTYPE 0><a/>`:                           false,
		`<a/><!DOCTYPE a>`:                           false,
		`<a><!ELEMENT a ANY></a>`:                    false,
		"<a><!-- \x0c --></a>":                       false,
		`<?pi+?><a/>`:                                false,
	} {
		if got := strictOK([]byte(doc), nil); got != want {
			t.Errorf("strictOK(%q) = %v, want %v", doc, got, want)
		}
	}
}

// TestNamespaceFastPath checks the cases the splitter's shortcuts for
// namespace and attribute checks (nsSimple, attrBit) must not let
// through: a prefix bound for an earlier element or record and unbound
// now, a self-closing element's own declarations, two prefixed
// attributes with one expanded name, names whose attrBit collide. Each
// document is split on its r elements and on its root, and the verdict
// is strictOK's.
func TestNamespaceFastPath(t *testing.T) {
	docs := []string{
		`<root><r xmlns:a="u"><a:x/><a:x/></r><r><a:x/></r></root>`,
		`<root><r xmlns:a="u"><a:x/></r><r xmlns:a="v"><a:x/></r></root>`,
		`<root><r><a:x xmlns:a="u"/><a:y/></r></root>`,
		`<root><r><e xmlns:a="u"><a:x/></e><a:y/></r></root>`,
		`<root><r><e xmlns:a="u"><a:x/></e><e xmlns:a="u"><a:y/></e></r></root>`,
		`<root xmlns:a="u"><r><a:x/></r></root>`,
		`<root><s xmlns:a="u"><r><a:x/></r></s><s><r><a:x/></r></s></root>`,
		`<root><r xmlns:a="u"><x a:b="1"/></r><r><x a:b="1"/></r></root>`,
		`<root xmlns:a="u" xmlns:b="u"><r><x a:c="1"/><x a:c="1" b:c="2"/></r></root>`,
		`<root xmlns:a="u"><r><x xml:lang="en" a:c="1"/><x a:c="1" a:c="2"/></r></root>`,
		`<root><r><x xml:lang="en"/><x xml:lang="en" xml:lang="fr"/></r></root>`,
		`<root xmlns:a="u"><r><a:x/><a:/></r></root>`,
		`<root xmlns:a="u"><r><a:x/><:x/></r></root>`,
		`<root xmlns:a="u"><r><a:x/><xmlns:x/></r></root>`,
		`<root xmlns:a="u"><r><x a:y="1"/><x a:="1"/></r></root>`,
		`<root><r><x ab="1" ba="2" ab="3"/></r></root>`,
		`<root><r><x ab="1" a2b="2" ab="3"/></r></root>`,
		`<root><r><x a1="1" a2="2" a3="3" a4="4" a5="5" a6="6" a7="7" a8="8" a9="9" b1="1" b2="2" b3="3" b4="4" b5="5" b6="6" b7="7" b8="8" a1="x"/></r></root>`,
		`<root><r><x a1="1" a2="2" a3="3" a4="4" a5="5" a6="6" a7="7" a8="8" a9="9" b1="1" b2="2" b3="3" b4="4" b5="5" b6="6" b7="7" b8="8"/></r></root>`,
	}
	for _, doc := range docs {
		want := strictOK([]byte(doc), nil)
		for _, spec := range []string{"r", "root"} {
			_, err := splitAll(t, []byte(doc), spec, 0)
			if (err == nil) != want {
				t.Errorf("split on %s of %s: error %v, strictOK says well-formed = %v", spec, doc, err, want)
			}
		}
	}
}
