package xmlview

import (
	"bytes"
	"encoding/xml"
	"io"
	"os"
	"testing"
)

// w1Records returns the records of testdata/w1-records.xml: 64 records of
// the W1 corpus (about 910 bytes each), as split emits them.
func w1Records(tb testing.TB) ([][]byte, int64) {
	tb.Helper()
	doc, err := os.ReadFile("testdata/w1-records.xml")
	if err != nil {
		tb.Fatal(err)
	}
	var recs [][]byte
	var size int64
	for {
		i := bytes.Index(doc, []byte("<record "))
		if i < 0 {
			break
		}
		j := bytes.Index(doc[i:], []byte("</record>"))
		rec := doc[i : i+j+len("</record>")]
		recs = append(recs, rec)
		size += int64(len(rec))
		doc = doc[i+j:]
	}
	if len(recs) != 64 {
		tb.Fatalf("testdata/w1-records.xml holds %d records, want 64", len(recs))
	}
	return recs, size
}

// BenchmarkParse parses W1 records on one goroutine: Tree (the whole
// record, what texts() needs),
// Tree-checked (the same for records split has checked),
// Elements-checked (without the text, as count reads records), Root
// (the root start tag, what attr() needs), and for reference the same
// records through encoding/xml's RawToken, the parser xmlview replaced.
// SetBytes makes MB/s the throughput per core.
func BenchmarkParse(b *testing.B) {
	recs, size := w1Records(b)
	per := size / int64(len(recs))
	checked := Parser{Checked: true} // records from split: characters checked there
	var strict Parser
	for _, bench := range []struct {
		name  string
		parse func([]byte) error
	}{
		{"Tree", func(r []byte) error { _, err := strict.Tree(r); return err }},
		{"Tree-checked", func(r []byte) error { _, err := checked.Tree(r); return err }},
		{"Elements-checked", func(r []byte) error { _, err := checked.Elements(r); return err }}, // count's attribute mode
		{"Root", func(r []byte) error { _, err := strict.Root(r); return err }},
	} {
		b.Run(bench.name, func(b *testing.B) {
			b.SetBytes(per)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if err := bench.parse(recs[i%len(recs)]); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
	b.Run("encoding-xml-RawToken", func(b *testing.B) {
		var rd bytes.Reader
		b.SetBytes(per)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			rd.Reset(recs[i%len(recs)])
			d := xml.NewDecoder(&rd)
			for {
				_, err := d.RawToken()
				if err == io.EOF {
					break
				}
				if err != nil {
					b.Fatal(err)
				}
			}
			i++
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	})
}

// TestW1RecordsMatchEncodingXML checks the benchmark's records against
// encoding/xml, so that the benchmark measures correct parses.
func TestW1RecordsMatchEncodingXML(t *testing.T) {
	recs, _ := w1Records(t)
	var p Parser
	for i, rec := range recs {
		tree, err := p.Tree(rec)
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		want, text, err := referenceElements(rec)
		if err != nil {
			t.Fatalf("record %d: encoding/xml: %v", i, err)
		}
		var got []string
		for j := range tree.Len() {
			got = append(got, describe(tree.Element(j)))
		}
		if len(got) != len(want) {
			t.Fatalf("record %d: %d elements, encoding/xml finds %d", i, len(got), len(want))
		}
		for j := range got {
			if got[j] != want[j] {
				t.Fatalf("record %d element %d: %q, encoding/xml gives %q", i, j, got[j], want[j])
			}
		}
		if root, _, _ := tree.Text("."); root != text {
			t.Fatalf("record %d: text %q, encoding/xml gives %q", i, root, text)
		}
	}
}
