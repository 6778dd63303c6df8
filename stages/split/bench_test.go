package split

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/core"
)

// catalogue writes a catalogue-like document of about size bytes: records
// of roughly 900 bytes with nested elements, attributes, namespaces, an
// entity reference and a CDATA section.
func catalogue(size int) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	b.WriteString(`<catalog xmlns="urn:catalog" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:rec="urn:rec">` + "\n")
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, `  <rec:record id="%d" type="book" xml:lang="en" updated="2024-01-02T03:04:05Z">
    <dc:title>Title number %d of the catalogue &amp; friends</dc:title>
    <dc:creator role="author">Author %d</dc:creator>
    <identifiers>
      <isbn type="13">978-3-16-%06d-0</isbn>
      <oclc>%08d</oclc>
    </identifiers>
    <subjects>
      <subject scheme="lcsh" code="QA76">Computer science</subject>
      <subject scheme="lcsh" code="QA76.9">Data processing</subject>
    </subjects>
    <holdings>
      <item barcode="39%06d" location="main" status="available"/>
      <item barcode="39%06d" location="annex" status="on-loan" due="2024-02-01"/>
    </holdings>
    <note><![CDATA[Shelved with <care>; see the annex]]></note>
    <description>A fairly long description of item %d, written to make the record the size of a real one, with some more words.</description>
  </rec:record>
`, i, i, i%1000, i%1000000, i, i, i+1, i)
	}
	b.WriteString("</catalog>\n")
	return b.String()
}

func csvData(size int) string {
	var b strings.Builder
	b.WriteString("id,name,city,amount,note\n")
	for i := 0; b.Len() < size; i++ {
		if i%10 == 0 {
			fmt.Fprintf(&b, "%d,\"Smith, John\",Lyon,%d.%02d,\"said \"\"hi\"\"\"\n", i, i%1000, i%100)
		} else {
			fmt.Fprintf(&b, "%d,Jane Doe %d,Paris,%d.%02d,plain note\n", i, i, i%1000, i%100)
		}
	}
	return b.String()
}

type countEmitter struct{ n int }

func (c *countEmitter) Emit(*core.Record) error              { c.n++; return nil }
func (c *countEmitter) Reject(_ *core.Record, e error) error { return e }

func benchStage(b *testing.B, o *Options, name, content string) {
	path := filepath.Join(b.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		b.Fatal(err)
	}
	st := mustBuild(b, o)
	file := core.Record{Type: core.File, Source: core.Position{File: path}, Size: int64(len(content))}
	b.SetBytes(int64(len(content)))
	b.ReportAllocs()
	b.ResetTimer()
	var em countEmitter
	for b.Loop() {
		em.n = 0
		if err := st.Process(context.Background(), &file, &em); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(em.n), "records/op")
}

// BenchmarkSplitXML splits a 20 MB catalogue of ~900-byte records, from
// a file, on one goroutine.
func BenchmarkSplitXML(b *testing.B) {
	benchStage(b, withDefaults(func(o *Options) { o.XML = &XMLOptions{Element: "record"} }), "catalog.xml", catalogue(20<<20))
}

// BenchmarkSplitCSV splits 20 MB of five-column CSV, a tenth of the rows
// with quoted fields.
func BenchmarkSplitCSV(b *testing.B) {
	benchStage(b, withDefaults(func(o *Options) { o.CSV = &CSVOptions{} }), "data.csv", csvData(20<<20))
}

// BenchmarkSplitJSONL splits 20 MB of JSON lines, validating each.
func BenchmarkSplitJSONL(b *testing.B) {
	var s strings.Builder
	for i := 0; s.Len() < 20<<20; i++ {
		fmt.Fprintf(&s, `{"id":%d,"name":"Jane Doe","tags":["a","b"],"amount":%d.5,"ok":true}`+"\n", i, i)
	}
	benchStage(b, withDefaults(func(o *Options) { o.JSONL = &JSONLOptions{} }), "data.jsonl", s.String())
}

func TestCatalogueIsValid(t *testing.T) {
	doc := catalogue(20 << 10)
	recs, _, err := run(t, withDefaults(func(o *Options) { o.XML = &XMLOptions{Element: "record"} }), writeFile(t, "c.xml", doc), true)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(doc, "<rec:record "); len(recs) != n || n == 0 {
		t.Fatalf("records = %d, want %d", len(recs), n)
	}
	if avg := len(doc) / len(recs); avg < 800 || avg > 1000 {
		t.Errorf("average record size %d, want about 900", avg)
	}
}
