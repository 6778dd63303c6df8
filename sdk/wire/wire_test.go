package wire

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sluicehq/sluice/core"
)

// TestEncodeSharesHeadersAndFiles checks that each CSV header and file name
// is sent once per batch, however records alternate between them.
func TestEncodeSharesHeadersAndFiles(t *testing.T) {
	h1, h2 := core.NewHeader([]string{"a", "b"}), core.NewHeader([]string{"c"})
	recs := []core.Record{
		{Type: core.CSV, Header: h1, Fields: []string{"1", "2"}, Source: core.Position{File: "one.csv", Line: 2}},
		{Type: core.CSV, Header: h2, Fields: []string{"3"}, Source: core.Position{File: "two.csv", Line: 2}},
		{Type: core.CSV, Header: h1, Fields: []string{"4", "5"}, Source: core.Position{File: "one.csv", Line: 3}},
		{Type: core.XML, Data: []byte("<r/>")},
		{Type: core.Line, Data: []byte("x"), Source: core.Position{File: "two.csv"}},
	}
	msg := Encode(7, recs).msg
	if msg.GetSeq() != 7 {
		t.Errorf("seq %d, want 7", msg.GetSeq())
	}
	if diff := cmp.Diff([]string{"one.csv", "two.csv"}, msg.GetFiles()); diff != "" {
		t.Errorf("files (-want +got)\n%s", diff)
	}
	if n := len(msg.GetHeaders()); n != 2 {
		t.Errorf("%d headers sent, want 2", n)
	}
	var gotHeaders, gotFiles []uint32
	for _, r := range msg.GetRecords() {
		gotHeaders = append(gotHeaders, r.GetHeader())
		gotFiles = append(gotFiles, r.GetFile())
	}
	if diff := cmp.Diff([]uint32{1, 2, 1, 0, 0}, gotHeaders); diff != "" {
		t.Errorf("header indexes (-want +got)\n%s", diff)
	}
	if diff := cmp.Diff([]uint32{1, 2, 1, 0, 2}, gotFiles); diff != "" {
		t.Errorf("file indexes (-want +got)\n%s", diff)
	}
}

func TestKinds(t *testing.T) {
	for _, typ := range []core.Type{core.XML, core.CSV, core.Line, core.JSON} {
		if got := typeOf(kindOf(typ)); got != typ {
			t.Errorf("%v went over the wire as %v", typ, got)
		}
	}
	if got := kindOf(core.File); got != 0 {
		t.Errorf("a file record has kind %v, want unspecified", got)
	}
}
