package xmlsplit

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// manyNamespaces returns the document of issue 14 item 6 in small: n
// namespace declarations on the root (p0 to p<n-1>, redeclared deeper for
// some), and records that use a few of them in names, in QName attribute
// values (xsi:type="p7:t"), in text, through character references and
// through an entity, besides empty records that use none.
func manyNamespaces(n, empty int) []byte {
	var b bytes.Buffer
	b.WriteString(`<!DOCTYPE root [<!ENTITY pre "p9">]>` + "\n")
	b.WriteString(`<root xmlns="urn:default" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"`)
	for i := range n {
		fmt.Fprintf(&b, ` xmlns:p%d="urn:ns:%d"`, i, i)
	}
	b.WriteString(">\n")
	for range empty {
		b.WriteString("<r/>\n")
	}
	b.WriteString(`<r><p1:a p2:b="1"/></r>` + "\n")
	b.WriteString(`<r xsi:type="p3:t">p4:text p5 :p6 x</r>` + "\n")
	b.WriteString(`<r>&#112;7&#58;t &pre;:t p&#56;:t</r>` + "\n")
	b.WriteString(`<g xmlns:p10="urn:inner"><r v="p10:t p11:u"/></g>` + "\n")
	b.WriteString(`<r xmlns:p12="urn:own" v="p12:t"/>` + "\n")
	b.WriteString("</root>\n")
	return b.Bytes()
}

var qnameRE = regexp.MustCompile(`([A-Za-z_][\w.-]*):([A-Za-z_][\w.-]*)`)

// qnames resolves every prefix:local in the attribute values and text of
// the elements named r in doc, with encoding/xml and a scope of its own:
// one list per r element, each entry "prefix=uri" ("prefix=?" when
// undeclared). It is what a reader of QName values needs from a record.
func qnames(t *testing.T, doc []byte) [][]string {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(doc))
	d.Entity = map[string]string{"pre": "p9"}
	var scopes []map[string]string
	var out [][]string
	in := -1
	resolve := func(s string) {
		for _, m := range qnameRE.FindAllStringSubmatch(s, -1) {
			uri := "?"
			for i := len(scopes) - 1; i >= 0; i-- {
				if u, ok := scopes[i][m[1]]; ok {
					uri = u
					break
				}
			}
			out[len(out)-1] = append(out[len(out)-1], m[1]+"="+uri)
		}
	}
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("%v\n%s", err, doc)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			scope := map[string]string{}
			for _, a := range tok.Attr {
				if a.Name.Space == "xmlns" {
					scope[a.Name.Local] = a.Value
				}
			}
			scopes = append(scopes, scope)
			if tok.Name.Local == "r" && in < 0 {
				in = len(scopes)
				out = append(out, nil)
			}
			if in >= 0 {
				for _, a := range tok.Attr {
					if a.Name.Space != "xmlns" && a.Name != (xml.Name{Local: "xmlns"}) {
						resolve(a.Value)
					}
				}
			}
		case xml.EndElement:
			if len(scopes) == in {
				in = -1
			}
			scopes = scopes[:len(scopes)-1]
		case xml.CharData:
			if in >= 0 {
				resolve(string(tok))
			}
		}
	}
}

// TestCarryUsedOnly checks item 6 of issue 14: with more than CarryAll
// bytes of declarations in scope, a record carries the default namespace
// and the declarations it uses only, and keeps its meaning: its names
// (against encoding/xml on the whole document) and its QName values and
// text (against the scope of the whole document) resolve as they do in
// place; an empty record stays small.
func TestCarryUsedOnly(t *testing.T) {
	doc := manyNamespaces(2000, 20)
	checkAgainstReference(t, doc, "r", &refDTD{ents: map[string]string{"pre": "p9"}})
	recs, err := splitAll(t, doc, "r", 0)
	if err != nil {
		t.Fatal(err)
	}
	var got [][]string
	for _, r := range recs {
		got = append(got, qnames(t, r.Data)...)
	}
	if diff := cmp.Diff(qnames(t, doc), got); diff != "" {
		t.Fatalf("QNames in records resolve differently from the document (-want +got):\n%s", diff)
	}
	if want := `<r xmlns="urn:default"/>`; string(recs[0].Data) != want {
		t.Fatalf("empty record: got %q, want %q", recs[0].Data, want)
	}
	for _, r := range recs {
		if len(r.Data) > 600 {
			t.Fatalf("record at line %d carries %d bytes: %.200s", r.Line, len(r.Data), r.Data)
		}
	}
	// Each prefix the records use and the document declares, and only those.
	all := string(bytes.Join(func() (b [][]byte) {
		for _, r := range recs {
			b = append(b, r.Data)
		}
		return b
	}(), nil))
	for i := range 13 {
		decl := fmt.Sprintf(`xmlns:p%d="urn:ns:%d"`, i, i)
		want := i != 0 && i != 5 && i != 6 && i != 10 && i != 12 // p0, p5, p6 unused; p10, p12 redeclared
		if strings.Contains(all, decl) != want {
			t.Errorf("records carry %s: %v, want %v\n%s", decl, !want, want, all)
		}
	}
}

// TestCarryAllSmallScope checks that below CarryAll every declaration in
// scope is carried, used or not (queries may name any prefix in scope).
func TestCarryAllSmallScope(t *testing.T) {
	doc := manyNamespaces(20, 1)
	recs, err := splitAll(t, doc, "r", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if c := bytes.Count(r.Data, []byte("xmlns:p")); c < 20 {
			t.Fatalf("record at line %d carries %d declarations, want all 20 or more: %s", r.Line, c, r.Data)
		}
	}
}

// TestCarryLinear checks that the output does not grow with the scope:
// 8 times the declarations on the root, the same records, the same bytes.
func TestCarryLinear(t *testing.T) {
	out := func(n int) int {
		recs, err := splitAll(t, manyNamespaces(n, 500), "r", 0)
		if err != nil {
			t.Fatal(err)
		}
		total := 0
		for _, r := range recs {
			total += len(r.Data)
		}
		return total
	}
	if small, large := out(1000), out(8000); large > small+small/10 {
		t.Fatalf("output grew from %d to %d bytes with 8 times the declarations in scope", small, large)
	}
}

// TestContextSharesScope checks that a Context snapshot shares the
// declarations in scope instead of copying them: a speculative range scan
// takes one at every piece of markup outside records, and 50,000
// declarations on the root copied into each made range splitting of such a
// document hold hundreds of MB. Snapshots taken in different states (after
// an end tag outside records) share the root's frame, and a snapshot
// survives JSON (resuming from one is TestRangesManyNamespaces's).
func TestContextSharesScope(t *testing.T) {
	var b bytes.Buffer
	b.WriteString(`<root xmlns="urn:d"`)
	for i := range 3000 {
		fmt.Fprintf(&b, ` xmlns:p%d="urn:%d"`, i, i)
	}
	b.WriteString(">")
	for i := range 3 {
		fmt.Fprintf(&b, `<g xmlns:q="urn:q%d"><r><p%d:x q:y="1"/></r></g>`, i, i)
	}
	b.WriteString("</root>")
	m, _ := ParseMatch("r")
	s := New(bytes.NewReader(b.Bytes()), Options{Match: m})
	var snaps []*Context
	for {
		_, err := s.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		snaps = append(snaps, s.Context())
	}
	if len(snaps) != 3 {
		t.Fatalf("%d records, want 3", len(snaps))
	}
	for i, c := range snaps {
		if len(c.ns) != 2 || len(c.ns[0]) != 3001 || len(c.ns[1]) != 1 {
			t.Fatalf("snapshot %d: %d frames, want the root's (3001) and g's (1)", i, len(c.ns))
		}
		if &c.ns[0][0] != &snaps[0].ns[0][0] {
			t.Fatalf("snapshot %d copies the root's declarations", i)
		}
		if c.ns[1][0].uri != fmt.Sprintf("urn:q%d", i) {
			t.Fatalf("snapshot %d: g declares %q", i, c.ns[1][0].uri)
		}
	}
	// A Context survives JSON.
	j, err := json.Marshal(snaps[0])
	if err != nil {
		t.Fatal(err)
	}
	var back Context
	if err := json.Unmarshal(j, &back); err != nil || !back.Equal(snaps[0]) {
		t.Fatalf("context after JSON differs (%v)", err)
	}
}
