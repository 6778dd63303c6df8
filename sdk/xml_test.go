package sdk_test

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/sdk"
)

func TestXMLReader(t *testing.T) {
	var xr sdk.XMLReader
	type want struct{ typ, lang, title string }
	for _, tt := range []struct {
		data string
		want want
	}{
		{`<record type="book" xml:lang="fr"><title>Ab 3</title></record>`, want{"book", "fr", "Ab 3"}},
		{`<record type='a&amp;b'><!-- no --><title>x<i>y</i><![CDATA[<z>]]>&#233;</title><title>second</title></record>`, want{"a&b", "-", "xy<z>é"}},
		{"<record>\r\n<title>line\r\nbreak</title></record>", want{"-", "-", "line\nbreak"}},
		// The title is looked for in the root's default namespace, whatever
		// prefix the record uses for it; an attribute with a prefix is not
		// the unprefixed one.
		{`<c:record xmlns:c="urn:c" xmlns="urn:c" c:type="no"><c:title>in c</c:title></c:record>`, want{"-", "-", "in c"}},
		{`<record xmlns:o="urn:o"><o:title>other</o:title><note><title>deeper</title></note></record>`, want{"-", "-", "-"}},
	} {
		rec, err := xr.Read([]byte(tt.data))
		if err != nil {
			t.Errorf("%s: %v", tt.data, err)
			continue
		}
		get := func(v string, ok bool, err error) string {
			if err != nil {
				t.Errorf("%s: %v", tt.data, err)
			}
			if !ok {
				return "-"
			}
			return v
		}
		got := want{get(rec.Attr("type")), get(rec.Attr("xml:lang")), get(rec.Text("title"))}
		if got != tt.want {
			t.Errorf("%s: got %+v, want %+v", tt.data, got, tt.want)
		}
	}
}

func TestXMLReaderStringsOutliveTheRecord(t *testing.T) {
	var xr sdk.XMLReader
	data := []byte(`<record type="first&#x21;" id="1"><title>one</title></record>`)
	rec, err := xr.Read(data)
	if err != nil {
		t.Fatal(err)
	}
	typ, _, _ := rec.Attr("type")
	id, _, _ := rec.Attr("id")
	title, _, _ := rec.Text("title")
	copy(data, strings.Repeat("x", len(data))) // the sdk may reuse a request's memory
	if _, err := xr.Read([]byte(`<record type="second&#x21;" id="2"><title>two</title></record>`)); err != nil {
		t.Fatal(err)
	}
	if typ != "first!" || id != "1" || title != "one" {
		t.Fatalf("strings changed after the next Read: %q %q %q", typ, id, title)
	}
}

func TestXMLReaderMalformed(t *testing.T) {
	var xr sdk.XMLReader
	if _, err := xr.Read([]byte(`<record type="a" type="b">`)); err == nil {
		t.Error("a repeated attribute was accepted")
	}
	if _, err := xr.Read([]byte(`no markup`)); err == nil {
		t.Error("text without an element was accepted")
	}
	rec, err := xr.Read([]byte(`<record><title>broken</record>`))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := rec.Text("title"); err == nil {
		t.Error("a title closed by </record> was accepted")
	}
	// Reading stops at the end of what was asked: a malformation after it is
	// not noticed.
	rec, err = xr.Read([]byte(`<record><title>fine</title><oops></record>`))
	if err != nil {
		t.Fatal(err)
	}
	if v, ok, err := rec.Text("title"); v != "fine" || !ok || err != nil {
		t.Errorf("Text = %q, %v, %v", v, ok, err)
	}
}

const pathRecord = `<record xmlns="urn:cat" xmlns:dc="urn:dc" type="book" xml:lang="en">
  <title>Maps &amp; <![CDATA[<Charts>]]></title>
  <published year="1999"><date>1999</date></published>
  <published place="Paris &amp; Lyon" dc:by="P"/>
  <authors>
    <author id="a1"><name>Ann</name><dc:role>ed</dc:role></author>
    <!-- a comment is not an element -->
    <author id="a2" xml:lang="fr"><name>B&#233;a</name></author>
  </authors>
  <x:meta xmlns:x="urn:x"><x:k v="1">K</x:k></x:meta>
  <plain xmlns=""><leaf>L</leaf></plain>
</record>`

func TestXMLReaderPaths(t *testing.T) {
	var xr sdk.XMLReader
	rec, err := xr.Read([]byte(pathRecord))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ path, want string }{
		{"title", "Maps & <Charts>"},
		{"@type", "book"},
		{"@xml:lang", "en"},
		{"@{http://www.w3.org/XML/1998/namespace}lang", "en"},
		{"published/date", "1999"},
		{"published/@place", "Paris & Lyon"}, // the first <published> that has one
		{"published/@year", "1999"},
		{"published/@dc:by", "P"},
		{"published/@{urn:dc}by", "P"},
		{"authors/author/name", "Ann"},
		{"authors/author/@id", "a1"},
		{"authors/*/@xml:lang", "fr"},
		{"authors/author/dc:role", "ed"},
		{"{urn:cat}authors/{urn:cat}author/{urn:dc}role", "ed"},
		{"*/{urn:x}k", "K"},
		{"*/{urn:x}k/@v", "1"},
		{"{}plain/{}leaf", "L"},
		{"published", "1999"},
		{"published/@missing", "-"},
		{"missing/name", "-"},
		{"x:meta", "-"},     // x is declared below the root, not on it
		{"plain/leaf", "-"}, // leaf is in no namespace, not the root's default
		{"authors/author/name/@id", "-"},
	} {
		v, ok, err := rec.Text(tt.path)
		if err != nil {
			t.Errorf("Text(%q): %v", tt.path, err)
			continue
		}
		if !ok {
			v = "-"
		}
		if v != tt.want {
			t.Errorf("Text(%q) = %q, want %q", tt.path, v, tt.want)
		}
	}
	if v, _, _ := rec.Text("."); !strings.Contains(v, "Maps & <Charts>") || !strings.Contains(v, "Béa") || strings.Contains(v, "comment") {
		t.Errorf(`Text(".") = %q`, v)
	}

	var got []string
	for a, err := range rec.Each("authors/author") {
		if err != nil {
			t.Fatal(err)
		}
		id, _, err1 := a.Attr("id")
		name, _, err2 := a.Text("name")
		lang, ok, err3 := a.Text("@xml:lang")
		if err := errors.Join(err1, err2, err3); err != nil {
			t.Fatal(err)
		}
		if !ok {
			lang = "-"
		}
		got = append(got, a.Name()+" "+id+" "+name+" "+lang)
	}
	want := []string{"{urn:cat}author a1 Ann -", "{urn:cat}author a2 Béa fr"}
	if !slices.Equal(got, want) {
		t.Errorf("Each(authors/author) = %q, want %q", got, want)
	}

	// Nested iterations, and leaving a loop early.
	var names []string
	for p, err := range rec.Each("*") {
		if err != nil {
			t.Fatal(err)
		}
		for c, err := range p.Each("*") {
			if err != nil {
				t.Fatal(err)
			}
			names = append(names, c.Name())
			break
		}
	}
	want = []string{"{urn:cat}date", "{urn:cat}author", "{urn:x}k", "leaf"}
	if !slices.Equal(names, want) {
		t.Errorf("first children = %q, want %q", names, want)
	}
}

func TestXMLReaderRejectsUnsupportedPaths(t *testing.T) {
	var xr sdk.XMLReader
	rec, err := xr.Read([]byte(pathRecord))
	if err != nil {
		t.Fatal(err)
	}
	for path, why := range map[string]string{
		"//name":                `leading "/"`,
		"authors//name":         `"//" (any depth)`,
		"authors/":              `trailing "/"`,
		"authors/..":            `".." (parent)`,
		"authors/./author":      `"." is supported only as the whole path`,
		"authors/author[2]":     "predicates",
		"authors/author[@id]":   "predicates",
		"title/text()":          "functions",
		"descendant::name":      "axes",
		"@*":                    `"@*"`,
		"@type/x":               `can only be the last step`,
		"authors/1author":       `"1author" is not an XML name`,
		"a b":                   `"a b" is not an XML name`,
		"{urn:x":                "missing }",
		"a:b:c":                 "not an XML name",
		"published/@":           "not an XML name",
		"authors/author | name": "not an XML name",
	} {
		_, _, err := rec.Text(path)
		if err == nil || !strings.Contains(err.Error(), why) || !strings.Contains(err.Error(), strconv.Quote(path)) || !strings.Contains(err.Error(), "published/@place") {
			t.Errorf("Text(%q): error %v, want one naming the path, %s, and the syntax", path, err, why)
		}
		for _, err := range rec.Each(path) {
			if err == nil {
				t.Errorf("Each(%q) yielded an element", path)
			}
		}
	}
	for _, name := range []string{"published/@place", "@type", "*", "", "a b"} {
		if _, _, err := rec.Attr(name); err == nil {
			t.Errorf("Attr(%q) did not fail", name)
		}
	}
	for _, err := range rec.Each("authors/author/@id") {
		if err == nil || !strings.Contains(err.Error(), "attribute") {
			t.Errorf("Each of an attribute path: %v", err)
		}
	}
}

func TestXMLRecordCheck(t *testing.T) {
	var xr sdk.XMLReader
	for data, ok := range map[string]bool{
		`<record><title>fine</title></record>`:                 true,
		`<record><title>fine</title><oops></record>`:           false,
		`<record><title>fine</title></record><second/>`:        false,
		`<record><title>fine</title></record> <!-- after --> `: true,
	} {
		rec, err := xr.Read([]byte(data))
		if err != nil {
			t.Fatal(err)
		}
		if v, _, _ := rec.Text("title"); ok && v != "fine" {
			t.Errorf("%s: title %q", data, v)
		}
		if err := rec.Check(); (err == nil) != ok {
			t.Errorf("%s: Check() = %v", data, err)
		}
	}
}
