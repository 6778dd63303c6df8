package xmlsplit

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"
)

// w1Doc returns a document of about size bytes shaped like the W1
// corpus (bench/): records of about 900 bytes with four attributes,
// nested elements of one to three attributes, non-ASCII text, character
// references, and, in some records, a comment, xml:lang, a default
// namespace on an inner element, or a prefix declared on the record.
func w1Doc(size int) []byte {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<catalogue generator="gen_corpus.py" seed="42">` + "\n")
	for i := 0; b.Len() < size; i++ {
		decl, title, rights, extra := "", "", "", ""
		if i%4 == 3 {
			decl = ` xmlns:dc="http://purl.org/dc/elements/1.1/"`
			title = ` xml:lang="en"`
			rights = "\n    <dc:rights dc:type=\"license\">CC-BY 4.0</dc:rights>"
			extra = "\n    <!-- checked by cataloguer -->"
		}
		if i%4 == 2 {
			extra = "\n    <meta xmlns=\"urn:example:catalogue:meta\" source=\"manual\" note='the \"best\" edition'><harvested>1969</harvested></meta>"
		}
		fmt.Fprintf(&b, `  <record id="r%08d" type="book" lang="en"%s status="active">
    <title%s>Theory Résumé %d</title>%s
    <authors>
      <author role="edt" key="p%06d">Núñez, Zoë</author>
      <author role="aut" key="p036031">Chen, Björn</author>
    </authors>
    <subjects>
      <subject scheme="mesh" code="me00867">Economics -- History</subject>
      <subject scheme="ddc" code="dd02119" weight="0.4">Travel -- Juvenile literature</subject>
    </subjects>
    <published year="1908" place="Madrid">Springer</published>
    <identifiers>
      <isbn type="isbn13">9780252860896</isbn>
    </identifiers>%s
    <body format="text">Cr&#232;me north empire light &amp; summer road war forest. &#220;ber peace atlas music archive 東&#20140; water. Voices cr&#232;me songs river network letters.</body>
  </record>
`, i, decl, title, i, extra, i%1000000, rights)
	}
	b.WriteString("</catalogue>\n")
	return []byte(b.String())
}

// nsDoc returns a document of about size bytes whose records use two
// prefixes declared on the root and xml:lang.
func nsDoc(size int) []byte {
	var b strings.Builder
	b.WriteString(`<catalog xmlns="urn:catalog" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:rec="urn:rec">` + "\n")
	for b.Len() < size {
		b.WriteString(`  <rec:record id="1" type="book" xml:lang="en" updated="2024-01-02T03:04:05Z">
    <dc:title>Title of the catalogue &amp; friends</dc:title>
    <dc:creator role="author">Author</dc:creator>
    <identifiers><isbn type="13">978-3-16-000000-0</isbn><oclc>00000001</oclc></identifiers>
    <holdings>
      <item barcode="39000001" location="main" status="available"/>
      <item barcode="39000002" location="annex" status="on-loan" due="2024-02-01"/>
    </holdings>
  </rec:record>
`)
	}
	b.WriteString("</catalog>\n")
	return []byte(b.String())
}

// BenchmarkSplit splits 8 MB documents in memory on one goroutine: W1
// records (few namespaces) and records with prefixed names throughout
// (the namespace checks' path). Compare runs of the same binary or interleaved runs of
// two builds; MB/s is per core.
func BenchmarkSplit(b *testing.B) {
	for _, c := range []struct {
		name string
		doc  []byte
		elem string
	}{
		{"w1", w1Doc(8 << 20), "record"},
		{"ns", nsDoc(8 << 20), "rec:record"},
	} {
		b.Run(c.name, func(b *testing.B) {
			m, err := ParseMatch(c.elem)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(c.doc)))
			b.ReportAllocs()
			for b.Loop() {
				s := New(bytes.NewReader(c.doc), Options{Match: m})
				n := 0
				for {
					_, err := s.Next()
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
					n++
				}
				if n == 0 {
					b.Fatal("no records")
				}
			}
		})
	}
}
