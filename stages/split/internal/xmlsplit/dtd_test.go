package xmlsplit

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The reproduction of issues 14 and 23: a #FIXED xmlns declared only in
// the DTD puts the elements in a namespace, and a default fills in a
// missing attribute; each record carries both in its own bytes.
const dtdRepro = `<!DOCTYPE r [ <!ATTLIST r xmlns CDATA #FIXED "urn:x"> <!ATTLIST g w CDATA "50"> ]>
<r><g p="a"/><g p="b" w="7"/></r>`

var dtdCases = []xmlCase{
	{name: "issue reproduction", doc: dtdRepro, spec: "{urn:x}g",
		want: []string{`<g xmlns="urn:x" p="a" w="50"/>`, `<g xmlns="urn:x" p="b" w="7"/>`}},
	{name: "reproduction by local name", doc: dtdRepro, spec: "g",
		want: []string{`<g xmlns="urn:x" p="a" w="50"/>`, `<g xmlns="urn:x" p="b" w="7"/>`}},
	{name: "no namespace finds none", doc: dtdRepro, spec: "{}g"},
	{name: "defaults of descendants", doc: `<!DOCTYPE c [<!ATTLIST i n CDATA "1" m CDATA #IMPLIED k CDATA #REQUIRED>]><c><record><i/><i n="2"></i></record></c>`,
		want: []string{`<record><i n="1"/><i n="2"></i></record>`}},
	{name: "default namespace prefix on a record", doc: `<!DOCTYPE c [<!ATTLIST p:record xmlns:p CDATA #FIXED "urn:p">]><c><p:record/></c>`, spec: "{urn:p}record",
		want: []string{`<p:record xmlns:p="urn:p"/>`}},
	{name: "prefixed default from an ancestor", doc: `<!DOCTYPE c [<!ATTLIST c xmlns:p CDATA "urn:p">]><c><p:record/></c>`, spec: "{urn:p}record",
		want: []string{`<p:record xmlns:p="urn:p"/>`}},
	{name: "specified namespace overrides the default", doc: `<!DOCTYPE c [<!ATTLIST c xmlns CDATA "urn:d">]><c xmlns="urn:e"><record/></c>`, spec: "{urn:e}record",
		want: []string{`<record xmlns="urn:e"/>`}},
	{name: "first attribute definition binds", doc: `<!DOCTYPE c [<!ATTLIST record a CDATA "1"><!ATTLIST record a CDATA "2" b CDATA '3'>]><c><record/></c>`,
		want: []string{`<record a="1" b="3"/>`}},
	{name: "default with entities and markup characters", doc: `<!DOCTYPE c [<!ENTITY e "x&#9;y"><!ATTLIST record a CDATA "&lt;&e;&#38;&#x9;&quot;'">]><c><record/></c>`,
		want: []string{`<record a="&lt;x y&amp;&#9;&quot;'"/>`}},
	{name: "tokenized values normalised", doc: "<!DOCTYPE c [<!ATTLIST record a1 NMTOKENS #IMPLIED b (x|y) #IMPLIED c CDATA #IMPLIED>]><c><record a1=\" 1  \t2 \t\" b=' x' c=' 1  2 '/></c>",
		want: []string{`<record a1="1 2" b='x' c=' 1  2 '/>`}},
	{name: "tokenized default normalised", doc: "<!DOCTYPE c [<!ATTLIST record id ID '  a  ' t NMTOKENS '&#32;x&#32;&#32;y '>]><c><record/></c>",
		want: []string{`<record id="a" t="x y"/>`}},
	{name: "tokenized value with references and other attributes", doc: `<!DOCTYPE c [<!ENTITY e " b "><!ATTLIST record t NMTOKENS #IMPLIED>]><c><record s="&e;" t="a&e;&#32;c" u="&e;"/></c>`,
		want: []string{`<record s=" b " t="a b c" u=" b "/>`}},
	{name: "carriage return from a character reference in an entity", doc: `<!DOCTYPE c [<!ENTITY cr "a&#13;&#10;b"><!ENTITY cd "<![CDATA[x&#13;y]]>"><!ENTITY el "<i a='&#13;'>&#13;</i>">]><c><record t="&cr;">&cr;&cd;&el;</record></c>`,
		want: []string{"<record t=\"a \nb\">a&#13;\nb<![CDATA[x]]>&#13;<![CDATA[y]]><i a=' '>&#13;</i></record>"}},
	{name: "raw carriage return in an entity is a line end", doc: "<!DOCTYPE c [<!ENTITY cr \"a\r\nb\rc\">]><c><record>&cr;</record></c>",
		want: []string{"<record>a\nb\nc</record>"}},
	{name: "default with a carriage return", doc: `<!DOCTYPE c [<!ATTLIST record a CDATA "x&#13;y">]><c><record/></c>`,
		want: []string{`<record a="x&#13;y"/>`}},
	{name: "parameter entity declares an entity", doc: `<!DOCTYPE c [<!ENTITY % pe "<!ENTITY ent1 'text'>"> %pe;]><c><record>&ent1;</record></c>`,
		want: []string{`<record>text</record>`}},
	{name: "parameter entity declares defaults", doc: `<!DOCTYPE c [<!ENTITY % a '<!ATTLIST record k CDATA "v">'><!ENTITY % b "%a;">]><c><record/></c>`,
		err: "doc.xml:1:73: malformed DOCTYPE: a parameter-entity reference may not occur inside a markup declaration"},
	{name: "nested parameter entities", doc: `<!DOCTYPE c [<!ENTITY % a '<!ATTLIST record k CDATA "v">'><!ENTITY % b "&#37;a;"> %b;]><c><record/></c>`,
		want: []string{`<record k="v"/>`}},
	{name: "undeclared entity after a parameter entity is a validity error", doc: `<!DOCTYPE foo [<!ENTITY % pe "<!ENTITY ent1 'text'>"> %pe;]><foo><record a="[&ent2;]">&ent1;&ent2;</record></foo>`,
		want: []string{`<record a="[]">text</record>`}},
	{name: "undeclared entity after a parameter entity when standalone", doc: `<?xml version="1.0" standalone="yes"?><!DOCTYPE foo [<!ENTITY % pe "<!ENTITY ent1 'text'>"> %pe;]><foo><record>&ent2;</record></foo>`,
		err: "undeclared entity &ent2;"},
	{name: "undeclared entity with an external DTD is an error", doc: `<!DOCTYPE foo SYSTEM "foo.dtd" [<!ENTITY % pe "<!ENTITY ent1 'text'>"> %pe;]><foo><record>&ent2;</record></foo>`,
		err: "the DOCTYPE names an external DTD, which split does not read"},
	{name: "declarations after an external parameter entity are not processed", doc: `<!DOCTYPE c [<!ENTITY % ext SYSTEM "x.ent"> %ext; <!ATTLIST record a CDATA "1"><!ENTITY e "x">]><c><record>&e;</record></c>`,
		err: "undeclared entity &e;"},
	{name: "declarations after an external parameter entity, defaults", doc: `<!DOCTYPE c [<!ENTITY % ext SYSTEM "x.ent"> %ext; <!ATTLIST record a CDATA "1">]><c><record/></c>`,
		want: []string{`<record/>`}},
	{name: "external DTD and internal defaults", doc: `<!DOCTYPE c PUBLIC "-//A//B" "c.dtd" [<!ATTLIST record a CDATA "1">]><c><record/></c>`,
		want: []string{`<record a="1"/>`}},
	{name: "unparsed entity in content", doc: `<!DOCTYPE c [<!NOTATION n SYSTEM "n"><!ENTITY u SYSTEM "u.gif" NDATA n>]><c><record>&u;</record></c>`,
		err: "entity &u; is external"},
}

func TestDTD(t *testing.T) {
	for _, tc := range dtdCases {
		t.Run(tc.name, func(t *testing.T) { runCase(t, tc, 1<<20) })
	}
}

// runCase splits tc.doc and checks the records (each must parse on its
// own) or the error.
func runCase(t *testing.T, tc xmlCase, max int) {
	t.Helper()
	spec := tc.spec
	if spec == "" {
		spec = "record"
	}
	recs, err := splitAll(t, []byte(tc.doc), spec, max)
	if tc.err != "" {
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Fatalf("error = %v, want one containing %q", err, tc.err)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	got := []string{}
	for _, r := range recs {
		got = append(got, string(r.Data))
		if _, err := canonical(r.Data); err != nil {
			t.Errorf("record %q does not parse standalone: %v", r.Data, err)
		}
	}
	want := tc.want
	if want == nil {
		want = []string{}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
}

// TestDTDReproductionReadsBack checks the reproduction's records as any
// parser reads them: in namespace urn:x, with w = 50 and 7.
func TestDTDReproductionReadsBack(t *testing.T) {
	recs, err := splitAll(t, []byte(dtdRepro), "{urn:x}g", 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range recs {
		var g struct {
			XMLName xml.Name
			W       string `xml:"w,attr"`
		}
		if err := xml.Unmarshal(r.Data, &g); err != nil {
			t.Fatal(err)
		}
		got = append(got, g.XMLName.Space+" "+g.XMLName.Local+" w="+g.W)
	}
	if diff := cmp.Diff([]string{"urn:x g w=50", "urn:x g w=7"}, got); diff != "" {
		t.Fatalf("records (-want +got):\n%s", diff)
	}
}

// TestCarriageReturnReadsBack: a CR that an entity's character reference
// puts in text reads back as a CR, not as a line end.
func TestCarriageReturnReadsBack(t *testing.T) {
	recs, err := splitAll(t, []byte(`<!DOCTYPE c [<!ENTITY cr "a&#13;&#10;b">]><c><record>&cr;</record></c>`), "record", 0)
	if err != nil || len(recs) != 1 {
		t.Fatal(recs, err)
	}
	var v struct {
		Text string `xml:",chardata"`
	}
	if err := xml.Unmarshal(recs[0].Data, &v); err != nil {
		t.Fatal(err)
	}
	if v.Text != "a\r\nb" {
		t.Fatalf("text = %q, want %q", v.Text, "a\r\nb")
	}
}

// Malformed internal subsets, each rejected at its position.
var malformedDTDs = []struct{ doc, err string }{
	{`<!DOCTYPE doc -- a comment -- []><doc></doc>`, "doc.xml:1:15: malformed DOCTYPE: expected > or [ after the document type name"},
	{`<!DOCTYPE doc [<!ELEMENT doc (#PCDATA)>`, "doc.xml:1:1: malformed DOCTYPE: unexpected end of file"},
	{`<!DOCTYPEdoc []><doc/>`, "doc.xml:1:10: malformed DOCTYPE: expected white space before the document type name"},
	{`<!DOCTYPE 1doc []><doc/>`, "doc.xml:1:11: malformed DOCTYPE: expected the document type name"},
	{`<!DOCTYPE doc SYSTEM>`, "doc.xml:1:21: malformed DOCTYPE: expected white space before the system literal"},
	{`<!DOCTYPE doc PUBLIC "a{b" "x">`, `doc.xml:1:24: malformed DOCTYPE: character "{" is not allowed in a public identifier`},
	{`<!DOCTYPE doc PUBLIC "ab"><doc/>`, "doc.xml:1:26: malformed DOCTYPE: expected white space and a system literal"},
	{`<!DOCTYPE doc SYSTEM "x"[]><doc/>`, ""}, // S? before '[' is optional
	{"<!DOCTYPE doc [\n<!ELEMENT doc (#PCDATA)\n<!ELEMENT x ANY>]><doc/>", "doc.xml:3:1: malformed DOCTYPE: expected > to end the element declaration"},
	{`<!DOCTYPE doc [<!ELEMENT doc (a,b|c)>]><doc/>`, "doc.xml:1:34: malformed DOCTYPE: a content model group mixes | and ,"},
	{`<!DOCTYPE doc [<!ELEMENT doc (#PCDATA|a)>]><doc/>`, "doc.xml:1:40: malformed DOCTYPE: mixed content with element names must end with )*"},
	{`<!DOCTYPE doc [<!ELEMENT doc (a *)>]><doc/>`, `doc.xml:1:33: malformed DOCTYPE: expected |, , or ) in a content model, found "*)>]><doc/>"`},
	{`<!DOCTYPE doc [<!ELEMENT doc ( #PCDATA ) * >]><doc/>`, "doc.xml:1:42: malformed DOCTYPE: expected > to end the element declaration"},
	{`<!DOCTYPE doc [<!ELEMENT doc (a|b) +>]><doc/>`, "doc.xml:1:36: malformed DOCTYPE: expected > to end the element declaration"},
	{`<!DOCTYPE doc [<!ENTITY e 'it''s'>]><doc/>`, "doc.xml:1:31: malformed DOCTYPE: expected > to end the entity declaration"},
	{`<!DOCTYPE doc [<!ENTITY % p "x"><!ENTITY % q "%p;">]><doc/>`, "doc.xml:1:47: malformed DOCTYPE: a parameter-entity reference may not occur inside a markup declaration"},
	{`<!DOCTYPE doc [<!ELEMENT doc EMPTY extra>]><doc/>`, "doc.xml:1:36: malformed DOCTYPE: expected > to end the element declaration"},
	{`<!DOCTYPE doc [<!ELEMENT doc empty>]><doc/>`, "doc.xml:1:30: malformed DOCTYPE: expected EMPTY, ANY or ("},
	{`<!DOCTYPE doc [<!ATTLIST doc a CDATA>]><doc/>`, "doc.xml:1:37: malformed DOCTYPE: expected white space before the attribute default"},
	{`<!DOCTYPE doc [<!ATTLIST doc a CDATA #DEFAULT "x">]><doc/>`, "doc.xml:1:38: malformed DOCTYPE: expected #REQUIRED, #IMPLIED, #FIXED"},
	{`<!DOCTYPE doc [<!ATTLIST doc a STRING #IMPLIED>]><doc/>`, "doc.xml:1:32: malformed DOCTYPE: expected an attribute type"},
	{`<!DOCTYPE doc [<!ATTLIST doc a CDATA "<">]><doc/>`, "doc.xml:1:39: malformed DOCTYPE: < is not allowed in an attribute value"},
	{`<!DOCTYPE doc [<!ENTITY e "<x/>"><!ATTLIST doc a CDATA "&e;">]><doc/>`, "doc.xml:1:57: malformed DOCTYPE: in a default value"},
	{`<!DOCTYPE doc [<!ATTLIST doc a CDATA "&e;"><!ENTITY e "x">]><doc/>`, "doc.xml:1:39: malformed DOCTYPE: in a default value: undeclared entity &e;"},
	{`<!DOCTYPE doc [<!ATTLIST doc a CDATA "a & b">]><doc/>`, "doc.xml:1:41: malformed DOCTYPE: & must start a reference"},
	{`<!DOCTYPE doc [<!ATTLIST doc a (x|1-) #IMPLIED b (|y) #IMPLIED>]><doc/>`, "doc.xml:1:51: malformed DOCTYPE: expected a name token"},
	{`<!DOCTYPE doc [<!ATTLIST doc a NOTATION (1x) #IMPLIED>]><doc/>`, "doc.xml:1:42: malformed DOCTYPE: expected a notation name"},
	{`<!DOCTYPE doc [<!ATTLIST doc a CDATA #IMPLIEDb CDATA #IMPLIED>]><doc/>`, "doc.xml:1:38: malformed DOCTYPE: expected #REQUIRED"},
	{`<!DOCTYPE doc [<!ATTLIST doc a CDATA #FIXED"x">]><doc/>`, "doc.xml:1:44: malformed DOCTYPE: expected white space before the #FIXED value"},
	{`<!DOCTYPE doc [<!ENTITY e "%pe;">]><doc/>`, "doc.xml:1:28: malformed DOCTYPE: a parameter-entity reference may not occur inside a markup declaration"},
	{`<!DOCTYPE doc [<!ENTITY e "a&b">]><doc/>`, "doc.xml:1:29: malformed DOCTYPE: entity reference &b has no closing ;"},
	{`<!DOCTYPE doc [<!ENTITY e "&#0;">]><doc/>`, "doc.xml:1:28: malformed DOCTYPE: invalid character reference &#0;"},
	{`<!DOCTYPE doc [<!ENTITY e SYSTEM "x" NDATA>]><doc/>`, "doc.xml:1:43: malformed DOCTYPE: expected white space before the notation name"},
	{`<!DOCTYPE doc [<!ENTITY % e SYSTEM "x" NDATA n>]><doc/>`, "doc.xml:1:40: malformed DOCTYPE: a parameter entity cannot be unparsed"},
	{`<!DOCTYPE doc [<!ENTITY e "x" "y">]><doc/>`, "doc.xml:1:31: malformed DOCTYPE: expected > to end the entity declaration"},
	{`<!DOCTYPE doc [<!ENTITY %e "x">]><doc/>`, "doc.xml:1:26: malformed DOCTYPE: expected white space before the parameter entity name"},
	{`<!DOCTYPE doc [<!ENTITY e>]><doc/>`, "doc.xml:1:26: malformed DOCTYPE: expected white space before the entity's value"},
	{`<!DOCTYPE doc [<!NOTATION n>]><doc/>`, "doc.xml:1:28: malformed DOCTYPE: expected white space before the notation's external ID"},
	{`<!DOCTYPE doc [<!NOTATION n SYSTEM>]><doc/>`, "malformed DOCTYPE: expected white space before the system literal"},
	{`<!DOCTYPE doc [<!-- a -- b -->]><doc/>`, `doc.xml:1:23: malformed DOCTYPE: "--" is not allowed inside a comment`},
	{"<!DOCTYPE doc [<!-- \x01 -->]><doc/>", "doc.xml:1:21: malformed DOCTYPE: illegal character code U+0001 in a comment"},
	{`<!DOCTYPE doc [<?xml version="1.0"?>]><doc/>`, `doc.xml:1:18: malformed DOCTYPE: the processing instruction target "xml" is reserved`},
	{`<!DOCTYPE doc [<?pi?x?>]><doc/>`, "doc.xml:1:20: malformed DOCTYPE: expected white space or ?> after the processing instruction target pi"},
	{`<!DOCTYPE doc [<![INCLUDE[<!ELEMENT doc ANY>]]>]><doc/>`, "doc.xml:1:16: malformed DOCTYPE: conditional sections"},
	{`<!DOCTYPE doc [<!ELEMENT doc ANY> text ]><doc/>`, "doc.xml:1:35: malformed DOCTYPE: expected a markup declaration"},
	{`<!DOCTYPE doc [<!element doc ANY>]><doc/>`, "doc.xml:1:16: malformed DOCTYPE: expected a markup declaration"},
	{`<!DOCTYPE doc [%pe;]><doc/>`, "doc.xml:1:16: malformed DOCTYPE: undeclared parameter entity %pe;"},
	{`<!DOCTYPE doc [<!ENTITY % pe "x"> %pe ]><doc/>`, "doc.xml:1:38: malformed DOCTYPE: parameter-entity reference %pe has no closing ;"},
	{`<!DOCTYPE doc [<!ENTITY % pe "<!ELEMENT doc"> %pe; ANY>]><doc/>`, "doc.xml:1:47: malformed DOCTYPE: in parameter entity %pe;: unexpected end of"},
	{`<!DOCTYPE doc [<!ENTITY % pe "text"> %pe;]><doc/>`, "doc.xml:1:38: malformed DOCTYPE: in parameter entity %pe;: expected a markup declaration"},
	{`<!DOCTYPE doc [<!ENTITY % a "&#37;b;"><!ENTITY % b "&#37;a;"> %a;]><doc/>`, "doc.xml:1:63: malformed DOCTYPE: in parameter entity %a;: in parameter entity %b;: parameter entity %a; refers to itself"},
	{`<!DOCTYPE doc [<!ELEMENT doc ANY>] ><doc/>`, ""},
	{`<!DOCTYPE doc [<!ENTITY a:b "x">]><doc/>`, `doc.xml:1:25: malformed DOCTYPE: an entity name may not contain a colon`},
	{`<!DOCTYPE doc [<!NOTATION a:b SYSTEM "x">]><doc/>`, `doc.xml:1:27: malformed DOCTYPE: a notation name may not contain a colon`},
	{`<!DOCTYPE doc [<?a:b?>]><doc/>`, `doc.xml:1:18: malformed DOCTYPE: a processing instruction target may not contain a colon`},
	{`<!DOCTYPE doc><!-- x --><!DOCTYPE doc><doc/>`, "doc.xml:1:25: a second DOCTYPE declaration"},
	{`<!DOCTYPE doc [<!ELEMENT doc ANY>] x><doc/>`, "doc.xml:1:36: malformed DOCTYPE: expected > or [ after the document type name"},
}

func TestMalformedDTD(t *testing.T) {
	for _, tc := range malformedDTDs {
		t.Run(tc.doc, func(t *testing.T) {
			_, err := splitAll(t, []byte(tc.doc), "doc", 0)
			if tc.err == "" {
				if err != nil {
					t.Fatalf("error = %v, want none", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("error = %v, want one containing %q", err, tc.err)
			}
		})
	}
}

// Well-formed internal subsets, each accepted, with every kind of
// declaration and the grammar's optional white space.
var wellFormedDTDs = []string{
	`<!DOCTYPE doc>`,
	`<!DOCTYPE doc >`,
	`<!DOCTYPE doc []>`,
	"<!DOCTYPE doc\n[\n]\n>",
	`<!DOCTYPE doc SYSTEM "doc.dtd">`,
	`<!DOCTYPE doc SYSTEM 'a"b'>`,
	`<!DOCTYPE doc PUBLIC "-//W3C//DTD X 1.0//EN" 'x'>`,
	"<!DOCTYPE doc PUBLIC '-//A B//EN\r\n' \"x\" [ ]>",
	`<!DOCTYPE doc [<!ELEMENT doc EMPTY>]>`,
	`<!DOCTYPE doc [<!ELEMENT doc ANY >]>`,
	`<!DOCTYPE doc [<!ELEMENT doc (#PCDATA)>]>`,
	`<!DOCTYPE doc [<!ELEMENT doc ( #PCDATA )* >]>`,
	`<!DOCTYPE doc [<!ELEMENT doc ( #PCDATA | a )* >]>`,
	`<!DOCTYPE doc [<!ELEMENT doc (#PCDATA|a|b:c)*>]>`,
	`<!DOCTYPE doc [<!ELEMENT doc ((a,b?)|(c+,d*)|e)+>]>`,
	`<!DOCTYPE doc [<!ELEMENT doc ( a , ( b | c )? , d ) >]>`,
	`<!DOCTYPE doc [<!ATTLIST doc>]>`,
	`<!DOCTYPE doc [<!ATTLIST doc a CDATA #IMPLIED b ID #REQUIRED c IDREF #IMPLIED d IDREFS #IMPLIED e ENTITY #IMPLIED f ENTITIES #IMPLIED g NMTOKEN #IMPLIED h NMTOKENS #IMPLIED>]>`,
	`<!DOCTYPE doc [<!NOTATION n PUBLIC "n"><!ATTLIST doc a NOTATION ( n ) #IMPLIED b ( 1 | .x | -y ) "1" c CDATA #FIXED 'v' >]>`,
	`<!DOCTYPE doc [<!ENTITY e "v"><!ENTITY f "it's"><!ENTITY % p "<!ELEMENT x ANY>"><!ENTITY g SYSTEM "g"><!ENTITY h PUBLIC "h" "h"><!NOTATION n SYSTEM "n"><!ENTITY u SYSTEM "u" NDATA n>]>`,
	`<!DOCTYPE doc [<!ENTITY e "<a>&#38;&amp;&#x41;&f;</a>">]>`,
	`<!DOCTYPE doc [<!NOTATION n PUBLIC "n" "s"><!NOTATION m SYSTEM ''>]>`,
	`<!DOCTYPE doc [<!-- c --><?pi x?><?pi?> <!-- - -->]>`,
	`<!DOCTYPE doc [<!ENTITY % p "<!ENTITY e 'x'>"> %p; %p;]>`,
	`<!DOCTYPE doc [<!ENTITY % p "<!ATTLIST doc a CDATA 'x'> <!-- c --> <?pi?>"> %p;]>`,
	`<!DOCTYPE doc [<!ENTITY % ext SYSTEM "e.ent"> %ext; %undeclared;]>`,
	`<!DOCTYPE doc SYSTEM "d.dtd" [%undeclared;]>`,
	`<!DOCTYPE doc [<!ENTITY e "&undeclared;">]>`,
	`<!DOCTYPE doc [<!ENTITY % e "&#37;">]>`,
	`<!DOCTYPE doc [<!ELEMENT été ANY><!ATTLIST été à CDATA "ü">]>`,
	`<!DOCTYPE doc [<!ATTLIST doc xml:space (default|preserve) "preserve">]>`,
}

func TestWellFormedDTD(t *testing.T) {
	for _, dt := range wellFormedDTDs {
		t.Run(dt, func(t *testing.T) {
			doc := dt + "<doc><x/></doc>"
			recs, err := splitAll(t, []byte(doc), "x", 0)
			if err != nil || len(recs) != 1 {
				t.Fatalf("records %d, error %v; want one and none", len(recs), err)
			}
		})
	}
}

// TestDTDAcrossRanges: the attribute declarations are part of the
// context a range's scan hands to the next one, also through JSON.
func TestDTDAcrossRanges(t *testing.T) {
	doc := []byte(`<!DOCTYPE r [<!ATTLIST r xmlns CDATA #FIXED "urn:x"><!ATTLIST g w CDATA "50" t NMTOKENS #IMPLIED><!ENTITY % p "<!ENTITY e 'E'>"> %p;]>` +
		"<r><g p='a'/>" + strings.Repeat(" ", 100) + `<g p="b" w="7" t=" a  b ">&e;&nope;</g></r>`)
	m, _ := ParseMatch("{urn:x}g")
	cut := int64(bytes.Index(doc, []byte("<g p=\"b\"")) - 50)
	drain := func(s *Splitter, got []string) []string {
		for {
			r, err := s.Next()
			if err == io.EOF {
				return got
			}
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, string(r.Data))
		}
	}
	first := New(bytes.NewReader(doc), Options{File: "doc.xml", Match: m, Range: &Range{End: cut}})
	got := drain(first, nil)
	at, ctx, ok := first.Stop()
	if !ok {
		t.Fatal("the first range did not stop at its end")
	}
	b, err := json.Marshal(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var back Context
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !back.Equal(ctx) {
		t.Fatalf("the context does not survive JSON: %s", b)
	}
	second := New(bytes.NewReader(doc[at.Offset:]), Options{File: "doc.xml", Match: m, Range: &Range{Origin: at, Context: &back}})
	got = drain(second, got)
	want := []string{`<g xmlns="urn:x" p='a' w="50"/>`, `<g xmlns="urn:x" p="b" w="7" t="a b">E</g>`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("records (-want +got):\n%s", diff)
	}
}

func benchSplit(b *testing.B, doc []byte) {
	m, _ := ParseMatch("record")
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		s := New(bytes.NewReader(doc), Options{File: "doc.xml", Match: m})
		for {
			if _, err := s.Next(); err != nil {
				if err != io.EOF {
					b.Fatal(err)
				}
				break
			}
		}
	}
}

// BenchmarkSplitDTDDefaults splits records whose elements get defaults
// and normalised values from the DTD.
func BenchmarkSplitDTDDefaults(b *testing.B) {
	var doc bytes.Buffer
	doc.WriteString(`<!DOCTYPE c [<!ATTLIST c xmlns CDATA #FIXED "urn:x"><!ATTLIST record w CDATA "50" kind (a|b) "a"><!ATTLIST i t NMTOKENS #IMPLIED n CDATA "1">]><c>`)
	for i := 0; i < 20000; i++ {
		fmt.Fprintf(&doc, `<record id="%d"><i t=" x  y "/><i n="2">text</i></record>`, i)
	}
	doc.WriteString("</c>")
	benchSplit(b, doc.Bytes())
}

// BenchmarkSplitManyDeclaredAttributes: one start tag with 20,000
// attributes, of an element with 20,000 declared defaults, costs time
// linear in both.
func BenchmarkSplitManyDeclaredAttributes(b *testing.B) {
	var doc bytes.Buffer
	doc.WriteString(`<!DOCTYPE c [<!ATTLIST record`)
	for i := 0; i < 20000; i++ {
		fmt.Fprintf(&doc, " d%d CDATA 'v' a%d NMTOKEN #IMPLIED", i, i)
	}
	doc.WriteString(`>]><c><record`)
	for i := 0; i < 20000; i++ {
		fmt.Fprintf(&doc, " a%d=' v '", i)
	}
	doc.WriteString("/></c>")
	benchSplit(b, doc.Bytes())
}
