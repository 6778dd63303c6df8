package xmlview

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

const nsRecord = `<record xmlns="urn:cat" xmlns:dc="http://purl.org/dc/elements/1.1/" id="7" type="book" xml:lang="en" dc:note="n1">
  <title>Maps &amp; <![CDATA[Charts]]> 2</title>
  <dc:creator>Ann</dc:creator>
  <authors><author>A<i>b</i>c</author><author>D</author></authors>
  <x:meta xmlns:x="http://example.com/a/b"><x:k>v</x:k></x:meta>
  <plain xmlns=""><leaf>L</leaf></plain>
</record>`

func TestRootAttr(t *testing.T) {
	tests := []struct {
		name, data, query string
		want              string
		wantOK            bool
		wantErr           string
	}{
		{"plain", nsRecord, "type", "book", true, ""},
		{"missing", nsRecord, "year", "", false, ""},
		{"xml prefix", nsRecord, "xml:lang", "en", true, ""},
		{"xml clark", nsRecord, "{" + NamespaceXML + "}lang", "en", true, ""},
		{"declared prefix", nsRecord, "dc:note", "n1", true, ""},
		{"clark", nsRecord, "{http://purl.org/dc/elements/1.1/}note", "n1", true, ""},
		{"unprefixed has no namespace", nsRecord, "{urn:cat}type", "", false, ""},
		{"undeclared prefix matches nothing", nsRecord, "zz:note", "", false, ""},
		{"declaration is not an attribute", nsRecord, "xmlns", "", false, ""},
		{"empty value", `<r a=""/>`, "a", "", true, ""},
		{"entity in value", `<r a="x&lt;y"/>`, "a", "x<y", true, ""},
		{"empty query", nsRecord, "", "", false, "empty name"},
		{"unclosed clark", nsRecord, "{urn:catx", "", false, "missing }"},
		{"empty local", nsRecord, "dc:", "", false, "expected prefix:local"},
		{"star", nsRecord, "*", "", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p Parser
			root, err := p.Root([]byte(tt.data))
			if err != nil {
				t.Fatal(err)
			}
			got, ok, err := root.Attr(tt.query)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Attr(%q) error = %v, want one containing %q", tt.query, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Attr(%q): %v", tt.query, err)
			}
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("Attr(%q) = %q, %v; want %q, %v", tt.query, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestRootName(t *testing.T) {
	var p Parser
	root, err := p.Root([]byte(`<c:record xmlns:c="urn:c" a="1"><unclosed>`))
	if err != nil {
		t.Fatalf("Root reads the start tag only, got %v", err)
	}
	want := Name{Space: "urn:c", Local: "record", Prefix: "c"}
	if root.Name != want {
		t.Errorf("Name = %+v, want %+v", root.Name, want)
	}
	if got := root.Name.Qualified(); got != "c:record" {
		t.Errorf("Qualified = %q", got)
	}
	if got := root.Name.Clark(); got != "{urn:c}record" {
		t.Errorf("Clark = %q", got)
	}
	if _, err := p.Tree([]byte(`<c:record xmlns:c="urn:c" a="1"><unclosed>`)); err == nil {
		t.Error("Tree accepted an unclosed element")
	}
}

func TestTreeQueries(t *testing.T) {
	tests := []struct {
		path      string
		text      string
		has       bool
		texts     []string
		wantError string
	}{
		{path: "title", text: "Maps & Charts 2", has: true, texts: []string{"Maps & Charts 2"}},
		{path: "{urn:cat}title", text: "Maps & Charts 2", has: true, texts: []string{"Maps & Charts 2"}},
		{path: "dc:creator", text: "Ann", has: true, texts: []string{"Ann"}},
		{path: "authors/author", text: "Abc", has: true, texts: []string{"Abc", "D"}},
		{path: "authors/*", text: "Abc", has: true, texts: []string{"Abc", "D"}},
		{path: "*/author/i", text: "b", has: true, texts: []string{"b"}},
		{path: "{http://example.com/a/b}meta/{http://example.com/a/b}k", text: "v", has: true, texts: []string{"v"}},
		{path: "plain/leaf", has: false}, // <plain> undeclares the default namespace
		{path: "{}plain/{}leaf", text: "L", has: true, texts: []string{"L"}},
		{path: "{urn:cat}", wantError: "expected a local name"},
		{path: "title/x", has: false},
		{path: "author", has: false}, // only direct children of the root
		{path: "zz:creator", has: false},
		{path: "a//b", wantError: "empty name"},
		{path: "/title", wantError: "empty name"},
	}
	var p Parser
	tree, err := p.Tree([]byte(nsRecord))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			text, ok, err := tree.Text(tt.path)
			if tt.wantError != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantError) {
					t.Fatalf("Text(%q) error = %v, want %q", tt.path, err, tt.wantError)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if text != tt.text || ok != tt.has {
				t.Errorf("Text(%q) = %q, %v; want %q, %v", tt.path, text, ok, tt.text, tt.has)
			}
			has, _ := tree.Has(tt.path)
			if has != tt.has {
				t.Errorf("Has(%q) = %v", tt.path, has)
			}
			texts, _ := tree.Texts(tt.path)
			if diff := cmp.Diff(tt.texts, texts); diff != "" {
				t.Errorf("Texts(%q) (-want +got):\n%s", tt.path, diff)
			}
		})
	}
	t.Run("root", func(t *testing.T) {
		for _, path := range []string{"", "."} {
			text, ok, err := tree.Text(path)
			if err != nil || !ok || !strings.Contains(text, "Ann") || !strings.Contains(text, "Maps") {
				t.Errorf("Text(%q) = %q, %v, %v", path, text, ok, err)
			}
		}
	})
	t.Run("unprefixed query is in the default namespace", func(t *testing.T) {
		// <leaf> is in no namespace; "leaf" means {urn:cat}leaf here.
		text, ok, err := tree.Text("*/leaf")
		if err != nil || ok {
			t.Errorf("Text(*/leaf) = %q, %v, %v; want no match", text, ok, err)
		}
	})
}

func TestTreeElements(t *testing.T) {
	var p Parser
	tree, err := p.Tree([]byte(nsRecord))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := range tree.Len() {
		e := tree.Element(i)
		s := strings.Repeat(" ", e.Depth) + e.Name.Clark()
		for _, a := range e.Attrs {
			s += " " + a.Name.Clark() + "=" + a.Value
		}
		got = append(got, s)
	}
	want := []string{
		"{urn:cat}record id=7 type=book {http://www.w3.org/XML/1998/namespace}lang=en {http://purl.org/dc/elements/1.1/}note=n1",
		" {urn:cat}title",
		" {http://purl.org/dc/elements/1.1/}creator",
		" {urn:cat}authors",
		"  {urn:cat}author",
		"   {urn:cat}i",
		"  {urn:cat}author",
		" {http://example.com/a/b}meta",
		"  {http://example.com/a/b}k",
		" plain",
		"  leaf",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("elements (-want +got):\n%s", diff)
	}
}

// TestSameLocalNames checks attributes that share a local name in
// different namespaces: not repeated attributes.
func TestSameLocalNames(t *testing.T) {
	var p Parser
	tree, err := p.Tree([]byte(`<r xmlns:p="u" lang="a" xml:lang="b" p:lang="c"><e xml:lang="d" lang="e"/></r>`))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := range tree.Len() {
		got = append(got, describe(tree.Element(i)))
	}
	want := []string{"r lang=a {" + NamespaceXML + "}lang=b {u}lang=c", "e {" + NamespaceXML + "}lang=d lang=e"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestMalformed(t *testing.T) {
	tests := []struct {
		name, data, want string
		line             int
	}{
		{"mismatched", "<a>\n<b></c></a>", "element <b> closed by </c>", 2},
		{"unclosed", "<a><b></b>", "<a> is not closed", 1},
		{"stray end", "<a/></b>", "without a start tag", 1},
		{"two roots", "<a/><b/>", "after the end of the root", 1},
		{"text outside", "<a/>junk", "text outside the root", 1},
		{"undeclared element prefix", "<a>\n\n<p:b/></a>", `undeclared namespace prefix "p"`, 3},
		{"undeclared attribute prefix", `<a p:x="1"/>`, `undeclared namespace prefix "p"`, 1},
		{"repeated attribute", `<a x="1" x="2"/>`, "repeated", 1},
		{"repeated after resolution", `<a xmlns:p="u" xmlns:q="u" p:x="1" q:x="2"/>`, "repeated", 1},
		{"empty prefix binding", `<a xmlns:p=""/>`, "empty URI", 1},
		{"bad entity", "<a>&nope;</a>", "invalid character entity", 1},
		{"syntax", "<a><</a>", "", 1},
		{"empty", "", "no element", 1},
		{"only space", "  \n", "no element", 2},
		{"truncated tag", `<a x="1`, "unexpected EOF", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p Parser
			_, err := p.Tree([]byte(tt.data))
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Tree(%q) error = %v, want a *SyntaxError", tt.data, err)
			}
			if !strings.Contains(se.Msg, tt.want) {
				t.Errorf("message %q, want it to contain %q", se.Msg, tt.want)
			}
			if se.Line != tt.line {
				t.Errorf("line = %d, want %d (%v)", se.Line, tt.line, err)
			}
			if se.Offset < 0 || se.Offset > int64(len(tt.data)) {
				t.Errorf("offset %d outside the record", se.Offset)
			}
		})
	}
}

func TestParserReuse(t *testing.T) {
	var p Parser
	if _, err := p.Tree([]byte(nsRecord)); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Tree([]byte("<a><b>")); err == nil {
		t.Fatal("want an error")
	}
	tree, err := p.Tree([]byte(`<r><t>x</t></r>`))
	if err != nil {
		t.Fatal(err)
	}
	if tree.Len() != 2 {
		t.Errorf("Len = %d after reuse, want 2", tree.Len())
	}
	if text, _, _ := tree.Text("."); text != "x" {
		t.Errorf("root text %q after reuse", text)
	}
	if _, ok, _ := tree.Root().Attr("type"); ok {
		t.Error("attribute of a previous record leaked")
	}
}

// TestQueriesDoNotAllocate checks that path matching reuses its scratch
// space (Has), so a query costs no garbage beyond the strings it returns.
func TestQueriesDoNotAllocate(t *testing.T) {
	var p Parser
	tree, err := p.Tree([]byte(nsRecord))
	if err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		if ok, _ := tree.Has("authors/author/i"); !ok {
			t.Fatal("no match")
		}
		if _, ok, _ := tree.Root().Attr("xml:lang"); !ok {
			t.Fatal("no match")
		}
	})
	if allocs != 0 {
		t.Errorf("Has + Attr allocate %v times per call, want 0", allocs)
	}
}

// FuzzTree checks the parser against encoding/xml: no input makes it
// panic or hang; whatever it accepts, encoding/xml's namespace-aware Token
// accepts too, with the same elements, attributes and text; and whatever
// it rejects, encoding/xml rejects too, unless the record breaks one of
// the namespace or structure rules that xmlview adds. A Checked parser
// (for records split has checked) never panics or hangs either, and reads
// every record that the strict one accepts exactly as it does.
func FuzzTree(f *testing.F) {
	for _, s := range []string{nsRecord, "<a/>", "<a><b>t</b></a>", `<a xmlns:p="u"><p:b p:c="1"/></a>`, "<a>&amp;</a>", "<![CDATA[x]]>",
		"<a x='&#233;\r\n'>\r\n]]&gt;<!-- c --><?pi x?><!DOCTYPE a [<!ENTITY e 'x'>]></a>", "<a>&#0;</a>", "<a>]]></a>", "<a b='<'/>"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checked := Parser{Checked: true}
		ctree, cerr := checked.Tree(data) // falsely marked when data is malformed: must not panic
		var p Parser
		tree, err := p.Tree(data)
		if err == nil {
			if cerr != nil {
				t.Fatalf("the checked parser rejects what the strict one accepts: %v", cerr)
			}
			if diff := cmp.Diff(elements(tree), elements(ctree)); diff != "" {
				t.Fatalf("the checked parser reads the record differently (-strict +checked):\n%s", diff)
			}
		}
		// Elements reads what Tree reads, text aside, and rejects what it
		// rejects with the same error; on a checked Parser, what is valid.
		for _, ep := range []*Parser{{}, {Checked: true}} {
			etree, eerr := ep.Elements(data)
			if ep.Checked && err != nil {
				continue // falsely marked: only must not panic
			}
			if fmt.Sprint(eerr) != fmt.Sprint(err) {
				t.Fatalf("Elements (checked %v): error %v, Tree: %v", ep.Checked, eerr, err)
			}
			if err == nil {
				if diff := cmp.Diff(elements(tree)[:tree.Len()], elements(etree)[:etree.Len()]); diff != "" {
					t.Fatalf("Elements (checked %v) reads the record differently (-Tree +Elements):\n%s", ep.Checked, diff)
				}
				if _, _, terr := etree.Text("."); terr != ErrNoText {
					t.Fatalf("Text on a tree read by Elements: %v, want ErrNoText", terr)
				}
			}
		}
		want, text, refErr := referenceElements(data)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("error %v is not a *SyntaxError", err)
			}
			if se.Offset < 0 || se.Offset > int64(len(data)) || se.Line < 1 {
				t.Fatalf("error %v has a position outside the record", err)
			}
			if refErr == nil && !stricter(se.Msg) {
				t.Fatalf("xmlview rejects what encoding/xml accepts: %v", err)
			}
			return
		}
		if refErr != nil {
			if xmlnametest.EditionsDiffer(data) {
				return // a name of the fifth edition, which encoding/xml does not know
			}
			t.Fatalf("xmlview accepted what encoding/xml rejects: %v", refErr)
		}
		var got []string
		for i := range tree.Len() {
			got = append(got, describe(tree.Element(i)))
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("elements differ from encoding/xml (-want +got):\n%s", diff)
		}
		if root, _, _ := tree.Text("."); root != text {
			t.Fatalf("root text %q, encoding/xml gives %q", root, text)
		}
		for _, q := range []string{"", "*", "*/*", "a"} {
			if _, _, err := tree.Text(q); err != nil {
				t.Fatalf("Text(%q): %v", q, err)
			}
		}
	})
}

// elements describes every element of t, and the root's text.
func elements(t *Tree) []string {
	var out []string
	for i := range t.Len() {
		out = append(out, describe(t.Element(i)))
	}
	text, _, _ := t.Text(".")
	return append(out, "text: "+text)
}

// TestChecked reads records split would emit with a Checked parser: the
// same trees as the strict parser, references and line ends decoded alike.
func TestChecked(t *testing.T) {
	recs, _ := w1Records(t)
	recs = append(recs, []byte(nsRecord),
		[]byte("<a x='&#233;\r\nv' y=\"a&amp;b\" z='\"'>\r\n]]&gt;<!-- c --><?pi x?>t\u00e9\r<b><![CDATA[<\r\n>]]></b></a>"),
		[]byte("<a>&lt;&#x10FFFF;]]</a>"))
	var strict Parser
	checked := Parser{Checked: true}
	for i, rec := range recs {
		want, err := strict.Tree(rec)
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		w := elements(want)
		got, err := checked.Tree(rec)
		if err != nil {
			t.Fatalf("record %d: checked: %v", i, err)
		}
		if diff := cmp.Diff(w, elements(got)); diff != "" {
			t.Errorf("record %d (-strict +checked):\n%s", i, diff)
		}
	}
	// The checks it keeps: structure and namespaces.
	for _, bad := range []string{"<a><b></a>", "<p:a/>", "<a x='1' x='2'/>", "<a x='1/>"} {
		if _, err := checked.Tree([]byte(bad)); err == nil {
			t.Errorf("checked parser accepted %q", bad)
		}
	}
}

// stricter reports whether msg is about a rule that xmlview checks and
// encoding/xml's Token does not.
func stricter(msg string) bool {
	for _, s := range []string{"namespace", "the prefix", "repeated", "root element", "without a start tag", "is not closed", "no element", "closed by"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

func describe(e Element) string {
	s := e.Name.Clark()
	for _, a := range e.Attrs {
		s += " " + a.Name.Clark() + "=" + a.Value
	}
	return s
}

// referenceElements lists elements with encoding/xml's own namespace
// translation, and the character data inside the root element.
func referenceElements(data []byte) ([]string, string, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	var out []string
	var text strings.Builder
	depth := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return out, text.String(), nil
		}
		if err != nil {
			return nil, "", err
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			depth++
			e := Element{Name: Name{Space: tok.Name.Space, Local: tok.Name.Local}}
			for _, a := range tok.Attr {
				if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") {
					continue
				}
				e.Attrs = append(e.Attrs, Attr{Name: Name{Space: a.Name.Space, Local: a.Name.Local}, Value: a.Value})
			}
			out = append(out, describe(e))
		case xml.EndElement:
			depth--
		case xml.CharData:
			if depth > 0 {
				text.Write(tok)
			}
		}
	}
}

// TestLazy checks that a lazy tree reads only what its queries need, and
// that a malformation, once reached, is the answer to every later query.
func TestLazy(t *testing.T) {
	rec := []byte("<r a=\"1\">\n<title>T<i>1</i></title>\n<b>x</b>\n<c></d></r>")
	var p Parser
	tree, err := p.Lazy(rec)
	if err != nil {
		t.Fatal(err)
	}
	if v, _, _ := tree.Root().Attr("a"); v != "1" || tree.Len() != 1 {
		t.Fatalf("after Lazy: a=%q, %d elements read, want 1 (the root)", v, tree.Len())
	}
	if text, ok, err := tree.Text("title"); text != "T1" || !ok || err != nil {
		t.Fatalf("Text(title) = %q, %v, %v", text, ok, err)
	}
	if tree.Len() != 3 {
		t.Errorf("Text(title) read %d elements, want 3 (root, title, i)", tree.Len())
	}
	if ok, err := tree.Has("b"); !ok || err != nil {
		t.Fatalf("Has(b) = %v, %v", ok, err)
	}
	if _, err := tree.Texts("b"); err == nil || !strings.Contains(err.Error(), "closed by </d>") {
		t.Fatalf("Texts read the whole record: error %v, want the malformation", err)
	}
	for _, q := range []func() error{
		tree.Complete,
		func() error { _, _, err := tree.Text("zz"); return err },
		func() error { _, err := tree.Has("zz"); return err },
	} {
		var se *SyntaxError
		if err := q(); !errors.As(err, &se) || se.Line != 4 {
			t.Errorf("later query: %v, want the same *SyntaxError at line 4", err)
		}
	}
	// A query for an element that is not there reads to the end.
	tree, _ = p.Lazy([]byte("<r><a/></r junk>"))
	if _, ok, err := tree.Text("zz"); ok || err == nil {
		t.Errorf("Text(zz) on a record malformed at its end: %v, %v; want the malformation", ok, err)
	}
}

// TestIndexAny3 checks the word-at-a-time search against a byte loop, at
// every alignment and with the bytes it looks for next to each other and
// next to bytes >= 0x80.
func TestIndexAny3(t *testing.T) {
	alphabet := []byte{'a', '<', '&', '\r', 0x80, 0xff, 0x25, 0x3b, 0x0c, 0x26 ^ 0x80}
	rng := rand.New(rand.NewPCG(5, 6))
	for range 20000 {
		data := make([]byte, rng.IntN(40))
		for i := range data {
			data[i] = alphabet[rng.IntN(len(alphabet))]
		}
		a := rng.IntN(len(data) + 1)
		b := a + rng.IntN(len(data)-a+1)
		want := b
		for k := a; k < b; k++ {
			if c := data[k]; c == '<' || c == '&' || c == '\r' {
				want = k
				break
			}
		}
		if got := indexAny3(data, a, b, '<', '&', '\r'); got != want {
			t.Fatalf("indexAny3(%q, %d, %d) = %d, want %d", data, a, b, got, want)
		}
	}
}
