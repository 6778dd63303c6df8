package sdk_test

import (
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
