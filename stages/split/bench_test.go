package split

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sourcegraph/conc/pool"

	"github.com/sluicehq/sluice/stage"
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

func (c *countEmitter) Emit(*stage.Record) error              { c.n++; return nil }
func (c *countEmitter) Reject(_ *stage.Record, e error) error { return e }

func benchStage(b *testing.B, o *Options, name, content string) {
	path := filepath.Join(b.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		b.Fatal(err)
	}
	st := mustBuild(b, o)
	file := stage.Record{Type: stage.File, Source: stage.Position{File: path}, Size: int64(len(content))}
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

// BenchmarkSplitFile splits one 64 MB file three ways: whole on one
// goroutine (chunk: 0), and by 4 MiB byte ranges on one and on two
// workers, started in order as the runner starts them. The records go to a
// counting sink. On a machine with two free cores, workers=2 should take
// a little over half the time of whole; compare the MB/s of one run.
func BenchmarkSplitFile(b *testing.B) {
	for _, f := range []struct {
		name string
		opt  func(o *Options)
		gen  func(int) string
	}{
		{"xml", func(o *Options) { o.XML = &XMLOptions{Element: "record"} }, catalogue},
		{"csv", func(o *Options) { o.CSV = &CSVOptions{} }, csvData},
		{"lines", func(o *Options) { o.Lines = &LinesOptions{} }, csvData},
	} {
		content := f.gen(64 << 20)
		path := filepath.Join(b.TempDir(), f.name)
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			b.Fatal(err)
		}
		st := mustBuild(b, withDefaults(f.opt))
		file := stage.Record{Type: stage.File, Source: stage.Position{File: path}}
		for _, mode := range []struct {
			name    string
			workers int
		}{{"whole", 0}, {"workers=1", 1}, {"workers=2", 2}} {
			b.Run(f.name+"/"+mode.name, func(b *testing.B) {
				b.SetBytes(int64(len(content)))
				var records int
				serial := st.stats.serial.Load()
				for b.Loop() {
					if mode.workers == 0 {
						var em countEmitter
						if err := st.Process(context.Background(), &file, &em); err != nil {
							b.Fatal(err)
						}
						records = em.n
						continue
					}
					records = splitParts(b, st, &file, 4<<20, mode.workers)
				}
				b.ReportMetric(float64(records), "records/op")
				if mode.workers > 0 {
					// The sequential part: handoff to handoff in the
					// replayed ranges, per GB of input.
					ns := float64(st.stats.serial.Load() - serial)
					b.ReportMetric(ns/1e9/(float64(b.N)*float64(len(content))/1e9), "serial-s/GB")
				}
			})
		}
	}
}

// splitParts splits file by ranges of chunk bytes on workers goroutines
// and returns how many records came out.
func splitParts(b *testing.B, st *Stage, file *stage.Record, chunk int64, workers int) int {
	ranged := *st
	ranged.chunk = chunk
	parts, err := ranged.Partition(context.Background(), file)
	if err != nil {
		b.Fatal(err)
	}
	ems := make([]countEmitter, len(parts))
	errs := make([]error, len(parts))
	p := pool.New().WithMaxGoroutines(workers)
	for k, part := range parts {
		p.Go(func() { errs[k] = part(context.Background(), &ems[k]) })
	}
	p.Wait()
	n := 0
	for k := range parts {
		if errs[k] != nil {
			b.Fatal(errs[k])
		}
		n += ems[k].n
	}
	return n
}
