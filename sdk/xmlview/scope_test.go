package xmlview

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"strings"
	"testing"
)

// wideRecord returns a record whose root has n attributes (half of them
// prefixed, bound by n/2 namespace declarations) and n/2 children with
// prefixed names: every per-element pass meets a large element and a
// large scope. With dup set, the last attribute repeats the first under
// another prefix bound to the same URI.
func wideRecord(n int, dup bool) []byte {
	var b bytes.Buffer
	b.WriteString("<r")
	for i := range n / 2 {
		fmt.Fprintf(&b, ` xmlns:p%d="urn:%d"`, i, i)
	}
	b.WriteString(` xmlns:same="urn:0"`)
	for i := range n {
		if i%2 == 0 {
			fmt.Fprintf(&b, ` a%d="%d"`, i, i)
		} else {
			fmt.Fprintf(&b, ` p%d:b="%d"`, i/2, i)
		}
	}
	if dup {
		b.WriteString(` same:b="x"`)
	}
	b.WriteString(">")
	for i := range n / 2 {
		fmt.Fprintf(&b, "<p%d:c/>", i)
	}
	b.WriteString("</r>")
	return b.Bytes()
}

// TestWideRecordLinear reads records of 2,000 and 16,000 attributes and
// checks that the name lookups and comparisons the Parser makes grow as the
// record does (8 times), not as its square (64 times): the check of
// issue 14 item 5 without a clock.
func TestWideRecordLinear(t *testing.T) {
	work := func(n int) int {
		var p Parser
		if _, err := p.Tree(wideRecord(n, false)); err != nil {
			t.Fatal(err)
		}
		return p.work
	}
	small, large := work(2000), work(16000)
	if small == 0 {
		t.Fatal("the Parser counted no work")
	}
	if ratio := float64(large) / float64(small); ratio > 10 {
		t.Fatalf("8 times the attributes cost %.1f times the work (%d -> %d): not linear", ratio, small, large)
	}
}

// TestWideRecordMatchesEncodingXML checks the attributes and names the
// Parser reads from a wide record against encoding/xml's.
func TestWideRecordMatchesEncodingXML(t *testing.T) {
	rec := wideRecord(3000, false)
	var want []string
	d := xml.NewDecoder(bytes.NewReader(rec))
	for {
		tok, err := d.Token()
		if err != nil {
			break
		}
		if se, ok := tok.(xml.StartElement); ok {
			want = append(want, "<"+se.Name.Space+" "+se.Name.Local)
			for _, a := range se.Attr {
				if a.Name.Space != "xmlns" && a.Name.Local != "xmlns" {
					want = append(want, a.Name.Space+" "+a.Name.Local+"="+a.Value)
				}
			}
		}
	}
	var p Parser
	tr, err := p.Tree(rec)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := range tr.Len() {
		e := tr.Element(i)
		got = append(got, "<"+e.Name.Space+" "+e.Name.Local)
		for _, a := range e.Attrs {
			got = append(got, a.Name.Space+" "+a.Name.Local+"="+a.Value)
		}
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got %d names and attributes, encoding/xml %d, or they differ", len(got), len(want))
	}
}

// TestWideRecordRepeated checks that a repeated attribute is found on a
// large element (by its resolved name, whatever its prefix) as on a small
// one, and that the next record does not see the last one's names.
func TestWideRecordRepeated(t *testing.T) {
	for _, n := range []int{4, 3000} {
		var p Parser
		_, err := p.Tree(wideRecord(n, true))
		if err == nil || !strings.Contains(err.Error(), "attribute {urn:0}b repeated on <r>") {
			t.Fatalf("%d attributes: got %v, want attribute {urn:0}b repeated", n, err)
		}
		if _, err := p.Tree(wideRecord(n, false)); err != nil {
			t.Fatalf("%d attributes, after a record with a repeat: %v", n, err)
		}
	}
	// The same names on two wide elements are no repeat.
	var many strings.Builder
	many.WriteString("<r>")
	for range 2 {
		many.WriteString("<e")
		for i := range 100 {
			fmt.Fprintf(&many, ` a%d="1"`, i)
		}
		many.WriteString("/>")
	}
	many.WriteString("</r>")
	var p Parser
	if _, err := p.Tree([]byte(many.String())); err != nil {
		t.Fatalf("two wide siblings with the same attribute names: %v", err)
	}
}

// BenchmarkWideRecord reads one record of n attributes (and n/2 prefixed
// names): the cost per attribute stays flat as n grows (ns/attr).
func BenchmarkWideRecord(b *testing.B) {
	for _, n := range []int{1000, 10000, 100000} {
		rec := wideRecord(n, false)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			var p Parser
			b.SetBytes(int64(len(rec)))
			for b.Loop() {
				if _, err := p.Tree(rec); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/attr")
		})
	}
}
