package xmlsplit

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/sluicehq/sluice/sdk/xmlname/xmlnametest"
)

// splitAll runs the splitter over doc and returns the records' bytes.
func splitAll(t testing.TB, doc []byte, spec string, max int) ([]Record, error) {
	t.Helper()
	m, err := ParseMatch(spec)
	if err != nil {
		t.Fatalf("ParseMatch(%q): %v", spec, err)
	}
	s := New(bytes.NewReader(doc), Options{File: "doc.xml", Match: m, MaxRecordBytes: max, BufferSize: 1})
	var recs []Record
	for {
		r, err := s.Next()
		if err == io.EOF {
			return recs, nil
		}
		if err != nil {
			return recs, err
		}
		recs = append(recs, r)
	}
}

// canonical returns the token stream of a standalone document as strings:
// names resolved to namespace URIs, namespace declarations left out (they
// are what split adds), adjacent character data merged.
func canonical(doc []byte) ([]string, error) {
	d := xml.NewDecoder(bytes.NewReader(doc))
	var out []string
	depth := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			if depth != 0 {
				return nil, errors.New("unbalanced")
			}
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		out = appendCanon(out, tok)
		switch tok.(type) {
		case xml.StartElement:
			depth++
		case xml.EndElement:
			depth--
		}
	}
}

func appendCanon(out []string, tok xml.Token) []string {
	switch t := tok.(type) {
	case xml.StartElement:
		var b strings.Builder
		fmt.Fprintf(&b, "<{%s}%s", t.Name.Space, t.Name.Local)
		for _, a := range t.Attr {
			if a.Name.Space == "xmlns" || a.Name.Space == "" && a.Name.Local == "xmlns" {
				continue
			}
			fmt.Fprintf(&b, " {%s}%s=%q", a.Name.Space, a.Name.Local, a.Value)
		}
		return append(out, b.String())
	case xml.EndElement:
		return append(out, fmt.Sprintf("</{%s}%s>", t.Name.Space, t.Name.Local))
	case xml.CharData:
		if n := len(out); n > 0 && strings.HasPrefix(out[n-1], "T") {
			out[n-1] += string(t)
			return out
		}
		return append(out, "T"+string(t))
	case xml.Comment:
		return append(out, "C"+string(t))
	case xml.ProcInst:
		return append(out, "P"+t.Target+" "+string(t.Inst))
	case xml.Directive:
		return append(out, "D"+string(t))
	}
	return out
}

// refDTD is what the reference splitter is told of a document's DTD,
// which encoding/xml does not read: its entities as plain text, and the
// attribute defaults and tokenized (normalised) attributes of element
// names, for unprefixed attribute names only.
type refDTD struct {
	ents     map[string]string
	defaults map[string][][2]string // element -> (attribute, value)
	tokens   map[string][]string    // element -> attributes
}

// applyDTD adds the defaults of dtd to a start tag decoded by encoding/xml
// (raw is its name as written) and normalises its tokenized attributes,
// as XML 1.0 §3.3 has a parser do.
func (dtd *refDTD) apply(t xml.StartElement, raw xml.Name) xml.StartElement {
	if dtd == nil {
		return t
	}
	qname := raw.Local
	if raw.Space != "" {
		qname = raw.Space + ":" + raw.Local
	}
	t.Attr = append([]xml.Attr(nil), t.Attr...)
	for _, tok := range dtd.tokens[qname] {
		for i, a := range t.Attr {
			if a.Name.Space == "" && a.Name.Local == tok {
				t.Attr[i].Value = strings.Join(strings.Fields(a.Value), " ")
			}
		}
	}
next:
	for _, def := range dtd.defaults[qname] {
		for _, a := range t.Attr {
			if a.Name.Space == "" && a.Name.Local == def[0] {
				continue next
			}
		}
		t.Attr = append(t.Attr, xml.Attr{Name: xml.Name{Local: def[0]}, Value: def[1]})
	}
	return t
}

// refSplit is the reference splitter: it decodes the whole document with
// encoding/xml (with the entities and attribute defaults of dtd) and
// collects the canonical token stream of each outermost matching element.
// It also checks the rules encoding/xml leaves out (one root, no text
// outside it, and those of strictOK), reporting wellFormed false when they
// fail.
func refSplit(doc []byte, spec string, dtd *refDTD) (recs [][]string, wellFormed bool) {
	var ents map[string]string
	if dtd != nil {
		ents = dtd.ents
	}
	m, err := ParseMatch(spec)
	if err != nil {
		panic(err)
	}
	d := xml.NewDecoder(bytes.NewReader(doc))
	d.Entity = ents
	raw := xml.NewDecoder(bytes.NewReader(doc))
	raw.Entity = ents
	var path []bool // per open element: whether it satisfies the anchored steps so far
	depth, recDepth := 0, -1
	roots := 0
	var cur []string
	prev := int64(0)
	for {
		tok, err := d.Token()
		rtok, _ := raw.RawToken()
		if err == io.EOF {
			return recs, roots == 1 && depth == 0 && strictOK(doc, ents)
		}
		if err != nil {
			return nil, false
		}
		off := d.InputOffset()
		rawText := doc[prev:off]
		prev = off
		switch t := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				roots++
				if roots > 1 {
					return nil, false
				}
			}
			rname := rtok.(xml.StartElement).Name
			tok = dtd.apply(t, rname)
			if recDepth < 0 {
				prefix := rname.Space // RawToken leaves the prefix as written
				ok := func(st step) bool {
					if t.Name.Local != st.local {
						return false
					}
					switch st.kind {
					case byQName:
						return prefix == st.prefix
					case byURI:
						return t.Name.Space == st.uri
					}
					return true
				}
				var isRec bool
				if m.anchored {
					isRec = depth == len(m.steps)-1 && (depth == 0 || path[depth-1]) && ok(m.steps[depth])
					path = append(path, depth < len(m.steps)-1 && (depth == 0 || path[depth-1]) && ok(m.steps[depth]))
				} else {
					isRec = ok(m.steps[0])
					path = append(path, false)
				}
				if isRec {
					recDepth = depth
					cur = nil
				}
			} else {
				path = append(path, false)
			}
			depth++
		case xml.EndElement:
			depth--
			path = path[:depth]
		case xml.CharData:
			if depth == 0 && notSpace(rawText) >= 0 && !(prev == int64(len(rawText)) && bytes.HasPrefix(rawText, []byte("\uFEFF")) && notSpace(rawText[3:]) < 0) {
				return nil, false
			}
		}
		if recDepth >= 0 {
			cur = appendCanon(cur, tok)
			if _, end := tok.(xml.EndElement); end && depth == recDepth {
				recs = append(recs, cur)
				recDepth = -1
			}
		}
	}
}

// checkAgainstReference splits doc and compares with refSplit. It fails
// when the splitter errs on a well-formed document, when a record does
// not parse standalone, or when the records differ.
//
// Without dtd, a document with an internal subset is compared only when it
// declares no attributes, and a DOCTYPE the splitter finds malformed is
// not held against it (encoding/xml does not read DTDs, and accepts a
// second DOCTYPE).
func checkAgainstReference(t *testing.T, doc []byte, spec string, dtd *refDTD) {
	t.Helper()
	want, wellFormed := refSplit(doc, spec, dtd)
	if dtd == nil && bytes.Contains(doc, []byte("<!ATTLIST")) {
		wellFormed = false
	}
	recs, err := splitAll(t, doc, spec, 1<<20)
	if err != nil {
		if wellFormed && !strings.Contains(err.Error(), "DOCTYPE") {
			t.Fatalf("split %q: %v\ndocument:\n%s", spec, err, doc)
		}
		return
	}
	var got [][]string
	for _, r := range recs {
		c, err := canonical(r.Data)
		if err != nil && xmlnametest.EditionsDiffer(r.Data) {
			return // a name of the fifth edition, which encoding/xml does not know
		}
		if err != nil {
			t.Fatalf("record at line %d does not parse standalone: %v\nrecord: %s\ndocument:\n%s", r.Line, err, r.Data, doc)
		}
		if !bytes.HasPrefix(doc[r.Offset:], r.Data[:min(2, len(r.Data))]) {
			t.Fatalf("record offset %d does not point at its start tag", r.Offset)
		}
		// XML 1.0 §2.11: LF, CRLF and a lone CR each end a line.
		before := doc[:r.Offset]
		if line := int64(bytes.Count(before, []byte("\n"))+bytes.Count(before, []byte("\r"))-bytes.Count(before, []byte("\r\n"))) + 1; line != r.Line {
			t.Fatalf("record at offset %d: line %d, want %d", r.Offset, r.Line, line)
		}
		got = append(got, c)
	}
	if wellFormed {
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("split %q: records differ from the reference (-want +got):\n%s\ndocument:\n%s", spec, diff, doc)
		}
	}
}

// gen writes random documents that use every construct the splitter must
// handle, and the entity values the reference decoder needs.
type gen struct {
	r    *rand.Rand
	b    strings.Builder
	ents map[string]string
	dtd  *refDTD
}

var (
	genNames  = []string{"record", "record", "records", "recordX", "item", "p:record", "q:item", "a", "p:b", "_x"}
	genSpecs  = []string{"record", "p:record", "{urn:p}record", "{urn:p2}record", "{}record", "catalog/record", "catalog/item/record", "/catalog", "item"}
	genTexts  = []string{"plain", " spaced  out ", "a > b", "x &amp; y", "&lt;record&gt;", "&#60;record/&#62;", "&#x1F600; smile", "]] ]>", "]]", "tab\tnew\nline", "crlf\r\nline", "é ü ✓", ""}
	genAttrs  = []string{"1", "a>b", "&lt;record&gt;", `it's`, "x&amp;y", "&#34;q&#34;", "", "record/>"}
	genCDATA  = []string{"<record>", "]]", "]", "]>", "a]]b", "]]]", "<![CDATA[", "&amp;", "<!-- x -->"}
	genComms  = []string{" <record> ", " a > b ", " - ", " <!DOCTYPE x> ", "", " ]]> "}
	genPIs    = []string{"<?pi a > b?>", "<?target?>", "<?x-y <record/> ?>"}
	genSpaces = []string{" ", "\n  ", "\t", "\r\n "}
)

func (g *gen) pick(s []string) string { return s[g.r.IntN(len(s))] }

func (g *gen) doc() ([]byte, *refDTD) {
	g.b.Reset()
	g.ents = map[string]string{}
	g.dtd = &refDTD{ents: g.ents}
	if g.r.IntN(8) == 0 {
		g.b.WriteString("\uFEFF")
	}
	if g.r.IntN(2) == 0 {
		g.b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	}
	if g.r.IntN(2) == 0 {
		g.ents["e1"] = "Acme Co"
		g.ents["e2"] = "x > y"
		g.ents["e3"] = "[Acme Co]"
		g.b.WriteString("<!DOCTYPE catalog [\n  <!ENTITY e1 \"Acme Co\">\n  <!-- a comment with > and <record> -->\n" +
			"  <!ENTITY e2 'x > y'>\n  <!ATTLIST item note CDATA \"a > b\">\n  <?pi in subset?>\n  <!ENTITY e3 \"[&e1;]\">\n" +
			"  <!ATTLIST record at1 NMTOKENS #IMPLIED kind (x|y) ' y '>\n  <!ATTLIST item note CDATA 'ignored' at0 ID #IMPLIED>\n]>\n")
		g.dtd.defaults = map[string][][2]string{"item": {{"note", "a > b"}}, "record": {{"kind", "y"}}}
		g.dtd.tokens = map[string][]string{"record": {"at1", "kind"}, "item": {"at0"}}
	}
	if g.r.IntN(2) == 0 {
		g.b.WriteString("<!--" + g.pick(genComms) + "-->\n")
	}
	root := "catalog"
	g.b.WriteString("<" + root)
	// The prefixes the generated names use are declared on the root (and
	// maybe redeclared below), as Namespaces 1.0 requires.
	g.b.WriteString(g.pick(genSpaces) + g.pick([]string{`xmlns:p="urn:p"`, `xmlns:p='urn:p2'`}))
	g.b.WriteString(g.pick(genSpaces) + g.pick([]string{`xmlns:q="urn:q"`, `xmlns:q="urn:q&amp;x"`}))
	if g.r.IntN(3) == 0 {
		g.b.WriteString(g.pick([]string{` xmlns="urn:d"`, ` xmlns=""`}))
	}
	g.b.WriteString(">")
	g.children(0)
	g.b.WriteString("</" + root + ">")
	if g.r.IntN(2) == 0 {
		g.b.WriteString("\n<!-- end -->\n")
	}
	return []byte(g.b.String()), g.dtd
}

// nsDecls writes namespace declarations, each prefix at most once.
func (g *gen) nsDecls() {
	if g.r.IntN(3) == 0 {
		g.b.WriteString(g.pick(genSpaces) + g.pick([]string{`xmlns:p="urn:p"`, `xmlns:p='urn:p2'`}))
	}
	if g.r.IntN(3) == 0 {
		g.b.WriteString(g.pick([]string{` xmlns="urn:d"`, ` xmlns=""`}))
	}
	if g.r.IntN(5) == 0 {
		g.b.WriteString(` xmlns:q="urn:q&amp;x"`)
	}
}

func (g *gen) text() string {
	t := g.pick(genTexts)
	if len(g.ents) > 0 && g.r.IntN(4) == 0 {
		t += "&" + g.pick([]string{"e1", "e2", "e3"}) + ";"
	}
	return t
}

func (g *gen) children(depth int) {
	n := g.r.IntN(5)
	for i := 0; i < n; i++ {
		switch k := g.r.IntN(10); {
		case k < 5 && depth < 5:
			g.element(depth)
		case k == 5:
			g.b.WriteString("<!--" + g.pick(genComms) + "-->")
		case k == 6:
			g.b.WriteString("<![CDATA[" + g.pick(genCDATA) + "]]>")
		case k == 7:
			g.b.WriteString(g.pick(genPIs))
		default:
			g.b.WriteString(g.text())
		}
	}
}

func (g *gen) element(depth int) {
	name := g.pick(genNames)
	g.b.WriteString("<" + name)
	if g.r.IntN(3) == 0 {
		g.nsDecls()
	}
	for j, n := 0, g.r.IntN(3); j < n; j++ {
		v := g.pick(genAttrs)
		if len(g.ents) > 0 && g.r.IntN(5) == 0 {
			v += "&e" + fmt.Sprint(1+g.r.IntN(3)) + ";"
		}
		q := `"`
		if strings.Contains(v, `"`) || g.r.IntN(2) == 0 && !strings.Contains(v, "'") {
			q = "'"
		}
		fmt.Fprintf(&g.b, "%sat%d%s=%s%s%s%s", g.pick(genSpaces), j, g.pick([]string{"", " "}), g.pick([]string{"", "\n"}), q, v, q)
	}
	if g.r.IntN(5) == 0 {
		g.b.WriteString(g.pick([]string{"/>", " />", "\n/>"}))
		return
	}
	g.b.WriteString(g.pick([]string{">", " >", "\n>"}))
	g.children(depth + 1)
	g.b.WriteString("</" + name + g.pick([]string{">", " >", "\n>"}))
}

func TestAgainstReference(t *testing.T) {
	g := &gen{r: rand.New(rand.NewPCG(1, 2))}
	n := 3000
	if testing.Short() {
		n = 300
	}
	for i := 0; i < n; i++ {
		doc, dtd := g.doc()
		spec := genSpecs[i%len(genSpecs)]
		if _, ok := refSplit(doc, spec, dtd); !ok {
			t.Fatalf("generator made a document the reference rejects:\n%s", doc)
		}
		checkAgainstReference(t, doc, spec, dtd)
	}
}

// TestReferenceFindsRecords guards the oracle itself: on a fixed document
// it must find what a person reads there.
func TestReferenceFindsRecords(t *testing.T) {
	doc := []byte(`<catalog xmlns:p="urn:p"><record id="1"/><item><record>x</record></item><p:record/><records/></catalog>`)
	for _, tc := range []struct {
		spec string
		want int
	}{{"record", 3}, {"p:record", 1}, {"{urn:p}record", 1}, {"catalog/record", 2}, {"catalog/item/record", 1}, {"/catalog", 1}, {"{}record", 2}} {
		got, ok := refSplit(doc, tc.spec, nil)
		if !ok || len(got) != tc.want {
			t.Errorf("refSplit(%q) = %d records (well-formed %v), want %d", tc.spec, len(got), ok, tc.want)
		}
		checkAgainstReference(t, doc, tc.spec, nil)
	}
}
