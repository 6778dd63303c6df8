package stages_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sluicehq/sluice/engine"
	"github.com/sluicehq/sluice/pipeline"
	"github.com/sluicehq/sluice/stages"
)

// Real-world shapes: documents built to look like files nobody here wrote,
// with expected counts from an independent computation in the test.

// mimeNS is the namespace of freedesktop's shared-mime-info database,
// whose DTD declares it #FIXED on the root.
const mimeNS = "http://www.freedesktop.org/standards/shared-mime-info"

// mimeDTD mimics the internal subset of shared-mime-info's
// freedesktop.org.xml: many ATTLISTs, defaults for glob weight and magic
// priority, enumerations, and the #FIXED xmlns.
const mimeDTD = `<!DOCTYPE mime-info [
  <!ELEMENT mime-info (mime-type)+>
  <!ATTLIST mime-info xmlns CDATA #FIXED "http://www.freedesktop.org/standards/shared-mime-info">

  <!ELEMENT mime-type (comment+, (acronym,expanded-acronym)? , (generic-icon? | glob | magic | treemagic | root-XML | alias | sub-class-of)*)>
  <!ATTLIST mime-type type CDATA #REQUIRED>

  <!-- a comment describing this MIME type in a particular language -->
  <!ELEMENT comment (#PCDATA)>
  <!ATTLIST comment xml:lang CDATA #IMPLIED>

  <!ELEMENT acronym (#PCDATA)>
  <!ATTLIST acronym xml:lang CDATA #IMPLIED>

  <!ELEMENT expanded-acronym (#PCDATA)>
  <!ATTLIST expanded-acronym xml:lang CDATA #IMPLIED>

  <!ELEMENT generic-icon EMPTY>
  <!ATTLIST generic-icon name CDATA #REQUIRED>

  <!ELEMENT glob EMPTY>
  <!ATTLIST glob pattern CDATA #REQUIRED>
  <!ATTLIST glob weight CDATA "50">
  <!ATTLIST glob case-sensitive CDATA #IMPLIED>

  <!ELEMENT magic (match)+>
  <!ATTLIST magic priority CDATA "50">

  <!ELEMENT match (match)*>
  <!ATTLIST match offset CDATA #REQUIRED>
  <!ATTLIST match type (string|big16|big32|little16|little32|host16|host32|byte) #REQUIRED>
  <!ATTLIST match value CDATA #REQUIRED>
  <!ATTLIST match mask CDATA #IMPLIED>

  <!ELEMENT treemagic (treematch)+>
  <!ATTLIST treemagic priority CDATA "50">

  <!ELEMENT treematch (treematch)*>
  <!ATTLIST treematch path CDATA #REQUIRED>
  <!ATTLIST treematch type (file|directory|link) #IMPLIED>
  <!ATTLIST treematch match-case (true|false) #IMPLIED>
  <!ATTLIST treematch executable (true|false) #IMPLIED>
  <!ATTLIST treematch non-empty (true|false) #IMPLIED>
  <!ATTLIST treematch mimetype CDATA #IMPLIED>

  <!ELEMENT root-XML EMPTY>
  <!ATTLIST root-XML namespaceURI CDATA #REQUIRED>
  <!ATTLIST root-XML localName CDATA #REQUIRED>

  <!ELEMENT alias EMPTY>
  <!ATTLIST alias type CDATA #REQUIRED>

  <!ELEMENT sub-class-of EMPTY>
  <!ATTLIST sub-class-of type CDATA #REQUIRED>
]>
`

// mimeDefaults and mimeTokens are the reference's reading of mimeDTD,
// written by hand: the defaults (by element local name) and the
// attributes with an enumerated type, whose values are normalised.
var (
	mimeDefaults = map[string]map[string]string{
		"glob": {"weight": "50"}, "magic": {"priority": "50"}, "treemagic": {"priority": "50"},
	}
	mimeTokens = map[string][]string{
		"match": {"type"}, "treematch": {"type", "match-case", "executable", "non-empty"},
	}
)

// writeMimeDB writes a database of n MIME types. With fixedOnly the root
// has no xmlns and relies on the DTD's #FIXED one, as the file did.
func writeMimeDB(w io.Writer, seed uint64, n int, fixedOnly bool) {
	r := rand.New(rand.NewPCG(seed, 1))
	pick := func(s ...string) string { return s[r.IntN(len(s))] }
	fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+mimeDTD)
	if fixedOnly {
		fmt.Fprint(w, "<mime-info>\n")
	} else {
		fmt.Fprintf(w, "<mime-info xmlns=%q>\n", mimeNS)
	}
	for i := 0; i < n; i++ {
		media := pick("application", "text", "image", "audio", "video", "inode")
		fmt.Fprintf(w, "  <mime-type type=\"%s/x-t%d\">\n", media, i)
		fmt.Fprintf(w, "    <comment>Type %d &amp; friends</comment>\n", i)
		for _, lang := range []string{"de", "fr", "zh_CN"}[:r.IntN(4)] {
			fmt.Fprintf(w, "    <comment xml:lang=\"%s\">Typ %d</comment>\n", lang, i)
		}
		if r.IntN(5) == 0 {
			fmt.Fprint(w, "    <acronym>T</acronym>\n    <expanded-acronym>Type</expanded-acronym>\n")
		}
		if r.IntN(3) == 0 {
			fmt.Fprintf(w, "    <sub-class-of type=\"%s\"/>\n", pick("text/plain", "application/xml", "application/zip"))
		}
		if r.IntN(4) == 0 {
			fmt.Fprintf(w, "    <generic-icon name=\"%s\"/>\n", pick("text-x-generic", "package-x-generic", "image-x-generic"))
		}
		for g := r.IntN(3); g >= 0; g-- {
			switch r.IntN(4) {
			case 0:
				fmt.Fprintf(w, "    <glob pattern=\"*.t%d%c\" weight=\"%d\"/>\n", i, 'a'+g, 10*(1+r.IntN(9)))
			case 1:
				fmt.Fprintf(w, "    <glob pattern=\"*.T%d%c\" case-sensitive=\"true\"/>\n", i, 'a'+g)
			default:
				fmt.Fprintf(w, "    <glob pattern=\"*.t%d%c\"/>\n", i, 'a'+g)
			}
		}
		if r.IntN(3) == 0 {
			prio := ""
			if r.IntN(2) == 0 {
				prio = fmt.Sprintf(" priority=\"%d\"", 10*(1+r.IntN(9)))
			}
			fmt.Fprintf(w, "    <magic%s>\n", prio)
			for m := r.IntN(3); m >= 0; m-- {
				// Enumerated values, some padded: normalised to their token.
				typ := pick("string", "big16", "byte", " string ", "host32\t")
				fmt.Fprintf(w, "      <match type=\"%s\" value=\"\\x%02x\" offset=\"%d:%d\">\n", typ, r.IntN(256), m, 64*m+r.IntN(8))
				if r.IntN(2) == 0 {
					fmt.Fprint(w, "        <match type=\"string\" value=\"PK\" offset=\"0\" mask=\"0xffff\"/>\n")
				}
				fmt.Fprint(w, "      </match>\n")
			}
			fmt.Fprint(w, "    </magic>\n")
		}
		if r.IntN(6) == 0 {
			fmt.Fprint(w, "    <treemagic>\n      <treematch path=\"META-INF\" type=\"directory\"")
			if r.IntN(2) == 0 {
				fmt.Fprint(w, " non-empty=\" true \"")
			}
			fmt.Fprint(w, ">\n        <treematch path=\"manifest\" type=\"file\" match-case=\"false\"/>\n      </treematch>\n    </treemagic>\n")
		}
		if r.IntN(10) == 0 {
			fmt.Fprintf(w, "    <root-XML namespaceURI=\"urn:x-%d\" localName=\"doc\"/>\n", i)
		}
		if r.IntN(8) == 0 {
			fmt.Fprintf(w, "    <alias type=\"%s/x-alias%d\"/>\n", media, i)
		}
		fmt.Fprint(w, "  </mime-type>\n")
	}
	fmt.Fprint(w, "</mime-info>\n")
}

// countMimeDB is the independent computation: encoding/xml's tokens (it
// reads no DTD) with the DTD's defaults, normalisation and #FIXED
// namespace applied by the test's own reading of it. It counts the
// attributes of every element inside a mime-type, and globs by weight.
func countMimeDB(t *testing.T, doc []byte, want *attributeCounts, weights map[string]int64) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(doc))
	depth := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		switch tk := tok.(type) {
		case xml.StartElement:
			if tk.Name.Space == "" {
				tk.Name.Space = mimeNS // the #FIXED xmlns of the root
			}
			if tk.Name.Local == "mime-type" && depth == 0 {
				want.Records++
			}
			if tk.Name.Local == "mime-type" || depth > 0 {
				depth++
			} else {
				continue
			}
			seen := map[string]bool{}
			el := clark(tk.Name)
			weight := ""
			for _, a := range tk.Attr {
				if a.Name.Space == "xmlns" || a.Name.Space == "" && a.Name.Local == "xmlns" {
					continue
				}
				seen[a.Name.Local] = true
				v := a.Value
				for _, tok := range mimeTokens[tk.Name.Local] {
					if a.Name.Space == "" && a.Name.Local == tok {
						v = strings.Join(strings.Fields(v), " ")
					}
				}
				if a.Name.Local == "weight" {
					weight = v
				}
				want.add(el, clark(a.Name), v)
			}
			for at, v := range mimeDefaults[tk.Name.Local] {
				if !seen[at] {
					want.add(el, at, v)
					if at == "weight" {
						weight = v
					}
				}
			}
			if tk.Name.Local == "glob" {
				weights[weight]++
			}
		case xml.EndElement:
			if depth > 0 {
				depth--
			}
		}
	}
}

// TestRealWorldMimeDatabase runs read → split → count, and split →
// classify by attr("weight") → count and write, on two databases shaped
// like shared-mime-info's (two relying on the DTD's #FIXED xmlns, one of
// them split in byte ranges), and compares the counts and the written records with the
// independent computation.
func TestRealWorldMimeDatabase(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	if err := os.Mkdir(in, 0o755); err != nil {
		t.Fatal(err)
	}
	want := &attributeCounts{Attributes: map[string]map[string]map[string]int64{}}
	weights := map[string]int64{}
	for i, n := range []int{851, 300, 6000} {
		var doc bytes.Buffer
		writeMimeDB(&doc, uint64(i+1), n, i != 1)
		if i == 2 && doc.Len() < 2<<20 {
			t.Fatalf("the third database has %d bytes, too few for byte ranges of 1MiB", doc.Len())
		}
		countMimeDB(t, doc.Bytes(), want, weights)
		if err := os.WriteFile(filepath.Join(in, fmt.Sprintf("mime-%d.xml", i)), doc.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	attrsOut, weightsOut, sorted := filepath.Join(dir, "attrs.json"), filepath.Join(dir, "weights.json"), filepath.Join(dir, "sorted")
	src := fmt.Sprintf(`name: mime
batch_size: 32
stages:
  files: {use: read, with: {path: %q}}
  types: {use: split, from: files, workers: 3, with: {xml: {element: "{%s}mime-type"}, chunk: 1MiB}}
  attrs: {use: count, from: types, workers: 2, with: {attributes: true, output: %q}}
  globs: {use: split, from: files, workers: 2, with: {xml: {element: "{%s}glob"}, chunk: 1MiB}}
  weighed: {use: classify, from: globs, workers: 2, with: {rules: [{expr: 'attr("weight") ?? "none"'}]}}
  byweight: {use: count, from: weighed, with: {by: [category], output: %q}}
  sorted: {use: write, from: weighed, with: {dir: %q}}
`, in, mimeNS, attrsOut, mimeNS, weightsOut, sorted)
	g, err := pipeline.Load("mime.yaml", []byte(src), stages.Registry())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := engine.Run(context.Background(), g, engine.RunOptions{}); err != nil {
		t.Fatal(err)
	}

	if want.Records != 7151 {
		t.Fatalf("the reference counted %d mime types, want 7151", want.Records)
	}
	var got attributeCounts
	readJSON(t, attrsOut, &got)
	if diff := cmp.Diff(want, &got); diff != "" {
		t.Fatalf("attribute counts differ from the reference (-want +got):\n%s", diff)
	}
	if n := got.Attributes["{"+mimeNS+"}glob"]["weight"]["50"]; n < 1000 {
		t.Fatalf("only %d globs weigh the default 50: defaults not applied?", n)
	}

	var gotWeights map[string]int64
	readJSON(t, weightsOut, &gotWeights)
	if diff := cmp.Diff(weights, gotWeights); diff != "" {
		t.Fatalf("globs by attr(\"weight\") differ from the reference (-want +got):\n%s", diff)
	}

	// Each written record keeps its meaning on its own: in the namespace,
	// with the weight of the file it went to.
	written := map[string]int64{}
	for w := range weights {
		b, err := os.ReadFile(filepath.Join(sorted, w+".xml"))
		if err != nil {
			t.Fatal(err)
		}
		d := xml.NewDecoder(bytes.NewReader(b))
		for {
			tok, err := d.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s.xml: %v", w, err)
			}
			if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "glob" {
				if se.Name.Space != mimeNS {
					t.Fatalf("%s.xml: a glob in namespace %q", w, se.Name.Space)
				}
				for _, a := range se.Attr {
					if a.Name.Local == "weight" {
						written[a.Value]++
					}
				}
			}
		}
	}
	if diff := cmp.Diff(weights, written); diff != "" {
		t.Fatalf("written globs by their weight attribute (-want +got):\n%s", diff)
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// TestDTDDefaultsReproduction is issue 14's reproduction through a whole
// pipeline: split on {urn:x}g finds both records, count sees w on both,
// classify's attr("w") sees the default, and the written records carry
// the namespace and the defaulted attribute.
func TestDTDDefaultsReproduction(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "repro.xml")
	doc := `<!DOCTYPE r [ <!ATTLIST r xmlns CDATA #FIXED "urn:x"> <!ATTLIST g w CDATA "50"> ]>` + "\n" + `<r><g p="a"/><g p="b" w="7"/></r>`
	if err := os.WriteFile(in, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	attrs, byW, out := filepath.Join(dir, "attrs.json"), filepath.Join(dir, "w.json"), filepath.Join(dir, "out")
	src := fmt.Sprintf(`name: repro
stages:
  files: {use: read, with: {path: %q}}
  gs: {use: split, from: files, with: {xml: {element: "{urn:x}g"}}}
  attrs: {use: count, from: gs, with: {attributes: true, output: %q}}
  tagged: {use: classify, from: gs, with: {rules: [{expr: 'attr("w") ?? "none"'}]}}
  byw: {use: count, from: tagged, with: {by: [category], output: %q}}
  out: {use: write, from: tagged, with: {dir: %q}}
`, in, attrs, byW, out)
	g, err := pipeline.Load("repro.yaml", []byte(src), stages.Registry())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := engine.Run(context.Background(), g, engine.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	var got attributeCounts
	readJSON(t, attrs, &got)
	want := &attributeCounts{Records: 2, Attributes: map[string]map[string]map[string]int64{
		"{urn:x}g": {"p": {"a": 1, "b": 1}, "w": {"50": 1, "7": 1}},
	}}
	if diff := cmp.Diff(want, &got); diff != "" {
		t.Fatalf("attribute counts (-want +got):\n%s", diff)
	}
	var w map[string]int64
	readJSON(t, byW, &w)
	if diff := cmp.Diff(map[string]int64{"50": 1, "7": 1}, w); diff != "" {
		t.Fatalf(`records by attr("w") (-want +got):\n%s`, diff)
	}
	for _, key := range []string{"50", "7"} {
		b, err := os.ReadFile(filepath.Join(out, key+".xml"))
		if err != nil {
			t.Fatal(err)
		}
		var recs struct {
			G []struct {
				XMLName xml.Name
				W       string `xml:"w,attr"`
			} `xml:",any"`
		}
		if err := xml.Unmarshal(b, &recs); err != nil {
			t.Fatal(err)
		}
		if len(recs.G) != 1 || recs.G[0].XMLName.Space != "urn:x" || recs.G[0].W != key {
			t.Fatalf("%s.xml holds %+v, want one {urn:x}g with w=%s:\n%s", key, recs.G, key, b)
		}
	}
}
