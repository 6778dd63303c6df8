package corpus_test

import (
	"bytes"
	"encoding/csv"
	"encoding/xml"
	"io"
	"testing"

	"github.com/sluicehq/sluice/internal/corpus"
)

func TestXMLIsWellFormedAndDeterministic(t *testing.T) {
	var a, b bytes.Buffer
	if err := corpus.WriteXML(&a, 7, 300); err != nil {
		t.Fatal(err)
	}
	corpus.WriteXML(&b, 7, 300)
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("same seed gave different bytes")
	}
	d := xml.NewDecoder(bytes.NewReader(a.Bytes()))
	records := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "record" {
			records++
		}
	}
	if records != 300 {
		t.Fatalf("%d records, want 300", records)
	}
}

func TestCSVRows(t *testing.T) {
	var buf bytes.Buffer
	if err := corpus.WriteCSV(&buf, 7, 50); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 51 || len(rows[0]) != len(corpus.CSVHeader) {
		t.Fatalf("%d rows of %d fields", len(rows), len(rows[0]))
	}
}
