package split

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sluicehq/sluice/sdk"
	"github.com/sluicehq/sluice/sdk/sdktest"
	"github.com/sluicehq/sluice/stage"
	"github.com/sluicehq/sluice/stage/stagetest"
	"github.com/sluicehq/sluice/stages/split/internal/xmlsplit"
)

// builtRecord is what a plugin sees of a record, as sdktest builds it and
// as split emits it.
type builtRecord struct {
	Kind   sdk.Kind
	Data   string
	Source sdk.Position
	Header []string
	Fields []string
}

func fromSDK(recs []sdk.Record) []builtRecord {
	var out []builtRecord
	for _, r := range recs {
		b := builtRecord{Kind: r.Kind, Data: string(r.Data), Source: r.Source, Fields: r.Fields}
		if r.Header != nil {
			b.Header = r.Header.Names
		}
		out = append(out, b)
	}
	return out
}

// splitRecords runs the split stage on the file at path.
func splitRecords(t *testing.T, o *Options, path string) []builtRecord {
	t.Helper()
	file := stage.Record{Type: stage.File, Source: stage.Position{File: path}}
	res, err := stagetest.Run(context.Background(), mustBuild(t, o), []stage.Record{file}, stagetest.Options{FailOnReject: true})
	if err != nil {
		t.Fatalf("split: %v", err)
	}
	var out []builtRecord
	for _, r := range res.Records {
		kind := map[stage.Type]sdk.Kind{stage.XML: sdk.XML, stage.CSV: sdk.CSV}[r.Type]
		b := builtRecord{Kind: kind, Data: string(r.Data), Source: sdk.Position(r.Source), Fields: r.Fields}
		if r.Header != nil {
			b.Header = r.Header.Names
		}
		out = append(out, b)
	}
	return out
}

// compareBuilt fails t unless build gives the records split emits for
// the file at path (doc) with o, and returns how many there are.
func compareBuilt(t *testing.T, doc, how string, o *Options, path string, build func() ([]sdk.Record, error)) int {
	t.Helper()
	want := splitRecords(t, o, path)
	got, err := build()
	if err != nil {
		t.Fatalf("%q\n%s: %v", doc, how, err)
	}
	if diff := cmp.Diff(want, fromSDK(got)); diff != "" {
		t.Fatalf("%q\n%s differs from split (-split +sdktest):\n%s", doc, how, diff)
	}
	return len(want)
}

func TestSDKTestCarryLimitIsSplits(t *testing.T) {
	if sdktest.CarryAll != xmlsplit.CarryAll {
		t.Fatalf("sdktest.CarryAll = %d, split's is %d", sdktest.CarryAll, xmlsplit.CarryAll)
	}
}

// genXMLDoc writes a document for the element specs of TestSDKTestXMLRecords:
// namespaces declared on the root and on containers (default, prefixed,
// redeclared, single-quoted, with references in the URI), records at
// several depths and inside each other, self-closing, with CDATA,
// references, comments and processing instructions, and LF, CRLF or lone
// CR line ends, after an optional byte order mark and prolog.
func genXMLDoc(r *rand.Rand) string {
	nl := []string{"\n", "\r\n", "\r"}[r.IntN(3)]
	var b strings.Builder
	if r.IntN(4) == 0 {
		b.WriteString("\xef\xbb\xbf")
	}
	if r.IntN(2) == 0 {
		b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + nl)
	}
	b.WriteString("<!-- prolog -->" + nl + `<?pi data?>` + nl)
	b.WriteString(`<catalog xmlns="urn:c" xmlns:p='urn:p&amp;1'`)
	if r.IntN(2) == 0 {
		b.WriteString(` xmlns:q="urn:q"   xmlns:r = "urn:r"`)
	}
	b.WriteString(` id="c">` + nl)
	texts := []string{"t", "&amp;&lt;", "&#233;&#x21;", "<![CDATA[<x>&]]>", "<!-- c -->", "<?p x?>", nl, "é"}
	var record func(depth int)
	record = func(depth int) {
		name := []string{"record", "p:record", "record"}[r.IntN(3)]
		b.WriteString("<" + name)
		switch r.IntN(5) {
		case 0:
			b.WriteString(` xmlns="urn:own"`)
		case 1:
			b.WriteString(` xmlns:p="urn:p2"`)
		}
		fmt.Fprintf(&b, ` id="%d"`, r.IntN(100))
		if r.IntN(4) == 0 {
			b.WriteString("/>")
			return
		}
		b.WriteString(">")
		for range r.IntN(4) {
			switch r.IntN(4) {
			case 0:
				if depth < 3 {
					record(depth + 1)
				}
			case 1:
				b.WriteString(`<p:title xml:lang="en">` + texts[r.IntN(len(texts))] + `</p:title>`)
			default:
				b.WriteString(texts[r.IntN(len(texts))])
			}
		}
		b.WriteString("</" + name + ">")
	}
	for range 2 + r.IntN(4) {
		switch r.IntN(4) {
		case 0:
			b.WriteString(`<group xmlns:p="urn:g" xmlns:q='urn:q2'>` + nl)
			for range r.IntN(3) {
				record(0)
				b.WriteString(nl)
			}
			b.WriteString("</group>" + nl)
		case 1:
			b.WriteString(`<q:group xmlns:q="urn:q3" xmlns="">` + nl)
			record(0)
			b.WriteString(nl + "</q:group>" + nl)
		default:
			record(0)
			b.WriteString(nl)
		}
	}
	b.WriteString("</catalog>" + nl + "<!-- end -->" + nl)
	return b.String()
}

// TestSDKTestXMLRecords checks that sdktest.XMLRecords builds, from
// generated documents, exactly the records the split stage emits: the
// same bytes (with the same namespace declarations carried), positions and
// order, for every kind of element spec.
func TestSDKTestXMLRecords(t *testing.T) {
	r := rand.New(rand.NewPCG(16, 7))
	specs := []string{"record", "p:record", "{urn:c}record", "{urn:own}record", "{urn:p&1}record", "catalog/group/record", "catalog/record", "/catalog", "group", "{urn:q3}group"}
	dir := t.TempDir()
	total := 0
	for i := range 150 {
		doc := genXMLDoc(r)
		path := filepath.Join(dir, fmt.Sprintf("doc%d.xml", i))
		if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, spec := range specs {
			o := withDefaults(func(o *Options) { o.XML = &XMLOptions{Element: spec} })
			total += compareBuilt(t, doc, fmt.Sprintf("XMLRecords(%q)", spec), o, path, func() ([]sdk.Record, error) {
				return sdktest.XMLRecords(path, spec)
			})
		}
	}
	if total < 1000 {
		t.Fatalf("only %d records compared", total)
	}
}

// genCSVDoc writes a CSV file for opts: quoted fields holding delimiters,
// doubled quotes and LF, empty lines, LF or CRLF line ends, ragged rows
// where opts keep them, bare quotes under lazy quotes, an optional byte
// order mark and no final line end.
func genCSVDoc(r *rand.Rand, opts sdktest.CSVOptions, width int) string {
	delim := string(opts.Delimiter)
	if opts.Delimiter == 0 {
		delim = ","
	}
	nl := []string{"\n", "\r\n"}[r.IntN(2)]
	vals := []string{"a", "", " sp ", `"q,` + delim + `"`, `"x""y"`, "\"multi\nline\"", "é", "1.5", `""`}
	if opts.LazyQuotes {
		vals = append(vals, `5'10"`, `a"b`)
	}
	var b strings.Builder
	if r.IntN(4) == 0 {
		b.WriteString("\xef\xbb\xbf")
	}
	rows := 1 + r.IntN(12)
	for i := range rows {
		n := width
		if i > 0 && (opts.PadShort && r.IntN(4) == 0) {
			n = 1 + r.IntN(width)
		}
		if i > 0 && (opts.KeepLong && r.IntN(4) == 0) {
			n = width + 1 + r.IntN(2)
		}
		for j := range n {
			if j > 0 {
				b.WriteString(delim)
			}
			if i == 0 && !opts.NoHeader {
				fmt.Fprintf(&b, "col%d", j)
				continue
			}
			b.WriteString(vals[r.IntN(len(vals))])
		}
		if i < rows-1 || r.IntN(2) == 0 {
			b.WriteString(nl)
		}
		if r.IntN(6) == 0 && i < rows-1 {
			b.WriteString(nl) // an empty line
		}
	}
	return b.String()
}

// TestSDKTestCSVRecords checks that sdktest.CSVRecords builds, from
// generated files, exactly the records the split stage emits with the
// same options: Data, Fields, Header and positions.
func TestSDKTestCSVRecords(t *testing.T) {
	r := rand.New(rand.NewPCG(16, 8))
	dir := t.TempDir()
	total := 0
	for i := range 300 {
		opts := sdktest.CSVOptions{
			Delimiter:  []rune{0, ';', '\t'}[r.IntN(3)],
			NoHeader:   r.IntN(3) == 0,
			PadShort:   r.IntN(3) == 0,
			KeepLong:   r.IntN(3) == 0,
			LazyQuotes: r.IntN(3) == 0,
		}
		doc := genCSVDoc(r, opts, 1+r.IntN(4))
		path := filepath.Join(dir, fmt.Sprintf("doc%d.csv", i))
		if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		o := withDefaults(func(o *Options) {
			o.CSV = &CSVOptions{Delimiter: string(opts.Delimiter), Header: ptr(!opts.NoHeader), LazyQuotes: opts.LazyQuotes}
			if opts.Delimiter == 0 {
				o.CSV.Delimiter = ""
			}
			if opts.PadShort {
				o.CSV.ShortRows = rowsPad
			}
			if opts.KeepLong {
				o.CSV.LongRows = rowsKeep
			}
		})
		total += compareBuilt(t, doc, fmt.Sprintf("CSVRecords(%+v)", opts), o, path, func() ([]sdk.Record, error) {
			return sdktest.CSVRecords(path, opts)
		})
	}
	if total < 800 {
		t.Fatalf("only %d records compared", total)
	}
}
