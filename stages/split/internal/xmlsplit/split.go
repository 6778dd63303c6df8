// Package xmlsplit streams an XML document into the subtrees of a chosen
// element, each emitted as standalone, parseable bytes.
//
// The boundary scan is byte work (bytes.IndexByte jumps over text, a table
// lookup per name byte), not a token-by-token parse, and runs on the
// goroutine that reads the file; parsing a record is left to whoever
// consumes it. It applies XML 1.0 (fifth edition) and Namespaces 1.0 as a
// non-validating processor that reads no external entity (wf.go holds
// the rules encoding/xml leaves out): an emitted record is well-formed
// and parses on its own. Between records it checks the structure and the
// markup that may stand there (see stages/split's doc).
package xmlsplit

import (
	"bytes"
	"fmt"
	"io"

	"github.com/sluicehq/sluice/sdk/xmlname"
	"github.com/sluicehq/sluice/stages/split/internal/scan"
)

// Options configure a Splitter.
type Options struct {
	// File names the input in errors.
	File string
	// Match selects the elements to emit.
	Match *Match
	// MaxRecordBytes caps the size of a record (and of any one piece of
	// markup outside records); 0 means 64 MiB.
	MaxRecordBytes int
	// BufferSize is the initial read window; 0 means 256 KiB.
	BufferSize int
	// Range, when set, scans one byte range of the document (see Range).
	Range *Range
}

// Record is one emitted subtree.
type Record struct {
	// Data is the subtree's bytes, with the namespace declarations in scope
	// from its ancestors added to its start tag and declared entities
	// expanded. It is carved from a shared slab: read-only, never reused.
	Data []byte
	// Offset is the stream offset of the record's '<'.
	Offset int64
	// Line is the 1-based line of the record's '<'.
	Line int64
}

// Splitter splits one stream. It is not safe for concurrent use.
type Splitter struct {
	w     *scan.Window
	file  string
	match *Match
	max   int
	pos   int // scan position in w.Buf
	err   error

	started  bool
	seenRoot bool
	docStart int64 // offset of the document's first byte, after a BOM

	// Open elements: the name of element i is names[ends[i-1]:ends[i]].
	names []byte
	ends  []int

	ns        []nsDecl // namespace declarations of open elements outside records
	nsGen     int
	nsIdx     map[string]int // prefix -> its innermost declaration in ns
	frames    [][]nsDecl     // ns again, one immutable slice per element, for Contexts
	nsBytes   int            // size of the innermost declarations (carry.go)
	pathDepth int            // leading steps of an anchored match satisfied by open elements

	// The start tag being scanned.
	tagNameEnd int
	tagSelf    bool
	tagDecls   []tagDecl
	defSeen    []bool // which of its declared attributes it specifies (see attlist)

	standalone bool // the XML declaration says standalone="yes"
	tagAttrs   []attrName
	tagNS      bool   // it has a prefixed name or a namespace declaration
	tagColons  int    // attributes with a colon in their name
	tagColonAt int    // the last of them, as an index in tagAttrs
	attrBloom  uint64 // the tag's attribute names, hashed (repeated)
	attrSet    map[string]struct{}
	expNames   []expandedName
	expSet     map[string]struct{} // expNames, past manyExpanded (repeatsExpanded)

	// The record being scanned.
	inRec      bool
	recStart   int
	recDepth   int
	recNameEnd int // relative to recStart
	insert     []byte
	insCache   []byte
	insGen     int
	carryUsed  bool                // the record carries only what it uses (carry.go)
	own        map[string]struct{} // prefixes the record declares, when many
	picked     []int               // declarations to carry, as indexes in ns
	nsUsed     []uint32            // by pickGen: picked already
	pickGen    uint32
	run        []byte // scratch for prefixes
	body       []byte // scratch: the record being emitted, to find its prefixes
	edits      []edit
	recNS      []nsDecl  // declarations of the record's open elements
	nsHit      *nsDecl   // the last declaration lookupNS found in ns
	nsHitGen   int       // nsGen when nsHit was found
	recGen     int       // bumped when recNS changes
	bound      boundSet  // prefixes known bound (nsSimple)
	interned   [8]string // recent namespace prefixes and names (intern)

	out  Record
	slab scan.Slab
	ents *entities

	// Cached search results, valid until the next Fill: the index of the
	// next '<', '&' and "]]>" at or after the index they were searched
	// from, or len(buf) when there is none.
	lt, amp, cdEnd int

	validNames xmlname.Names // names checked (non-ASCII ones remembered)
	depth      int           // entity nesting, for splitters expanding an entity

	// Range scans (see Range); rng is nil for a whole-document scan.
	rng      *Range
	spec     bool  // speculative: lenient end tags, syncs recorded
	skipText bool  // speculative: the text before the first '<' is skipped
	lenient  int64 // offset of the last end tag ignored, or -1
	syncs    []Sync
	stopped  bool
	stopAt   scan.Origin
	stopCtx  *Context
	ctx      *Context // the last Context snapshot, valid while snapGen == ctxGen
	ctxGen   int      // bumped when the context outside records changes
	snapGen  int
}

type nsDecl struct {
	depth  int
	prefix string
	uri    string
	attr   []byte // ` xmlns:p="uri"`, ready to insert
	shadow int    // index in ns of the declaration of prefix it hides, or -1
}

type tagDecl struct {
	prefix     string
	uri        string
	start, end int    // the raw value in the buffer
	lit        []byte // or, for a default from the DTD, the value escaped
	quote      byte
}

// edit replaces n bytes at stream offset off by exp (an entity expansion).
type edit struct {
	off int64
	n   int
	exp []byte
}

const (
	cont     = 0
	needMore = -1
	failed   = -2
	gotRec   = -3
	atEOF    = -4
)

const xmlURL = "http://www.w3.org/XML/1998/namespace"

// New returns a Splitter reading r.
func New(r io.Reader, opt Options) *Splitter {
	w, max, size := scan.RecordWindow(r, opt.MaxRecordBytes, opt.BufferSize)
	s := &Splitter{
		w:     w,
		file:  opt.File,
		match: opt.Match,
		max:   max,
		ents:  &entities{max: max},
		lt:    -1, amp: -1, cdEnd: -1,
	}
	// XML 1.0 §2.11: a lone CR ends a line too, so positions in a file with
	// CR line ends are not all on line 1.
	s.w.CR = true
	s.slab.Size = scan.SlabFor(size)
	if opt.Range != nil {
		s.resume(opt.Range)
	}
	return s
}

// Next returns the next record, or io.EOF after the last one. Any other
// error (malformed XML, an oversized record, a read error) is final: the
// Splitter returns it again on every later call.
func (s *Splitter) Next() (Record, error) {
	if s.err != nil {
		return Record{}, s.err
	}
	if !s.started {
		if !s.start() {
			return Record{}, s.err
		}
	}
	for {
		var r int
		if s.inRec {
			r = s.scanRecord()
		} else {
			r = s.scanOuter()
		}
		switch r {
		case gotRec:
			return s.out, nil
		case needMore:
			if !s.fill() {
				return Record{}, s.err
			}
		case atEOF:
			s.err = io.EOF
			return Record{}, io.EOF
		case failed:
			return Record{}, s.err
		}
	}
}

func (s *Splitter) start() bool {
	s.started = true
	n, err := s.w.Start(s.file)
	if err != nil {
		s.err = err
		return false
	}
	if msg := noBOMUnicode(s.w.Buf[:s.w.End]); msg != "" {
		s.err = &scan.Error{File: s.file, Line: 1, Col: 1, Msg: msg}
		return false
	}
	s.pos = n
	s.docStart = int64(n)
	return true
}

// noBOMUnicode recognises a document in UTF-16 or UTF-32 without a byte
// order mark by its first character, '<' with NUL bytes around it.
func noBOMUnicode(b []byte) string {
	const hint = "; split reads UTF-8: convert it first, e.g. iconv -f %s -t UTF-8 in > out"
	switch {
	case len(b) >= 4 && (b[0] == 0 && b[1] == 0 && b[2] == 0 && b[3] == '<'):
		return fmt.Sprintf("the file looks UTF-32 encoded (big-endian, no byte order mark)"+hint, "UTF-32BE")
	case len(b) >= 4 && (b[0] == '<' && b[1] == 0 && b[2] == 0 && b[3] == 0):
		return fmt.Sprintf("the file looks UTF-32 encoded (little-endian, no byte order mark)"+hint, "UTF-32LE")
	case len(b) >= 2 && b[0] == 0 && b[1] == '<':
		return fmt.Sprintf("the file looks UTF-16 encoded (big-endian, no byte order mark)"+hint, "UTF-16BE")
	case len(b) >= 2 && b[0] == '<' && b[1] == 0:
		return fmt.Sprintf("the file looks UTF-16 encoded (little-endian, no byte order mark)"+hint, "UTF-16LE")
	}
	return ""
}

func (s *Splitter) fill() bool {
	keep := s.pos
	if s.inRec {
		keep = s.recStart
		if s.w.End-s.recStart > s.max {
			s.tooLarge(s.recStart, "record")
			return false
		}
	} else if s.w.End-s.pos > s.max {
		s.tooLarge(s.pos, "markup")
		return false
	}
	if err := s.w.Fill(keep); err != nil {
		if err == scan.ErrTooLarge {
			s.tooLarge(0, "record")
		} else {
			s.err = err
		}
		return false
	}
	s.pos -= keep
	if s.inRec {
		s.recStart -= keep
	}
	s.lt, s.amp, s.cdEnd = -1, -1, -1
	return true
}

func (s *Splitter) tooLarge(at int, what string) {
	e := s.w.Errorf(s.file, s.w.Base+int64(at), "%s starting here is larger than max_record_bytes (%d bytes); raise max_record_bytes if it is legitimate", what, s.max)
	e.Err = scan.ErrTooLarge
	s.err = e
}

// fail records an error at buffer index at and returns failed.
func (s *Splitter) fail(at int, format string, args ...any) int {
	s.err = s.w.Errorf(s.file, s.w.Base+int64(at), format, args...)
	return failed
}

// more returns needMore, or at end of input the error for an unfinished
// construct starting at buffer index at.
func (s *Splitter) more(at int, format string, args ...any) int {
	if s.w.EOF {
		return s.fail(at, format, args...)
	}
	return needMore
}

func (s *Splitter) buf() []byte { return s.w.Buf[:s.w.End] }

func (s *Splitter) nextLT(from int) int {
	if s.lt < from {
		buf := s.buf()
		if i := bytes.IndexByte(buf[from:], '<'); i >= 0 {
			s.lt = from + i
		} else {
			s.lt = len(buf)
		}
	}
	return s.lt
}

func (s *Splitter) nextAmp(from int) int {
	if s.amp < from {
		buf := s.buf()
		if i := bytes.IndexByte(buf[from:], '&'); i >= 0 {
			s.amp = from + i
		} else {
			s.amp = len(buf)
		}
	}
	return s.amp
}

var cdataEnd = []byte("]]>")

func (s *Splitter) nextCDEnd(from int) int {
	if s.cdEnd < from {
		buf := s.buf()
		if i := bytes.Index(buf[from:], cdataEnd); i >= 0 {
			s.cdEnd = from + i
		} else {
			s.cdEnd = len(buf)
		}
	}
	return s.cdEnd
}

// Element stack.

func (s *Splitter) push(name []byte) {
	s.names = append(s.names, name...)
	s.ends = append(s.ends, len(s.names))
}

func (s *Splitter) pop() {
	s.ends = s.ends[:len(s.ends)-1]
	if n := len(s.ends); n > 0 {
		s.names = s.names[:s.ends[n-1]]
	} else {
		s.names = s.names[:0]
	}
}

func (s *Splitter) top() []byte {
	n := len(s.ends)
	if n == 0 {
		return nil
	}
	if n == 1 {
		return s.names[:s.ends[0]]
	}
	return s.names[s.ends[n-2]:s.ends[n-1]]
}

// scanOuter scans outside records until a record starts (cont), a
// self-closing record is complete (gotRec), more input is needed, the
// document ends, or an error.
func (s *Splitter) scanOuter() int {
	buf := s.buf()
	p := s.pos
	for {
		lt := s.nextLT(p)
		keep := len(buf) // where to resume when the text goes on past buf
		if len(s.ends) == 0 && lt > p && !s.skipText {
			if i := notSpace(buf[p:lt]); i >= 0 {
				if s.seenRoot {
					return s.fail(p+i, "text after the root element: a document has exactly one root element")
				}
				return s.fail(p+i, "text before the root element")
			}
		} else if lt > p && !s.skipText {
			if lt == len(buf) && !s.w.EOF {
				keep = p + lastSpace(buf[p:lt]) + 1
			}
			if r := s.betweenText(p, min(lt, keep)); r != cont {
				return r
			}
		}
		if lt == len(buf) {
			s.pos = keep
			if !s.w.EOF {
				return needMore
			}
			if len(s.ends) > 0 {
				return s.fail(len(buf), "unexpected end of file: expected </%s>", s.top())
			}
			if !s.seenRoot {
				return s.fail(len(buf), "no root element: the file holds no XML element")
			}
			return atEOF
		}
		p = lt
		s.pos = p
		s.skipText = false
		if s.rng != nil && s.atStop(p) {
			s.err = io.EOF
			return atEOF
		}
		if p+1 >= len(buf) {
			return s.more(p, "unexpected end of file after <")
		}
		var q int
		switch buf[p+1] {
		case '/':
			if len(s.ends) == 0 && !s.spec {
				return s.fail(p, "end tag with no element open")
			}
			q = s.endTag(p)
			if q >= 0 {
				if d := len(s.ends); s.pathDepth > d {
					s.pathDepth = d
				}
				s.popNS()
				s.ctxGen++
			}
		case '!':
			if !s.seenRoot && isDoctype(buf, p) {
				q = s.doctype(p) // the strict DOCTYPE reader (dtd.go)
			} else if q = s.bang(p, false); q >= 0 {
				if r := s.outerBang(p, q); r != cont {
					return r
				}
			}
		case '?':
			q = s.pi(p, false)
		default:
			if len(s.ends) == 0 && s.seenRoot {
				return s.fail(p, "element after the root element: a document has exactly one root element")
			}
			q = s.outerStart(p)
			if q == gotRec || q == cont {
				return q
			}
		}
		if q < 0 {
			return q
		}
		p = q
		s.pos = p
	}
}

// outerStart handles a start tag outside records: it either starts a
// record or pushes an ancestor.
func (s *Splitter) outerStart(p int) int {
	nEdits := len(s.edits)
	s.tagDecls = s.tagDecls[:0]
	q := s.startTag(p, true)
	if q < 0 {
		s.edits = s.edits[:nEdits]
		return q
	}
	if !s.seenRoot {
		s.seenRoot = true
		s.ctxGen++
	}
	buf := s.buf()
	name := buf[p+1 : s.tagNameEnd]
	d := len(s.ends)
	steps := s.match.steps
	var isRec bool
	if s.match.anchored {
		isRec = d == len(steps)-1 && s.pathDepth == d && s.stepMatches(&steps[d], name)
	} else {
		isRec = s.stepMatches(&steps[0], name)
	}
	if !isRec {
		s.edits = s.edits[:nEdits]
		if s.tagSelf {
			s.pos = q
			return q
		}
		if s.match.anchored && s.pathDepth == d && d < len(steps)-1 && s.stepMatches(&steps[d], name) {
			s.pathDepth = d + 1
		}
		for _, td := range s.tagDecls {
			attr, err := s.renderDecl(td)
			if err != nil {
				return s.fail(td.start, "%v", err)
			}
			s.pushNS(nsDecl{depth: d, prefix: td.prefix, uri: td.uri, attr: attr})
		}
		s.sealFrame(len(s.tagDecls))
		s.push(name)
		s.ctxGen++
		return q
	}
	s.recStart = p
	s.recNameEnd = s.tagNameEnd - p
	s.recDepth = d
	s.insert = s.insertion()
	if s.tagSelf {
		s.pos = q
		if r := s.emit(q); r != gotRec {
			return r
		}
		return gotRec
	}
	s.pushRecordNS()
	s.push(name)
	s.inRec = true
	s.pos = q
	return cont
}

func (s *Splitter) popNS() {
	d := len(s.ends)
	n := len(s.ns)
	for n > 0 && s.ns[n-1].depth >= d {
		n--
	}
	if n != len(s.ns) {
		s.truncNS(n)
	}
}

func (s *Splitter) stepMatches(st *step, name []byte) bool {
	prefix, local := splitQName(name)
	if string(local) != st.local {
		return false
	}
	switch st.kind {
	case byQName:
		return string(prefix) == st.prefix
	case byURI:
		return s.resolve(prefix) == st.uri
	}
	return true
}

// resolve returns the namespace URI of prefix for the start tag just
// scanned, as encoding/xml would: an undeclared prefix stands for itself.
func (s *Splitter) resolve(prefix []byte) string {
	if string(prefix) == "xml" {
		return xmlURL
	}
	for i := len(s.tagDecls) - 1; i >= 0; i-- {
		if s.tagDecls[i].prefix == string(prefix) {
			return s.tagDecls[i].uri
		}
	}
	if i, ok := s.nsIdx[string(prefix)]; ok {
		return s.ns[i].uri
	}
	return string(prefix)
}

// renderDecl returns ` xmlns:p="v"` for a declaration on an ancestor,
// with declared entities in v expanded.
func (s *Splitter) renderDecl(td tagDecl) ([]byte, error) {
	val := td.lit
	if val == nil {
		buf := s.buf()
		raw := buf[td.start:td.end]
		if i, msg := scan.BadChar(raw); i >= 0 {
			return nil, fmt.Errorf("%s in namespace declaration", msg)
		}
		var err error
		if val, err = s.ents.expandAttrText(raw, td.quote, s.depth); err != nil {
			return nil, err
		}
	}
	out := make([]byte, 0, len(td.prefix)+len(val)+10)
	out = append(out, " xmlns"...)
	if td.prefix != "" {
		out = append(out, ':')
		out = append(out, td.prefix...)
	}
	out = append(out, '=', td.quote)
	out = append(out, val...)
	return append(out, td.quote), nil
}

// scanRecord scans inside a record until it ends (gotRec), more input is
// needed, or an error.
func (s *Splitter) scanRecord() int {
	buf := s.buf()
	p := s.pos
	for {
		lt := s.nextLT(p)
		if lt == len(buf) {
			s.pos = p
			return s.more(len(buf), "unexpected end of file: expected </%s>", s.top())
		}
		if lt > p && !s.text(p, lt) {
			return failed
		}
		p = lt
		s.pos = p
		if p+1 >= len(buf) {
			return s.more(p, "unexpected end of file after <")
		}
		var q int
		switch buf[p+1] {
		case '/':
			q = s.endTag(p)
			if q >= 0 {
				s.popRecordNS()
			}
			if q >= 0 && len(s.ends) == s.recDepth {
				s.pos = q
				s.inRec = false
				return s.emit(q)
			}
		case '!':
			q = s.bang(p, true)
		case '?':
			q = s.pi(p, true)
		default:
			n := len(s.edits)
			q = s.startTag(p, false)
			if q == needMore {
				s.edits = s.edits[:n]
			} else if q >= 0 && !s.tagSelf {
				s.pushRecordNS()
				s.push(buf[p+1 : s.tagNameEnd])
			}
		}
		if q < 0 {
			return q
		}
		p = q
	}
}

// text checks character data buf[a:b] inside a record: references must be
// valid and "]]>" may not appear.
func (s *Splitter) text(a, b int) bool {
	if k := s.nextCDEnd(a); k+3 <= b {
		s.fail(k, "]]> is not allowed in text outside a CDATA section (write ]]&gt;)")
		return false
	}
	if s.nextAmp(a) < b {
		return s.refs(a, b, 0)
	}
	return true
}

// refs checks every reference in buf[a:b] (text if quote is 0, else an
// attribute value) and records expansions of declared entities.
func (s *Splitter) refs(a, b int, quote byte) bool {
	buf := s.buf()
	for i := s.nextAmp(a); i < b; i = s.nextAmp(i + 1) {
		end, name, msg := parseRef(buf[:b], i)
		if msg != "" {
			s.fail(i, "%s", msg)
			return false
		}
		if name == nil {
			continue
		}
		e, err := s.ents.lookup(name)
		var exp []byte
		if err == nil {
			if quote == 0 {
				exp, err = s.ents.content(e, s.depth)
			} else {
				exp, err = s.ents.attr(e, quote, s.depth)
			}
		}
		if err != nil {
			s.fail(i, "%v", err)
			return false
		}
		s.edits = append(s.edits, edit{off: s.w.Base + int64(i), n: end - i, exp: exp})
		i = end - 1
	}
	return true
}

// endTag scans the end tag at buf[p] ("</") and pops its element.
func (s *Splitter) endTag(p int) int {
	buf := s.buf()
	i := p + 2
	// The common case: the name of the element open last, whose name was
	// checked at its start tag. Otherwise read the name to report it.
	if top := s.top(); len(top) > 0 && i+len(top) < len(buf) && nameTab[buf[i+len(top)]]&nameByte == 0 && bytes.Equal(buf[i:i+len(top)], top) {
		i += len(top)
	}
	for i < len(buf) && nameTab[buf[i]]&nameByte != 0 {
		i++
	}
	if i == len(buf) {
		return s.more(p, "unexpected end of file in end tag")
	}
	name := buf[p+2 : i]
	if len(name) == 0 {
		return s.fail(p, "expected element name after </")
	}
	top := s.top()
	ignore := false
	if !bytes.Equal(name, top) {
		if !s.spec || s.inRec {
			return s.fail(p, "expected </%s>, found </%s>", top, name)
		}
		// A speculative scan that started inside elements it cannot see
		// meets their end tags.
		ignore = true
	}
	i = xmlname.SkipSpace(buf, i)
	if i == len(buf) {
		return s.more(p, "unexpected end of file in end tag </%s>", name)
	}
	if buf[i] != '>' {
		return s.fail(i, "invalid characters between </%s and >", name)
	}
	if ignore {
		s.lenient = s.w.Base + int64(p)
		return i + 1
	}
	s.pop()
	return i + 1
}

// startTag scans the start tag at buf[p]. It sets tagNameEnd and tagSelf,
// collects namespace declarations into tagDecls and attribute names into
// tagAttrs, and checks them (checkNS). It does not push the element.
func (s *Splitter) startTag(p int, outer bool) int {
	buf := s.buf()
	s.tagDecls, s.tagAttrs = s.tagDecls[:0], s.tagAttrs[:0]
	i, flags, colons := xmlname.ReadName(buf, p+1)
	if i == len(buf) {
		return s.more(p, "unexpected end of file in start tag")
	}
	if i == p+1 {
		return s.fail(p+1, "expected element name after <")
	}
	if colons > 1 || !s.validNames.Read(buf[p+1:i], flags) { // a QName has one colon at most (checkNS)
		return s.fail(p+1, "invalid XML element name %q", buf[p+1:i])
	}
	s.tagNameEnd = i
	s.tagSelf = false
	al := s.attlist(buf[p+1 : i])
	s.tagNS, s.tagColons, s.attrBloom = colons > 0, 0, 0
	for {
		i = xmlname.SkipSpace(buf, i)
		if i == len(buf) {
			return s.more(p, "unexpected end of file in start tag <%s>", buf[p+1:s.tagNameEnd])
		}
		c := buf[i]
		if c == '>' || c == '/' {
			end := i + 1
			if c == '/' {
				if i+1 == len(buf) {
					return s.more(p, "unexpected end of file in start tag <%s>", buf[p+1:s.tagNameEnd])
				}
				if buf[i+1] != '>' {
					return s.fail(i, "expected /> in element")
				}
				s.tagSelf = true
				end = i + 2
			}
			if al != nil && s.applyAttlist(al, i, outer) == failed {
				return failed
			}
			if s.tagNS && !s.nsSimple(p) {
				if r := s.checkNS(p); r != cont {
					return r
				}
			}
			return end
		}
		an := i
		i, flags, colons = xmlname.ReadName(buf, i)
		if i == len(buf) {
			return s.more(p, "unexpected end of file in start tag <%s>", buf[p+1:s.tagNameEnd])
		}
		if i == an {
			return s.fail(an, "expected attribute name in element <%s>", buf[p+1:s.tagNameEnd])
		}
		if colons > 1 || !s.validNames.Read(buf[an:i], flags) {
			return s.fail(an, "invalid XML attribute name %q", buf[an:i])
		}
		if bit := attrBit(buf[an:i]); s.attrBloom&bit != 0 || len(s.tagAttrs) >= manyAttrs {
			if s.repeated(buf, an, i) {
				return s.fail(an, "attribute %s is repeated in element <%s>", buf[an:i], buf[p+1:s.tagNameEnd])
			}
		} else {
			s.attrBloom |= bit
		}
		s.tagAttrs = append(s.tagAttrs, attrName{an, i})
		if colons > 0 {
			s.tagNS = true
			s.tagColons++
			s.tagColonAt = len(s.tagAttrs) - 1
		}
		ae := i
		i = xmlname.SkipSpace(buf, i)
		if i == len(buf) {
			return s.more(p, "unexpected end of file in start tag <%s>", buf[p+1:s.tagNameEnd])
		}
		if buf[i] != '=' {
			return s.fail(an, "attribute %s has no value (expected =)", buf[an:ae])
		}
		i = xmlname.SkipSpace(buf, i+1)
		if i == len(buf) {
			return s.more(p, "unexpected end of file in start tag <%s>", buf[p+1:s.tagNameEnd])
		}
		q := buf[i]
		if q != '"' && q != '\'' {
			return s.fail(i, "unquoted or missing value of attribute %s", buf[an:ae])
		}
		a := i + 1
		k := bytes.IndexByte(buf[a:], q)
		if k < 0 {
			if lt := s.nextLT(a); lt < len(buf) {
				return s.fail(lt, "unescaped < inside the value of attribute %s (write &lt;)", buf[an:ae])
			}
			return s.more(i, "unexpected end of file in the value of attribute %s", buf[an:ae])
		}
		b := a + k
		if lt := s.nextLT(a); lt < b {
			return s.fail(lt, "unescaped < inside the value of attribute %s (write &lt;)", buf[an:ae])
		}
		ne := len(s.edits)
		if s.nextAmp(a) < b && !s.refs(a, b, q) {
			return failed
		}
		if al != nil && s.declaredAttr(al, buf[an:ae], a, b, q, ne) == failed {
			return failed
		}
		if buf[an] == 'x' {
			if prefix, ok := declPrefix(buf[an:ae]); ok {
				s.tagDecls = append(s.tagDecls, tagDecl{prefix: s.intern(prefix), uri: s.declURI(buf[a:b]), start: a, end: b, quote: q})
				s.tagNS = true
			}
		}
		i = b + 1
		if i < len(buf) && !xmlname.IsSpace(buf[i]) && buf[i] != '>' && buf[i] != '/' {
			return s.fail(i, "expected white space between the attributes of element <%s>", buf[p+1:s.tagNameEnd])
		}
	}
}

// declPrefix reports whether an attribute name declares a namespace, and
// for which prefix (empty for the default namespace).
func declPrefix(name []byte) ([]byte, bool) {
	if string(name) == "xmlns" {
		return nil, true
	}
	if len(name) > 6 && string(name[:6]) == "xmlns:" {
		return name[6:], true
	}
	return nil, false
}

// bang scans markup starting "<!": a comment, a CDATA section or a
// directive (<!DOCTYPE ...>), following encoding/xml's rules.
func (s *Splitter) bang(p int, inRec bool) int {
	buf := s.buf()
	if p+2 >= len(buf) {
		return s.more(p, "unexpected end of file after <!")
	}
	var end int
	switch buf[p+2] {
	case '-':
		if p+3 >= len(buf) {
			return s.more(p, "unexpected end of file after <!-")
		}
		if buf[p+3] != '-' {
			return s.fail(p, "invalid sequence <!- not part of <!--")
		}
		k := bytes.Index(buf[p+4:], dashDash)
		if k < 0 {
			return s.more(p, "unterminated comment: <!-- has no -->")
		}
		e := p + 4 + k + 2
		if e >= len(buf) {
			return s.more(p, "unterminated comment: <!-- has no -->")
		}
		if buf[e] != '>' {
			return s.fail(e-2, `"--" is not allowed inside a comment`)
		}
		end = e + 1
	case '[':
		const cdata = "CDATA["
		for j := 0; j < len(cdata); j++ {
			if p+3+j >= len(buf) {
				return s.more(p, "unexpected end of file in <![CDATA[")
			}
			if buf[p+3+j] != cdata[j] {
				return s.fail(p, "invalid <![ sequence: only <![CDATA[ may start so")
			}
		}
		k := s.nextCDEnd(p + 9)
		if k == len(buf) {
			return s.more(p, "unterminated CDATA section: <![CDATA[ has no ]]>")
		}
		return k + 3
	default:
		if inRec {
			return s.fail(p, "markup declaration <!%s is not allowed inside an element (only comments and CDATA sections start with <!)", declWord(buf, p))
		}
		end = s.directive(p)
	}
	return end
}

var dashDash = []byte("--")

// directive finds the end of <!...> as encoding/xml does
// (xmlname.DirectiveEnd).
func (s *Splitter) directive(p int) int {
	end, inComment := xmlname.DirectiveEnd(s.buf(), p)
	switch {
	case end >= 0:
		return end
	case inComment:
		return s.more(p, "unterminated comment in <!...> declaration")
	}
	return s.more(p, "unterminated <!...> declaration")
}

var commentEnd = []byte("-->")

// pi scans a processing instruction <?target ...?>.
func (s *Splitter) pi(p int, inRec bool) int {
	buf := s.buf()
	i, _, _ := xmlname.ReadName(buf, p+2)
	if i == len(buf) {
		return s.more(p, "unexpected end of file in processing instruction")
	}
	target := buf[p+2 : i]
	if len(target) == 0 {
		return s.fail(p, "expected target name after <?")
	}
	if !s.validNames.Valid(target) {
		return s.fail(p+2, "invalid XML name %q", target)
	}
	if bytes.IndexByte(target, ':') >= 0 {
		return s.fail(p+2, "processing instruction target %q has a colon, which Namespaces 1.0 does not allow", target)
	}
	k := bytes.Index(buf[i:], piEnd)
	if k < 0 {
		return s.more(p, "unterminated processing instruction: <?%s has no ?>", target)
	}
	if k > 0 && !xmlname.IsSpace(buf[i]) {
		return s.fail(i, "expected white space or ?> after the processing instruction target %q", target)
	}
	if reservedTarget(target) {
		if string(target) != "xml" {
			return s.fail(p+2, "processing instruction target %q is reserved: names such as xml, XML and xMl belong to XML itself", target)
		}
		if r := s.xmlDecl(p, i, i+k, inRec); r != cont {
			return r
		}
	}
	if !inRec {
		if j, msg := scan.BadChar(buf[i : i+k]); j >= 0 {
			return s.fail(i+j, "%s in a processing instruction", msg)
		}
	}
	return i + k + 2
}

var piEnd = []byte("?>")

// emit completes the record ending at buffer index end.
func (s *Splitter) emit(end int) int {
	buf := s.buf()
	rec := buf[s.recStart:end]
	base := s.w.Base + int64(s.recStart)
	if i, msg := scan.BadChar(rec); i >= 0 {
		s.inRec = false
		return s.fail(s.recStart+i, "%s", msg)
	}
	if len(rec) > s.max {
		s.tooLarge(s.recStart, "record")
		return failed
	}
	if s.carryUsed {
		s.insert = s.usedInsertion(s.expanded(rec, base))
	}
	size := len(rec) + len(s.insert)
	for _, e := range s.edits {
		size += len(e.exp) - e.n
	}
	if size > s.max {
		s.tooLarge(s.recStart, "record (with its entities expanded and namespaces added)")
		return failed
	}
	out := s.slab.Alloc(size)
	n := copy(out, rec[:s.recNameEnd])
	n += copy(out[n:], s.insert)
	at := s.recNameEnd
	for _, e := range s.edits {
		o := int(e.off - base)
		n += copy(out[n:], rec[at:o])
		n += copy(out[n:], e.exp)
		at = o + e.n
	}
	copy(out[n:], rec[at:])
	s.out = Record{Data: out, Offset: base, Line: s.w.Line(base)}
	s.edits = s.edits[:0]
	if len(s.recNS) > 0 {
		s.recNS = s.recNS[:0]
		s.recGen++
	}
	s.inRec = false
	return gotRec
}
