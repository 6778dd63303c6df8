package xmlsplit

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// FuzzSplitXML checks, for any input and any of a few element specs, that
// the splitter never panics or hangs; that without an error every record
// parses standalone with encoding/xml; and that a document encoding/xml
// accepts (with the document-level rules it leaves out) is split without
// error into exactly the records the reference splitter finds.
func FuzzSplitXML(f *testing.F) {
	for _, c := range xmlCases {
		f.Add([]byte(c.doc), uint8(0))
	}
	for _, c := range dtdCases {
		f.Add([]byte(c.doc), uint8(0))
	}
	for _, c := range malformedDTDs {
		f.Add([]byte(c.doc), uint8(8))
	}
	g := &gen{r: rand.New(rand.NewPCG(7, 7))}
	for i := 0; i < 40; i++ {
		doc, _ := g.doc()
		f.Add(doc, uint8(i))
	}
	f.Fuzz(func(t *testing.T, doc []byte, sel uint8) {
		spec := genSpecs[int(sel)%len(genSpecs)]
		checkAgainstReference(t, doc, spec, nil)
		// A window smaller than the input exercises every refill path.
		m, _ := ParseMatch(spec)
		s := New(bytes.NewReader(doc), Options{File: "f.xml", Match: m, MaxRecordBytes: 64})
		for {
			if _, err := s.Next(); err != nil {
				break
			}
		}
	})
}
