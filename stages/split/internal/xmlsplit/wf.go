package xmlsplit

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/sluicehq/sluice/sdk/xmlname"
	"github.com/sluicehq/sluice/stages/split/internal/scan"
)

// The well-formedness rules of XML 1.0 (fifth edition) and Namespaces 1.0
// that encoding/xml does not apply: the XML declaration's grammar and
// place, reserved processing instruction targets, what may stand outside
// the root element, repeated attributes, and namespace bindings.

const xmlnsURL = "http://www.w3.org/2000/xmlns/"

// attrName locates an attribute name of the start tag being scanned.
type attrName struct {
	start, end int
}

// expandedName is a prefixed attribute's namespace and local name.
type expandedName struct {
	uri   string
	local attrName
}

// manyAttrs is how many attributes a tag may have before repeated looks
// names up in a set instead of comparing them.
const manyAttrs = 16

// attrBit returns the bit of attribute name in a tag's attrBloom: a hash
// of its first and last bytes and its length. Distinct names on a tag
// rarely share one, so most names need no comparison (repeated).
func attrBit(name []byte) uint64 {
	return 1 << ((uint(name[0]) + 7*uint(name[len(name)-1]) + 13*uint(len(name))) & 63)
}

// repeated reports whether the start tag being scanned already has an
// attribute named buf[a:b]; the caller then records the name in
// tagAttrs. It is called when the name's attrBit was seen on the tag or
// the tag has manyAttrs attributes or more: it compares the name with
// each of a few, and uses a set beyond, so that a tag with 100,000
// attributes costs linear time.
func (s *Splitter) repeated(buf []byte, a, b int) bool {
	name := buf[a:b]
	n := len(s.tagAttrs)
	if n < manyAttrs {
		for _, at := range s.tagAttrs {
			if bytes.Equal(buf[at.start:at.end], name) {
				return true
			}
		}
		return false
	}
	if n == manyAttrs {
		if s.attrSet == nil {
			s.attrSet = map[string]struct{}{}
		}
		clear(s.attrSet)
		for _, at := range s.tagAttrs {
			s.attrSet[string(buf[at.start:at.end])] = struct{}{}
		}
	}
	if _, dup := s.attrSet[string(name)]; dup {
		return true
	}
	s.attrSet[string(name)] = struct{}{}
	return false
}

// boundSet holds a few prefixes found bound in a scope, identified by the
// generations of its two parts (nsGen for the ancestors', recGen for the
// record's elements'): a change to either empties it.
type boundSet struct {
	ns, rec  int
	n        int
	prefixes [4]string
}

// has reports whether prefix is in the set for the scope (ns, rec).
func (b *boundSet) has(prefix []byte, ns, rec int) bool {
	if b.ns != ns || b.rec != rec {
		return false
	}
	for _, p := range b.prefixes[:b.n] {
		if p == string(prefix) {
			return true
		}
	}
	return false
}

// add notes that prefix, not in the set, is bound in the scope (ns, rec).
func (b *boundSet) add(prefix string, ns, rec int) {
	if b.ns != ns || b.rec != rec {
		b.ns, b.rec, b.n = ns, rec, 0
	}
	b.prefixes[b.n%len(b.prefixes)] = prefix
	b.n = min(b.n+1, len(b.prefixes))
}

// nsSimple reports whether the start tag just scanned at buf[p] passes
// the Namespaces checks for the common reason, without checkNS: it
// declares no namespace, and its element name and its one prefixed
// attribute name, if any, have a prefix (xml, or one checkNS found bound
// in the unchanged scope) and a local part. A single prefixed attribute
// cannot repeat another's expanded name (an unprefixed one has none).
func (s *Splitter) nsSimple(p int) bool {
	if len(s.tagDecls) > 0 || s.tagColons > 1 {
		return false
	}
	buf := s.buf()
	if !s.knownBound(buf[p+1 : s.tagNameEnd]) {
		return false
	}
	if s.tagColons == 1 {
		at := s.tagAttrs[s.tagColonAt]
		return s.knownBound(buf[at.start:at.end])
	}
	return true
}

// knownBound reports whether name is unprefixed, or prefix:local with a
// prefix known bound (nsSimple).
func (s *Splitter) knownBound(name []byte) bool {
	i := bytes.IndexByte(name, ':')
	switch {
	case i < 0:
		return true
	case i == 0 || i == len(name)-1:
		return false
	case string(name[:i]) == "xml":
		return true
	}
	return s.bound.has(name[:i], s.nsGen, s.recGen)
}

// declURI returns the namespace name of a declaration whose raw value is
// raw (decodeValue), interned when it has no reference.
func (s *Splitter) declURI(raw []byte) string {
	if bytes.IndexByte(raw, '&') >= 0 {
		return decodeValue(raw, s.ents)
	}
	return s.intern(raw)
}

// intern returns string(b), reusing the string of one of the last
// different values it returned: documents declare a few namespaces on
// many elements, and each declaration then costs no allocation.
func (s *Splitter) intern(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	for _, v := range s.interned {
		if v == string(b) {
			return v
		}
	}
	v := string(b)
	copy(s.interned[1:], s.interned[:len(s.interned)-1])
	s.interned[0] = v
	return v
}

// checkNS applies Namespaces 1.0 to the start tag at buf[p] just scanned:
// names are well-formed QNames, prefixes are declared, the reserved
// prefixes and namespace names are not rebound, and no two attributes
// have the same expanded name. It returns the failure, or cont.
func (s *Splitter) checkNS(p int) int {
	buf := s.buf()
	for _, d := range s.tagDecls {
		switch {
		case d.prefix == "xml" && d.uri != xmlURL:
			return s.fail(d.start, "the prefix xml is bound to %s and may not be declared otherwise", xmlURL)
		case d.prefix != "xml" && d.uri == xmlURL:
			return s.fail(d.start, "the namespace %s belongs to the prefix xml only", xmlURL)
		case d.prefix == "xmlns":
			return s.fail(d.start, "the prefix xmlns may not be declared")
		case d.uri == xmlnsURL:
			return s.fail(d.start, "the namespace %s may not be declared", xmlnsURL)
		case d.prefix != "" && d.uri == "":
			return s.fail(d.start, "xmlns:%s=\"\" is not allowed in Namespaces 1.0 (a prefix cannot be undeclared)", d.prefix)
		}
	}
	name := buf[p+1 : s.tagNameEnd]
	if msg := s.qnameBound(name, true); msg != "" {
		return s.fail(p+1, "element <%s>: %s", name, msg)
	}
	s.noteBound(name)
	if s.tagColons == 0 {
		return cont
	}
	s.expNames = s.expNames[:0]
	for _, at := range s.tagAttrs {
		an := buf[at.start:at.end]
		if bytes.IndexByte(an, ':') < 0 {
			continue
		}
		if msg := s.qnameBound(an, false); msg != "" {
			return s.fail(at.start, "attribute %s: %s", an, msg)
		}
		prefix, local := splitQName(an)
		if string(prefix) == "xmlns" {
			continue
		}
		s.noteBound(an)
		uri, _ := s.lookupNS(prefix)
		if s.repeatsExpanded(buf, uri, local) {
			return s.fail(at.start, "attribute %s repeats the name {%s}%s of another attribute of the element", an, uri, local)
		}
		ls := at.end - len(local)
		s.expNames = append(s.expNames, expandedName{uri, attrName{ls, at.end}})
	}
	return cont
}

// noteBound remembers the prefix of name, just found bound by qnameBound,
// for nsSimple, unless the start tag declares namespaces (its own
// declarations are not in the scope nsSimple checks against).
func (s *Splitter) noteBound(name []byte) {
	if i := bytes.IndexByte(name, ':'); i > 0 && len(s.tagDecls) == 0 && !s.bound.has(name[:i], s.nsGen, s.recGen) {
		s.bound.add(s.intern(name[:i]), s.nsGen, s.recGen)
	}
}

// manyExpanded is how many prefixed attributes a tag may have before
// repeatsExpanded looks them up in a set instead of comparing with each.
const manyExpanded = 16

// repeatsExpanded reports whether {uri}local is the expanded name of one
// of the tag's prefixed attributes seen so far (s.expNames). It compares
// with each of a few, and keeps a set past manyExpanded, so that a tag of
// many prefixed attributes costs linear time, not quadratic.
func (s *Splitter) repeatsExpanded(buf []byte, uri string, local []byte) bool {
	n := len(s.expNames)
	if n < manyExpanded {
		for _, x := range s.expNames {
			if x.uri == uri && bytes.Equal(buf[x.local.start:x.local.end], local) {
				return true
			}
		}
		return false
	}
	if n == manyExpanded {
		clear(s.expSet)
		if s.expSet == nil {
			s.expSet = map[string]struct{}{}
		}
		for _, x := range s.expNames {
			s.expSet[x.uri+"\x00"+string(buf[x.local.start:x.local.end])] = struct{}{}
		}
	}
	k := uri + "\x00" + string(local)
	if _, dup := s.expSet[k]; dup {
		return true
	}
	s.expSet[k] = struct{}{}
	return false
}

// qnameBound checks a name with a colon: a prefix and a local part, both
// non-empty, and the prefix declared (and, for an element, not xmlns).
func (s *Splitter) qnameBound(name []byte, element bool) string {
	i := bytes.IndexByte(name, ':')
	if i < 0 {
		return ""
	}
	if i == 0 || i == len(name)-1 {
		return "a name with a colon needs a prefix and a local part (prefix:local)"
	}
	prefix := name[:i]
	if string(prefix) == "xmlns" {
		if element {
			return "the prefix xmlns is reserved for namespace declarations"
		}
		return ""
	}
	if _, ok := s.lookupNS(prefix); !ok {
		return fmt.Sprintf("undeclared namespace prefix %s (declare it with xmlns:%s=\"...\" on this element or an ancestor)", prefix, prefix)
	}
	return ""
}

// lookupNS returns the namespace bound to a prefix in the start tag just
// scanned: by the tag itself, an element of the record, or an ancestor.
func (s *Splitter) lookupNS(prefix []byte) (string, bool) {
	if string(prefix) == "xml" {
		return xmlURL, true
	}
	for i := len(s.tagDecls) - 1; i >= 0; i-- {
		if s.tagDecls[i].prefix == string(prefix) {
			return s.tagDecls[i].uri, true
		}
	}
	for i := len(s.recNS) - 1; i >= 0; i-- {
		if s.recNS[i].prefix == string(prefix) {
			return s.recNS[i].uri, true
		}
	}
	// The ancestors' declarations change rarely (nsGen counts the
	// changes): the last prefix found there is remembered.
	if s.nsHit != nil && s.nsHitGen == s.nsGen && s.nsHit.prefix == string(prefix) {
		return s.nsHit.uri, true
	}
	for i := len(s.ns) - 1; i >= 0; i-- {
		if s.ns[i].prefix == string(prefix) {
			s.nsHit, s.nsHitGen = &s.ns[i], s.nsGen
			return s.ns[i].uri, true
		}
	}
	return "", false
}

// pushRecordNS keeps the declarations of an element of a record that
// stays open, for the names below it.
func (s *Splitter) pushRecordNS() {
	if len(s.tagDecls) == 0 {
		return
	}
	d := len(s.ends)
	for _, td := range s.tagDecls {
		s.recNS = append(s.recNS, nsDecl{depth: d, prefix: td.prefix, uri: td.uri})
	}
	s.recGen++
}

// popRecordNS drops the declarations of the record's elements that are
// no longer open.
func (s *Splitter) popRecordNS() {
	d := len(s.ends)
	n := len(s.recNS)
	for n > 0 && s.recNS[n-1].depth >= d {
		n--
	}
	if n < len(s.recNS) {
		s.recNS = s.recNS[:n]
		s.recGen++
	}
}

// reservedTarget reports whether a processing instruction target is
// "xml" in any case, a name XML reserves.
func reservedTarget(t []byte) bool {
	return len(t) == 3 && t[0]|0x20 == 'x' && t[1]|0x20 == 'm' && t[2]|0x20 == 'l'
}

// xmlDecl checks the XML declaration <?xml ...?> at buf[p], whose target
// ends at buf[i] and whose "?>" is at buf[e]: it must open the document
// and follow production [23]. It returns the failure, or cont.
func (s *Splitter) xmlDecl(p, i, e int, inRec bool) int {
	buf := s.buf()
	if inRec || s.w.Base+int64(p) != s.docStart {
		return s.fail(p, "an XML declaration <?xml ...?> may only stand at the very start of the document (nothing before it, not even white space)")
	}
	enc, msg := checkXMLDecl(buf[i:e])
	if msg != "" {
		return s.fail(p, "malformed XML declaration: %s", msg)
	}
	if enc != "" && !strings.EqualFold(enc, "utf-8") && !strings.EqualFold(enc, "us-ascii") && !strings.EqualFold(enc, "ascii") {
		return s.fail(p, "the document declares encoding %q; split reads UTF-8 only: convert the file first, e.g. iconv -f %s -t UTF-8 in.xml > out.xml (and change the declaration)", enc, enc)
	}
	s.standalone = xmlname.PseudoAttr("standalone", buf[xmlname.SkipSpace(buf[:e], i):e]) == "yes"
	return cont
}

// checkXMLDecl parses the pseudo-attributes of an XML declaration (what
// follows "<?xml" up to "?>"): version, then optionally encoding and
// standalone, in that order, each after white space. It returns the
// declared encoding, or a description of the problem.
func checkXMLDecl(b []byte) (enc, msg string) {
	seen := 0 // 1: version, 2: encoding, 3: standalone
	for i := 0; ; {
		j := xmlname.SkipSpace(b, i)
		if j == len(b) {
			if seen == 0 {
				return "", `the version is missing (write <?xml version="1.0"?>)`
			}
			return enc, ""
		}
		if j == i {
			return "", fmt.Sprintf("expected white space before %q", clipped(b[i:]))
		}
		n := j
		for n < len(b) && 'a' <= b[n] && b[n] <= 'z' {
			n++
		}
		name := string(b[j:n])
		order := map[string]int{"version": 1, "encoding": 2, "standalone": 3}[name]
		switch {
		case order == 0:
			return "", fmt.Sprintf("unexpected %q: only version, encoding and standalone may follow, in that order", clipped(b[j:]))
		case seen == 0 && order != 1:
			return "", "the version must come first"
		case order <= seen:
			return "", fmt.Sprintf("%s is repeated or out of order (version, encoding, standalone)", name)
		}
		seen = order
		k := xmlname.SkipSpace(b, n)
		if k == len(b) || b[k] != '=' {
			return "", fmt.Sprintf("expected = after %s", name)
		}
		k = xmlname.SkipSpace(b, k+1)
		if k == len(b) || b[k] != '"' && b[k] != '\'' {
			return "", fmt.Sprintf("the value of %s must be in quotes", name)
		}
		end := bytes.IndexByte(b[k+1:], b[k])
		if end < 0 {
			return "", fmt.Sprintf("the value of %s has no closing %c", name, b[k])
		}
		v := b[k+1 : k+1+end]
		i = k + 2 + end
		switch order {
		case 1:
			if len(v) < 3 || string(v[:2]) != "1." || !allDigits(v[2:]) {
				return "", fmt.Sprintf("version %q is not 1.0 (or 1.x)", v)
			}
		case 2:
			if !encName(v) {
				return "", fmt.Sprintf("encoding name %q is malformed: a letter, then letters, digits, '.', '_' or '-', with no spaces", v)
			}
			enc = string(v)
		case 3:
			if string(v) != "yes" && string(v) != "no" {
				return "", fmt.Sprintf(`standalone %q must be "yes" or "no"`, v)
			}
		}
	}
}

func allDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(b) > 0
}

// encName reports whether b is an EncName (production [81]).
func encName(b []byte) bool {
	for i, c := range b {
		letter := 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z'
		if !letter && (i == 0 || !('0' <= c && c <= '9' || c == '.' || c == '_' || c == '-')) {
			return false
		}
	}
	return len(b) > 0
}

// declWord returns the keyword of the declaration "<!" at buf[p] starts.
func declWord(buf []byte, p int) string {
	i := p + 2
	for i < len(buf) && i < p+22 && ('A' <= buf[i] && buf[i] <= 'Z' || 'a' <= buf[i] && buf[i] <= 'z') {
		i++
	}
	return string(buf[p+2 : i])
}

func clipped(b []byte) string {
	if len(b) > 20 {
		return string(b[:20]) + "..."
	}
	return string(b)
}

// outerBang checks markup starting "<!" outside records, scanned by bang
// up to buf[q]: the characters of a comment; CDATA only inside the root
// element; and, of declarations, only one DOCTYPE, before the root.
func (s *Splitter) outerBang(p, q int) int {
	buf := s.buf()
	switch buf[p+2] {
	case '-':
		if i, msg := scan.BadChar(buf[p+4 : q-3]); i >= 0 {
			return s.fail(p+4+i, "%s in a comment", msg)
		}
	case '[':
		if len(s.ends) == 0 {
			return s.fail(p, "a CDATA section may not stand outside the root element")
		}
		if i, msg := scan.BadChar(buf[p+9 : q-3]); i >= 0 {
			return s.fail(p+9+i, "%s", msg)
		}
	default:
		switch {
		case len(s.ends) > 0:
			return s.fail(p, "markup declaration <!%s is not allowed inside an element (only comments and CDATA sections start with <!)", declWord(buf, p))
		case !bytes.HasPrefix(buf[p+2:q], []byte("DOCTYPE")) || !xmlname.IsSpace(buf[p+9]):
			return s.fail(p, "%q: outside the root element only a DOCTYPE declaration (<!DOCTYPE ...>, in capitals), comments and processing instructions may stand", clipped(buf[p:q]))
		case s.seenRoot:
			return s.fail(p, "DOCTYPE declaration after the root element: it must come before it")
		case s.ents.parsed:
			return s.fail(p, "a second DOCTYPE declaration: a document has at most one")
		}
		// A DOCTYPE before the root is read by doctype (dtd.go), not here.
		return s.fail(p, "unexpected DOCTYPE declaration")
	}
	return cont
}

// betweenText checks the character data buf[a:b] between records, inside
// the root element, which no record carries but the document holds:
// characters, references (an entity must be declared, unless the
// DOCTYPE names an external DTD, which is not read) and no "]]>". The
// caller cuts text that goes on past the buffer after white space, so
// that no character or reference is cut.
func (s *Splitter) betweenText(a, b int) int {
	buf := s.buf()
	if notSpace(buf[a:b]) < 0 {
		return cont // the usual indentation between records
	}
	if i, msg := scan.BadChar(buf[a:b]); i >= 0 {
		return s.fail(a+i, "%s", msg)
	}
	if k := bytes.Index(buf[a:b], cdataEnd); k >= 0 {
		return s.fail(a+k, "]]> is not allowed in text outside a CDATA section (write ]]&gt;)")
	}
	for i := bytes.IndexByte(buf[a:b], '&'); i >= 0; {
		at := a + i
		end, name, msg := parseRef(buf[:b], at)
		if msg != "" {
			return s.fail(at, "%s", msg)
		}
		if _, declared := s.ents.m[string(name)]; name != nil && !declared && !s.ents.external {
			_, err := s.ents.lookup(name)
			return s.fail(at, "%v", err)
		}
		i = bytes.IndexByte(buf[end:b], '&')
		if i >= 0 {
			i += end - a
		}
	}
	return cont
}

// lastSpace returns the index of the last white space byte of b, or -1.
func lastSpace(b []byte) int {
	for i := len(b) - 1; i >= 0; i-- {
		if xmlname.IsSpace(b[i]) {
			return i
		}
	}
	return -1
}
