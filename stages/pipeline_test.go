package stages_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/klauspost/compress/zstd"

	"github.com/sluicehq/sluice/engine"
	"github.com/sluicehq/sluice/internal/corpus"
	"github.com/sluicehq/sluice/pipeline"
	"github.com/sluicehq/sluice/stages"
)

// attributeCounts is the count stage's JSON in attributes mode.
type attributeCounts struct {
	Records    int64                                  `json:"records"`
	Attributes map[string]map[string]map[string]int64 `json:"attributes"`
}

// add counts one (element, attribute, value).
func (c *attributeCounts) add(el, at, v string) {
	if c.Attributes[el] == nil {
		c.Attributes[el] = map[string]map[string]int64{}
	}
	if c.Attributes[el][at] == nil {
		c.Attributes[el][at] = map[string]int64{}
	}
	c.Attributes[el][at][v]++
}

// clark writes a name in Clark notation, {uri}local.
func clark(n xml.Name) string {
	if n.Space != "" {
		return "{" + n.Space + "}" + n.Local
	}
	return n.Local
}

// countWithEncodingXML is the independent computation: one encoding/xml
// pass over a whole document, counting (element, attribute, value) of every
// element inside a <record>, names in Clark notation, namespace
// declarations excluded.
func countWithEncodingXML(t *testing.T, doc []byte, want *attributeCounts) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(doc))
	depth := 0 // depth inside the current record, 0 outside
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
			if depth == 0 && tk.Name.Local != "record" {
				continue
			}
			if depth == 0 {
				want.Records++
			}
			depth++
			for _, a := range tk.Attr {
				if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") {
					continue
				}
				want.add(clark(tk.Name), clark(a.Name), a.Value)
			}
		case xml.EndElement:
			if depth > 0 {
				depth--
			}
		}
	}
}

// TestAttributeCountsMatchEncodingXML runs read → split → count on a
// generated corpus of plain, gzip and zstd files, with several workers, and
// compares the counts with an independent encoding/xml computation.
func TestAttributeCountsMatchEncodingXML(t *testing.T) {
	dir := t.TempDir()
	want := &attributeCounts{Attributes: map[string]map[string]map[string]int64{}}
	for i, n := range []int{1500, 900, 700} {
		var doc bytes.Buffer
		if err := corpus.WriteXML(&doc, uint64(i+1), n); err != nil {
			t.Fatal(err)
		}
		countWithEncodingXML(t, doc.Bytes(), want)
		var data []byte
		name := fmt.Sprintf("part-%d.xml", i)
		switch i {
		case 0:
			data = doc.Bytes()
		case 1:
			var gz bytes.Buffer
			w := gzip.NewWriter(&gz)
			w.Write(doc.Bytes())
			w.Close()
			data, name = gz.Bytes(), name+".gz"
		case 2:
			enc, _ := zstd.NewWriter(nil)
			data, name = enc.EncodeAll(doc.Bytes(), nil), name+".zst"
			enc.Close()
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(dir, "out", "counts.json")
	src := fmt.Sprintf(`name: correctness
batch_size: 64
stages:
  files: {use: read, with: {path: %q}}
  recs: {use: split, from: files, workers: 3, with: {xml: {element: record}}}
  counts: {use: count, from: recs, workers: 3, with: {attributes: true, output: %q}}
`, dir, out)
	g, err := pipeline.Load("correctness.yaml", []byte(src), stages.Registry())
	if err != nil {
		t.Fatal(err)
	}
	rep, err := engine.Run(context.Background(), g, engine.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var got attributeCounts
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if want.Records != 3100 {
		t.Fatalf("the reference counted %d records, want 3100", want.Records)
	}
	if diff := cmp.Diff(want, &got); diff != "" {
		t.Fatalf("counts differ from encoding/xml (-want +got):\n%s", diff)
	}
	if recs := rep.Stages[1]; recs.Out != 3100 || recs.In != 3 {
		t.Fatalf("split ledger: %+v", recs)
	}
}
