package xmlsplit

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
	"github.com/sluicehq/sluice/stages/split/internal/scan"
)

type xmlCase struct {
	name string
	doc  string
	spec string   // "" means "record"
	want []string // records, exactly
	err  string   // if set: the error must contain it ("doc.xml:L:C: ...")
}

var xmlCases = []xmlCase{
	{name: "simple", doc: "<c><record>a</record><record>b</record></c>",
		want: []string{"<record>a</record>", "<record>b</record>"}},
	{name: "declaration and whitespace", doc: "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<c>\n  <record\n   id = '1'\n  >x</record >\n</c>\n",
		want: []string{"<record\n   id = '1'\n  >x</record >"}},
	{name: "us-ascii declared", doc: `<?xml version="1.0" encoding="US-ASCII"?><c><record/></c>`, want: []string{"<record/>"}},
	{name: "bom", doc: "\uFEFF<c><record/></c>", want: []string{"<record/>"}},
	{name: "self-closing", doc: "<c><record/><record a=\"1\" /></c>", want: []string{"<record/>", `<record a="1" />`}},
	{name: "records and recordX do not match", doc: "<c><records><recordX/></records><record/><recordx/></c>", want: []string{"<record/>"}},
	{name: "outermost only", doc: "<c><record><record>in</record></record></c>", want: []string{"<record><record>in</record></record>"}},
	{name: "root is the record", doc: "<record><a/></record>", want: []string{"<record><a/></record>"}},
	{name: "comment with markup", doc: "<c><!-- <record> a > b --><record><!-- </record> --></record></c>",
		want: []string{"<record><!-- </record> --></record>"}},
	{name: "cdata", doc: "<c><![CDATA[<record>]]><record><![CDATA[</record> ]] ]> ]]]]><![CDATA[]]></record></c>",
		want: []string{"<record><![CDATA[</record> ]] ]> ]]]]><![CDATA[]]></record>"}},
	{name: "processing instructions", doc: "<?style a > b?><c><?pi <record>?><record><?x ?>?></record></c>",
		want: []string{"<record><?x ?>?></record>"}},
	{name: "attribute values with > and markup text", doc: `<c a="<record>"/>`, err: "doc.xml:1:7: unescaped < inside the value of attribute a"},
	{name: "attribute values with >", doc: `<c><record a="x>y" b='</record>' c='&lt;record&gt;'>t</record></c>`, err: "doc.xml:1:23: unescaped < inside the value of attribute b"},
	{name: "attribute quotes", doc: `<c><record a="it's >" b='say "hi" >'>t</record></c>`,
		want: []string{`<record a="it's >" b='say "hi" >'>t</record>`}},
	{name: "doctype internal subset", doc: "<!DOCTYPE c [\n<!ENTITY co \"A > B\">\n<!-- ] > -->\n<!ATTLIST c x CDATA '>'>\n]>\n<c><record>&co;&amp;&#65;&#x42;</record></c>",
		want: []string{"<record>A > B&amp;&#65;&#x42;</record>"}},
	{name: "entity nested and in attribute", doc: `<!DOCTYPE c [<!ENTITY a "x"><!ENTITY b "[&a;&amp;]"><!ENTITY q 'say "hi"'>]><c><record t="&b;" u="&q;">&b;</record></c>`,
		want: []string{`<record t="[x&amp;]" u="say &quot;hi&quot;">[x&amp;]</record>`}},
	{name: "entity with markup", doc: `<!DOCTYPE c [<!ENTITY m "<b>bold</b> &#38;amp;">]><c><record>&m;</record></c>`,
		want: []string{`<record><b>bold</b> &amp;</record>`}},
	{name: "entity with unbalanced markup", doc: `<!DOCTYPE c [<!ENTITY m "<b>">]><c><record>&m;</record></c>`, err: "entity &m;"},
	{name: "entity with < in attribute", doc: `<!DOCTYPE c [<!ENTITY m "<b/>">]><c><record a="&m;"/></c>`, err: "doc.xml:1:48: in the text of entity &m;: < is not allowed"},
	{name: "undeclared entity", doc: "<c>\n<record>&nope;</record></c>", err: "doc.xml:2:9: undeclared entity &nope;"},
	{name: "undeclared entity between records", doc: "<c>\n&nope;<record/></c>", err: "doc.xml:2:1: undeclared entity &nope;"},
	{name: "entity between records", doc: "<!DOCTYPE c [<!ENTITY e 'x'>]><c>&e;&amp;&#38;<record/></c>", want: []string{"<record/>"}},
	{name: "entity between records, external DTD", doc: "<!DOCTYPE c SYSTEM 'c.dtd'><c>&e;<record/></c>", want: []string{"<record/>"}},
	{name: "bad reference between records", doc: "<c>a & b<record/></c>", err: "doc.xml:1:6: & must start a reference"},
	{name: "control character between records", doc: "<c><record/>\x01<record/></c>", err: "doc.xml:1:13: illegal character code U+0001"},
	{name: "cdata end between records", doc: "<c>]]><record/></c>", err: "doc.xml:1:4: ]]> is not allowed in text"},
	{name: "control character in cdata between records", doc: "<c><![CDATA[\x01]]><record/></c>", err: "doc.xml:1:13: illegal character code U+0001"},
	{name: "external entity", doc: `<!DOCTYPE c [<!ENTITY x SYSTEM "x.txt">]><c><record>&x;</record></c>`, err: "entity &x; is external (SYSTEM or PUBLIC), which split does not support"},
	{name: "recursive entity", doc: `<!DOCTYPE c [<!ENTITY a "&b;"><!ENTITY b "&a;">]><c><record>&a;</record></c>`, err: "refers to itself"},
	{name: "billion laughs", doc: laughs, spec: "record", err: "larger than max_record_bytes"},
	{name: "bad references", doc: "<c><record>a & b</record></c>", err: "doc.xml:1:14: & must start a reference"},
	{name: "no semicolon", doc: "<c><record>&amp</record></c>", err: "has no closing ;"},
	{name: "bad char ref", doc: "<c><record>&#0;</record></c>", err: "invalid character reference &#0;"},
	{name: "namespace by uri", doc: `<c xmlns:a="urn:x" xmlns:b="urn:y"><a:record/><b:record/><record xmlns="urn:x"/></c>`,
		spec: "{urn:x}record", want: []string{`<a:record xmlns:a="urn:x" xmlns:b="urn:y"/>`, `<record xmlns:a="urn:x" xmlns:b="urn:y" xmlns="urn:x"/>`}},
	{name: "no namespace", doc: `<c xmlns:a="urn:x"><a:record/><record/></c>`, spec: "{}record", want: []string{`<record xmlns:a="urn:x"/>`}},
	{name: "uri with slashes in path", doc: `<c xmlns:a="http://e.com/ns"><a:record/></c>`, spec: "c/{http://e.com/ns}record", want: []string{`<a:record xmlns:a="http://e.com/ns"/>`}},
	{name: "path", doc: "<c><record>1</record><g><record>2</record></g></c>", spec: "c/g/record", want: []string{"<record>2</record>"}},
	{name: "root path", doc: "<c><record/></c>", spec: "/c", want: []string{"<c><record/></c>"}},
	{name: "path does not match elsewhere", doc: "<c><x><g><record/></g></x></c>", spec: "c/g/record"},
	{name: "mismatched end tag", doc: "<c>\n<record><a></b></record></c>", err: "doc.xml:2:12: expected </a>, found </b>"},
	{name: "mismatched end tag outside records", doc: "<c><g></c>", err: "doc.xml:1:7: expected </g>, found </c>"},
	{name: "content after root", doc: "<c/><d/>", err: "doc.xml:1:5: element after the root element"},
	{name: "text after root", doc: "<c/>\nx", err: "doc.xml:2:1: text after the root element"},
	{name: "text before root", doc: "x<c/>", err: "doc.xml:1:1: text before the root element"},
	{name: "no root", doc: "<!-- only -->", err: "no root element"},
	{name: "empty file", doc: "", err: "no root element"},
	{name: "unterminated comment", doc: "<c><record><!-- x </record></c>", err: "doc.xml:1:12: unterminated comment"},
	{name: "unterminated cdata", doc: "<c><record><![CDATA[ x", err: "doc.xml:1:12: unterminated CDATA section"},
	{name: "unterminated tag", doc: "<c><record a='1'", err: "doc.xml:1:4: unexpected end of file in start tag"},
	{name: "truncated record", doc: "<c><record><a>text", err: "doc.xml:1:19: unexpected end of file: expected </a>"},
	{name: "truncated after record", doc: "<c><record/>", err: "expected </c>"},
	{name: "double dash in comment", doc: "<c><record><!-- a -- b --></record></c>", err: `"--" is not allowed inside a comment`},
	{name: "cdata end in text", doc: "<c><record>a]]>b</record></c>", err: "]]> is not allowed in text"},
	{name: "invalid name", doc: "<c><record><1a/></record></c>", err: `doc.xml:1:13: invalid XML element name "1a"`},
	{name: "no name", doc: "<c><record>< a/></record></c>", err: "doc.xml:1:13: expected element name after <"},
	{name: "two colons", doc: "<c><record><a:b:c/></record></c>", err: "invalid XML element name"},
	{name: "attribute without value", doc: "<c><record checked></record></c>", err: "attribute checked has no value"},
	{name: "unquoted attribute", doc: "<c><record a=1></record></c>", err: "unquoted or missing value of attribute a"},
	{name: "control character", doc: "<c><record>a\x01b</record></c>", err: "doc.xml:1:13: illegal character code U+0001"},
	{name: "invalid utf-8", doc: "<c><record>a\xffb</record></c>", err: "invalid UTF-8"},
	{name: "invalid utf-8 in comment", doc: "<c><record><!-- \xff --></record></c>", err: "doc.xml:1:17: invalid UTF-8"},
	{name: "latin-1 declared", doc: `<?xml version="1.0" encoding="ISO-8859-1"?><c/>`, err: "iconv -f ISO-8859-1 -t UTF-8"},
	{name: "utf-16", doc: "\xff\xfe<\x00c\x00/\x00>\x00", err: "UTF-16"},
	{name: "directive inside record", doc: "<c><record><!DOCTYPE x [<!ENTITY y '>'>]></record></c>", err: "doc.xml:1:12: markup declaration <!DOCTYPE is not allowed inside an element"},
	{name: "directive between records", doc: "<c><!ELEMENT c ANY><record/></c>", err: "doc.xml:1:4: markup declaration"},
	// XML 1.0 fifth edition and Namespaces 1.0, beyond encoding/xml.
	{name: "xml declaration case", doc: `<?xml VERSION="1.0"?><c/>`, err: `doc.xml:1:1: malformed XML declaration: unexpected "VERSION=\"1.0\""`},
	{name: "xml declaration order", doc: `<?xml encoding="UTF-8" version="1.0"?><c/>`, err: "the version must come first"},
	{name: "xml declaration spaces", doc: `<?xml version="1.0"encoding="UTF-8"?><c/>`, err: "expected white space before"},
	{name: "xml declaration standalone", doc: `<?xml version="1.0" standalone="YES"?><c/>`, err: `standalone "YES" must be "yes" or "no"`},
	{name: "xml declaration version", doc: `<?xml version="1.0 "?><c/>`, err: `version "1.0 " is not 1.0`},
	{name: "xml declaration valid", doc: "<?xml version='1.1' encoding = 'utf-8' standalone='no' ?><c><record/></c>", want: []string{"<record/>"}},
	{name: "xml declaration not first", doc: "\n<?xml version=\"1.0\"?><c/>", err: "doc.xml:2:1: an XML declaration <?xml ...?> may only stand at the very start"},
	{name: "xml declaration after bom", doc: "\uFEFF<?xml version=\"1.0\"?><c><record/></c>", want: []string{"<record/>"}},
	{name: "xml declaration in record", doc: "<c><record><?xml version=\"1.0\"?></record></c>", err: "doc.xml:1:12: an XML declaration"},
	{name: "reserved target", doc: "<c><record><?xmL?></record></c>", err: `doc.xml:1:14: processing instruction target "xmL" is reserved`},
	{name: "reserved target outside", doc: "<?XML version=\"1.0\"?><c/>", err: `target "XML" is reserved`},
	{name: "target with colon", doc: "<?a:b x?><c/>", err: `target "a:b" has a colon`},
	{name: "target then no space", doc: "<?pi+++?><c/>", err: "doc.xml:1:5: expected white space or ?>"},
	{name: "malformed encoding name", doc: `<?xml version="1.0" encoding=" UTF-8"?><c/>`, err: `encoding name " UTF-8" is malformed`},
	{name: "control character in prolog comment", doc: "<!-- \x0c --><c/>", err: "doc.xml:1:6: illegal character code U+000C in a comment"},
	{name: "noncharacter in prolog pi", doc: "<?pi \uFFFF?><c/>", err: "in a processing instruction"},
	{name: "form feed in a comment in a record", doc: "<c><record><!-- \x0c --></record></c>", err: "doc.xml:1:17: illegal character code U+000C"},
	{name: "cdata before root", doc: "<![CDATA[]]><c/>", err: "doc.xml:1:1: a CDATA section may not stand outside the root element"},
	{name: "cdata after root", doc: "<c/>\n<![CDATA[]]>", err: "doc.xml:2:1: a CDATA section may not stand outside"},
	{name: "doctype after root", doc: "<c/><!DOCTYPE c>", err: "DOCTYPE declaration after the root element"},
	{name: "second doctype", doc: "<!DOCTYPE c><!DOCTYPE c><c/>", err: "doc.xml:1:13: a second DOCTYPE declaration"},
	{name: "doctype keyword case", doc: "<!DOCtYPE c><c/>", err: "only a DOCTYPE declaration"},
	{name: "doctype name", doc: "<!DOCTYPE 0><A/>", err: `doc.xml:1:11: malformed DOCTYPE: expected the document type name, found "0><A/>"`},
	{name: "doctype without name", doc: `<!DOCTYPE SYSTEM "c.dtd"><c/>`, err: `doc.xml:1:18: malformed DOCTYPE: expected > or [ after the document type name, found "\"c.dtd\"><c/>"`},
	{name: "doctype external id", doc: `<!DOCTYPE c PUBLIC "-//x//y" "c.dtd" [<!ENTITY e "x">]><c><record>&e;</record></c>`, want: []string{"<record>x</record>"}},
	{name: "repeated attribute below the root", doc: `<c><record><a x="1" y="2" x="3"/></record></c>`, err: "doc.xml:1:27: attribute x is repeated in element <a>"},
	{name: "repeated attribute outside records", doc: `<c x="1" x="2"><record/></c>`, err: "attribute x is repeated"},
	{name: "no space between attributes", doc: `<c><record a="1"b="2"/></c>`, err: "doc.xml:1:17: expected white space between the attributes of element <record>"},
	{name: "surrogate character reference", doc: "<c><record>&#xD800;</record></c>", err: "invalid character reference &#xD800;"},
	{name: "unbound element prefix in a record", doc: "<c><record><foo:bar/></record></c>", err: "doc.xml:1:13: element <foo:bar>: undeclared namespace prefix foo"},
	{name: "unbound attribute prefix", doc: `<c><record a:b="1"/></c>`, err: "attribute a:b: undeclared namespace prefix a"},
	{name: "prefix declared in the record", doc: `<c><record xmlns:p="urn:p"><p:x p:y="1"/><y xmlns:q="urn:q" q:z="2"/></record></c>`, want: []string{`<record xmlns:p="urn:p"><p:x p:y="1"/><y xmlns:q="urn:q" q:z="2"/></record>`}},
	{name: "prefix out of scope", doc: `<c><record><y xmlns:q="urn:q"/><q:z/></record></c>`, err: "undeclared namespace prefix q"},
	{name: "xml prefix rebound", doc: `<c xmlns:xml="urn:x"/>`, err: "the prefix xml is bound to"},
	{name: "xml prefix declared right", doc: `<c xmlns:xml="http://www.w3.org/XML/1998/namespace"><record xml:lang="en"/></c>`, want: []string{`<record xmlns:xml="http://www.w3.org/XML/1998/namespace" xml:lang="en"/>`}},
	{name: "xmlns prefix declared", doc: `<c><record xmlns:xmlns="urn:x"/></c>`, err: "the prefix xmlns may not be declared"},
	{name: "xmlns element prefix", doc: `<c><xmlns:record/></c>`, err: "the prefix xmlns is reserved"},
	{name: "prefix undeclared", doc: `<c xmlns:p=""/>`, err: `xmlns:p="" is not allowed in Namespaces 1.0`},
	{name: "colon at the end", doc: `<c><record><foo: /></record></c>`, err: "needs a prefix and a local part"},
	{name: "empty prefix declared", doc: `<c xmlns:="urn:x"/>`, err: "needs a prefix and a local part"},
	{name: "same expanded name", doc: `<c xmlns:a="urn:x" xmlns:b="urn:x"><record a:z="1" b:z="2"/></c>`, err: "attribute b:z repeats the name {urn:x}z"},
	{name: "utf-16 without bom", doc: "<\x00c\x00/\x00>\x00", err: "doc.xml:1:1: the file looks UTF-16 encoded (little-endian, no byte order mark); split reads UTF-8: convert it first, e.g. iconv -f UTF-16LE -t UTF-8 in > out"},
	{name: "non-ascii names", doc: "<c><record><été>x</été></record></c>", want: []string{"<record><été>x</été></record>"}},
	{name: "too large", doc: "<c><record>" + strings.Repeat("x", 200) + "</record></c>", err: "doc.xml:1:4: record starting here is larger than max_record_bytes"},
}

const laughs = `<!DOCTYPE c [
<!ENTITY l "lollollollollollollollollollol">
<!ENTITY l1 "&l;&l;&l;&l;&l;&l;&l;&l;&l;&l;">
<!ENTITY l2 "&l1;&l1;&l1;&l1;&l1;&l1;&l1;&l1;&l1;&l1;">
<!ENTITY l3 "&l2;&l2;&l2;&l2;&l2;&l2;&l2;&l2;&l2;&l2;">
<!ENTITY l4 "&l3;&l3;&l3;&l3;&l3;&l3;&l3;&l3;&l3;&l3;">
<!ENTITY l5 "&l4;&l4;&l4;&l4;&l4;&l4;&l4;&l4;&l4;&l4;">
<!ENTITY l6 "&l5;&l5;&l5;&l5;&l5;&l5;&l5;&l5;&l5;&l5;">
<!ENTITY l7 "&l6;&l6;&l6;&l6;&l6;&l6;&l6;&l6;&l6;&l6;">
<!ENTITY l8 "&l7;&l7;&l7;&l7;&l7;&l7;&l7;&l7;&l7;&l7;">
<!ENTITY l9 "&l8;&l8;&l8;&l8;&l8;&l8;&l8;&l8;&l8;&l8;">
]><c><record>&l9;</record></c>`

func TestSplit(t *testing.T) {
	for _, tc := range xmlCases {
		t.Run(tc.name, func(t *testing.T) {
			max := 1 << 20
			if tc.name == "too large" {
				max = 100
			}
			runCase(t, tc, max)
		})
	}
}

func TestNamespaceCarryOver(t *testing.T) {
	doc := `<c xmlns="urn:d" xmlns:p="urn:p"><g xmlns:p="urn:p2" xmlns:q='urn:q'><p:record xmlns:q="urn:own" a="1"/></g></c>`
	recs, err := splitAll(t, []byte(doc), "p:record", 0)
	if err != nil {
		t.Fatal(err)
	}
	// Ancestors' declarations come first, in document order of the one
	// in scope (the innermost for p), except those the record redeclares.
	want := `<p:record xmlns="urn:d" xmlns:p="urn:p2" xmlns:q="urn:own" a="1"/>`
	if len(recs) != 1 || string(recs[0].Data) != want {
		t.Fatalf("got %v, want %q", recs, want)
	}
}

func TestPositions(t *testing.T) {
	doc := "<c>\r\n  <record/>\n\n<x><record>\n</record></x>\n   <record\n/></c>"
	recs, err := splitAll(t, []byte(doc), "record", 0)
	if err != nil {
		t.Fatal(err)
	}
	var got [][2]int64
	for _, r := range recs {
		got = append(got, [2]int64{r.Line, r.Offset})
	}
	want := [][2]int64{{2, int64(strings.Index(doc, "<record/>"))}, {4, int64(strings.Index(doc, "<record>"))}, {6, int64(strings.LastIndex(doc, "<record"))}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(line, offset) (-want +got):\n%s", diff)
	}
}

// TestSmallReads feeds the input one byte per Read, so every construct is
// cut at every possible point.
func TestSmallReads(t *testing.T) {
	for _, tc := range xmlCases {
		if tc.err != "" {
			continue
		}
		spec := tc.spec
		if spec == "" {
			spec = "record"
		}
		m, _ := ParseMatch(spec)
		whole, err := splitAll(t, []byte(tc.doc), spec, 0)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		s := New(iotest.OneByteReader(strings.NewReader(tc.doc)), Options{File: "doc.xml", Match: m, BufferSize: 1})
		var got []Record
		for {
			r, err := s.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			got = append(got, r)
		}
		if diff := cmp.Diff(whole, got); diff != "" {
			t.Errorf("%s: one-byte reads differ (-whole +got):\n%s", tc.name, diff)
		}
	}
}

func TestReadError(t *testing.T) {
	boom := errors.New("disk on fire")
	m, _ := ParseMatch("record")
	r := io.MultiReader(strings.NewReader("<c><record/>"), iotest.ErrReader(boom))
	s := New(r, Options{File: "doc.xml", Match: m})
	var err error
	for err == nil {
		_, err = s.Next()
	}
	if !errors.Is(err, boom) {
		t.Fatalf("error = %v, want %v", err, boom)
	}
	if _, again := s.Next(); again != err {
		t.Fatalf("second Next = %v, want the same error", again)
	}
}

func TestTooLargeIsErrTooLarge(t *testing.T) {
	_, err := splitAll(t, []byte("<c><record>"+strings.Repeat("x", 1000)+"</record></c>"), "record", 100)
	if !errors.Is(err, scan.ErrTooLarge) {
		t.Fatalf("error = %v, want ErrTooLarge", err)
	}
	var e *scan.Error
	if !errors.As(err, &e) || e.Line != 1 || e.Col != 4 {
		t.Fatalf("error = %#v, want a scan.Error at 1:4", err)
	}
}

func TestParseMatch(t *testing.T) {
	for _, tc := range []struct {
		spec string
		err  string
	}{
		{"record", ""}, {"p:record", ""}, {"{urn:x}record", ""}, {"a/b/record", ""}, {"/record", ""},
		{"{http://x.org/a/b}record", ""}, {"a/{http://x.org/a}b/c", ""},
		{"", "empty"}, {"a//b", "empty step"}, {"a/", "ends with /"}, {"{urn:x record", "not closed"},
		{"1record", "not a valid XML element name"}, {"a:b:c", "not a valid"}, {"{u}p:x", "not a valid local name"},
		{"rec ord", "not a valid"},
	} {
		_, err := ParseMatch(tc.spec)
		if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("ParseMatch(%q) = %v, want error containing %q", tc.spec, err, tc.err)
		}
	}
}

func ExampleSplitter() {
	m, err := ParseMatch("record")
	if err != nil {
		panic(err)
	}
	doc := `<catalog xmlns:p="urn:p">
  <record id="1"><p:x/></record>
  <record id="2"/>
</catalog>`
	s := New(strings.NewReader(doc), Options{File: "catalog.xml", Match: m})
	for {
		r, err := s.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("line %d, byte %d: %s\n", r.Line, r.Offset, r.Data)
	}
	// Output:
	// line 2, byte 28: <record xmlns:p="urn:p" id="1"><p:x/></record>
	// line 3, byte 61: <record xmlns:p="urn:p" id="2"/>
}

// TestLargeRecords checks records much larger than the initial window,
// between small ones, so the window grows and slides.
func TestLargeRecords(t *testing.T) {
	big := "<record><t>" + strings.Repeat("0123456789 &amp; ", 100000) + "</t></record>"
	doc := "<c>\n<record>small</record>\n" + big + "\n<record>after</record></c>"
	recs, err := splitAll(t, []byte(doc), "record", 4<<20)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 || string(recs[1].Data) != big || string(recs[2].Data) != "<record>after</record>" || recs[2].Line != 4 {
		t.Fatalf("got %d records; the large one intact: %v", len(recs), len(recs) > 1 && string(recs[1].Data) == big)
	}
}

// TestManyAttributes: a start tag with 100,000 attributes is checked for
// repeats in linear time (a quadratic check would take minutes here), and
// a repeat at the very end is still found.
func TestManyAttributes(t *testing.T) {
	var b strings.Builder
	b.WriteString("<c><record")
	for i := range 100000 {
		fmt.Fprintf(&b, " a%d=\"\"", i)
	}
	tag := b.String()
	recs, err := splitAll(t, []byte(tag+"/></c>"), "record", 0)
	if err != nil || len(recs) != 1 {
		t.Fatalf("got %d records, %v", len(recs), err)
	}
	_, err = splitAll(t, []byte(tag+` a17=""/></c>`), "record", 0)
	if err == nil || !strings.Contains(err.Error(), "attribute a17 is repeated") {
		t.Fatalf("error = %v, want attribute a17 is repeated", err)
	}
}

// TestManyPrefixedAttributes: the check that no two attributes share an
// expanded name stays linear with 100,000 prefixed attributes (it compared
// each with every earlier one), and finds a repeat through another prefix
// bound to the same namespace.
func TestManyPrefixedAttributes(t *testing.T) {
	var b strings.Builder
	b.WriteString(`<c xmlns:p="urn:x" xmlns:q="urn:x"><record`)
	for i := range 100000 {
		fmt.Fprintf(&b, " p:a%d=\"\"", i)
	}
	tag := b.String()
	recs, err := splitAll(t, []byte(tag+"/></c>"), "record", 0)
	if err != nil || len(recs) != 1 {
		t.Fatalf("got %d records, %v", len(recs), err)
	}
	_, err = splitAll(t, []byte(tag+` q:a99998=""/></c>`), "record", 0)
	if err == nil || !strings.Contains(err.Error(), "attribute q:a99998 repeats the name {urn:x}a99998") {
		t.Fatalf("error = %v, want q:a99998 repeating {urn:x}a99998", err)
	}
}

// TestCROnlyLineEnds: a file with CR line ends (XML 1.0 §2.11 makes a lone
// CR a line end) gets its records' and errors' lines right, as do CRLF and
// mixed files.
func TestCROnlyLineEnds(t *testing.T) {
	for _, nl := range []string{"\r", "\r\n", "\n"} {
		doc := strings.Join([]string{`<?xml version="1.0"?>`, "<c>", `<r id="1"/>`, `<r id="2"/>`, `<r id="3" a="1" a="2"/>`, "</c>", ""}, nl)
		recs, err := splitAll(t, []byte(doc), "r", 0)
		if len(recs) != 2 || recs[0].Line != 3 || recs[1].Line != 4 {
			t.Errorf("%q: records %+v", nl, recs)
		}
		if err == nil || !strings.Contains(err.Error(), "doc.xml:5:") {
			t.Errorf("%q: error %v, want one on line 5", nl, err)
		}
	}
}
