package sdk_test

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/sdk"
)

// refNode is an element as encoding/xml reads it: the independent
// computation the reader's answers are checked against.
type refNode struct {
	name     xml.Name
	attrs    []xml.Attr // namespace declarations left out
	children []*refNode
	text     strings.Builder // its character data and its descendants'
	parent   *refNode
}

func refParse(data []byte) (*refNode, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	var root, cur *refNode
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return root, nil
		}
		if err != nil {
			return nil, err
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			n := &refNode{name: tok.Name, parent: cur}
			for _, a := range tok.Attr {
				if a.Name.Space != "xmlns" && !(a.Name.Space == "" && a.Name.Local == "xmlns") {
					n.attrs = append(n.attrs, a)
				}
			}
			if cur == nil {
				root = n
			} else {
				cur.children = append(cur.children, n)
			}
			cur = n
		case xml.EndElement:
			cur = cur.parent
		case xml.CharData:
			for n := cur; n != nil; n = n.parent {
				n.text.Write(tok)
			}
		}
	}
}

// refMatch returns the elements below n that steps (Clark names or "*")
// match, in document order.
func refMatch(n *refNode, steps []string) []*refNode {
	if len(steps) == 0 {
		return []*refNode{n}
	}
	var out []*refNode
	for _, c := range n.children {
		if steps[0] == "*" || steps[0] == clark(c.name) {
			out = append(out, refMatch(c, steps[1:])...)
		}
	}
	return out
}

func clark(n xml.Name) string { return "{" + n.Space + "}" + n.Local }

func refAttr(n *refNode, name string) (string, bool) {
	for _, a := range n.attrs {
		if clark(a.Name) == name {
			return a.Value, true
		}
	}
	return "", false
}

// genRecord writes a record with namespaces (a default one, prefixes
// declared on the root and redeclared below it, xmlns=""), references,
// CDATA, comments, processing instructions, CRLF line ends and deep
// nesting.
func genRecord(r *rand.Rand) []byte {
	var b strings.Builder
	locals := []string{"a", "b", "c"}
	prefixes := []string{"", "", "p", "q"}
	texts := []string{"x", "&amp;", "&lt;&gt;", "&#233;", "&#x1F600;", "<![CDATA[<&]]]]><![CDATA[>]]>", "<!-- c -->", "<?pi x?>", "\r\n", " ", "é"}
	vals := []string{"v", "&quot;q&quot;", "a&amp;b", "&#9;t", "\r\nl", "é"}
	var elem func(depth int)
	elem = func(depth int) {
		prefix := prefixes[r.IntN(len(prefixes))]
		name := locals[r.IntN(len(locals))]
		if prefix != "" {
			name = prefix + ":" + name
		}
		b.WriteString("<" + name)
		if depth == 0 {
			b.WriteString(` xmlns:p="urn:p" xmlns:q="urn:q"`)
			if r.IntN(2) == 0 {
				b.WriteString(` xmlns="urn:d"`)
			}
		} else {
			switch r.IntN(8) {
			case 0:
				b.WriteString(` xmlns:p="urn:p2"`)
			case 1:
				b.WriteString(` xmlns=""`)
			case 2:
				b.WriteString(` xmlns="urn:e"`)
			}
		}
		for i, an := range []string{"id", "p:id", "xml:lang", "q:n"} {
			if r.IntN(3) == 0 {
				fmt.Fprintf(&b, " %s=\"%s%d\"", an, vals[r.IntN(len(vals))], i)
			}
		}
		if depth > 5 || r.IntN(5) == 0 {
			b.WriteString("/>")
			return
		}
		b.WriteString(">")
		for range r.IntN(5) {
			if r.IntN(2) == 0 {
				b.WriteString(texts[r.IntN(len(texts))])
			} else {
				elem(depth + 1)
			}
		}
		b.WriteString("</" + name + ">")
	}
	elem(0)
	return []byte(b.String())
}

// refPaths returns the element paths (Clark steps, some "*") leading to
// the record's elements, and a few that lead nowhere.
func refPaths(r *rand.Rand, root *refNode) [][]string {
	var out [][]string
	var walk func(n *refNode, path []string)
	walk = func(n *refNode, path []string) {
		if len(path) > 0 {
			p := append([]string(nil), path...)
			if r.IntN(4) == 0 {
				p[r.IntN(len(p))] = "*"
			}
			out = append(out, p)
		}
		for _, c := range n.children {
			walk(c, append(path, clark(c.name)))
		}
	}
	walk(root, nil)
	out = append(out, []string{"{urn:none}a"}, []string{"*", "*", "{}zz"})
	return out
}

// refNames returns the Clark names of the elements below n.
func refNames(n *refNode, seen map[string]bool) []string {
	var out []string
	for _, c := range n.children {
		if cn := clark(c.name); !seen[cn] {
			seen[cn] = true
			out = append(out, cn)
		}
		out = append(out, refNames(c, seen)...)
	}
	return out
}

func TestXMLReaderMatchesEncodingXML(t *testing.T) {
	r := rand.New(rand.NewPCG(16, 2026))
	var xr sdk.XMLReader
	attrNames := []string{"{}id", "{urn:p}id", "{urn:p2}id", "{http://www.w3.org/XML/1998/namespace}lang", "{urn:q}n"}
	checked := 0
	for range 400 {
		data := genRecord(r)
		root, err := refParse(data)
		if err != nil {
			t.Fatalf("generated record rejected by encoding/xml: %v\n%s", err, data)
		}
		rec, err := xr.Read(data)
		if err != nil {
			t.Fatalf("%s: %v", data, err)
		}
		if v, _, err := rec.Text("."); err != nil || v != root.text.String() {
			t.Fatalf("%s: Text(.) = %q, %v; encoding/xml: %q", data, v, err, root.text.String())
		}
		names := refNames(root, map[string]bool{})
		for _, steps := range refPaths(r, root) {
			path := strings.Join(steps, "/")
			want := refMatch(root, steps)
			v, ok, err := rec.Text(path)
			if err != nil || ok != (len(want) > 0) || ok && v != want[0].text.String() {
				t.Fatalf("%s\nText(%q) = %q, %v, %v; encoding/xml: %d matches", data, path, v, ok, err, len(want))
			}
			for _, an := range attrNames {
				wv, wok := "", false
				for _, n := range want {
					if wv, wok = refAttr(n, an); wok {
						break
					}
				}
				v, ok, err := rec.Text(path + "/@" + an)
				if err != nil || ok != wok || v != wv {
					t.Fatalf("%s\nText(%q) = %q, %v, %v; encoding/xml: %q, %v", data, path+"/@"+an, v, ok, err, wv, wok)
				}
				checked++
			}
			i := 0
			for e, err := range rec.Each(path) {
				if err != nil || i >= len(want) {
					t.Fatalf("%s\nEach(%q): element %d, %v; encoding/xml: %d", data, path, i, err, len(want))
				}
				w := want[i]
				if e.Name() != strings.TrimPrefix(clark(w.name), "{}") {
					t.Fatalf("%s\nEach(%q) element %d is %s, encoding/xml: %s", data, path, i, e.Name(), clark(w.name))
				}
				for _, an := range attrNames {
					wv, wok := refAttr(w, an)
					if v, ok, err := e.Attr(an); err != nil || ok != wok || v != wv {
						t.Fatalf("%s\nEach(%q) element %d: Attr(%q) = %q, %v, %v; encoding/xml: %q, %v", data, path, i, an, v, ok, err, wv, wok)
					}
				}
				if v, _, err := e.Text("."); err != nil || v != w.text.String() {
					t.Fatalf("%s\nEach(%q) element %d: Text(.) = %q, %v; encoding/xml: %q", data, path, i, v, err, w.text.String())
				}
				// Below this element only, not in the elements after it.
				for _, cn := range names {
					wc := refMatch(w, []string{cn})
					cv, ok, err := e.Text(cn)
					if err != nil || ok != (len(wc) > 0) || ok && cv != wc[0].text.String() {
						t.Fatalf("%s\nEach(%q) element %d: Text(%q) = %q, %v, %v; encoding/xml: %d matches", data, path, i, cn, cv, ok, err, len(wc))
					}
				}
				n := 0
				for c, err := range e.Each("*") {
					if err != nil || n >= len(w.children) || c.Name() != strings.TrimPrefix(clark(w.children[n].name), "{}") {
						t.Fatalf("%s\nEach(%q) element %d: child %d is %s, %v; encoding/xml: %d children", data, path, i, n, c.Name(), err, len(w.children))
					}
					n++
				}
				if n != len(w.children) {
					t.Fatalf("%s\nEach(%q) element %d: %d children, encoding/xml %d", data, path, i, n, len(w.children))
				}
				i++
			}
			if i != len(want) {
				t.Fatalf("%s\nEach(%q) yielded %d elements, encoding/xml %d", data, path, i, len(want))
			}
		}
	}
	if checked < 5000 {
		t.Fatalf("only %d attribute questions checked", checked)
	}
}
