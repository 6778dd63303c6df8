package protocol

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sluicehq/sluice/sdk/internal/pluginpb"
)

// TestEncodeSharesHeadersAndFiles checks that each CSV header and file name
// is sent once per batch, however records alternate between them.
func TestEncodeSharesHeadersAndFiles(t *testing.T) {
	h1, h2 := []string{"a", "b"}, []string{"c"}
	recs := []Record{
		{Kind: CSV, Header: h1, Fields: []string{"1", "2"}, File: "one.csv", Line: 2},
		{Kind: CSV, Header: h2, Fields: []string{"3"}, File: "two.csv", Line: 2},
		{Kind: CSV, Header: h1, Fields: []string{"4", "5"}, File: "one.csv", Line: 3},
		{Kind: XML, Data: []byte("<r/>")},
		{Kind: Line, Data: []byte("x"), File: "two.csv"},
		{Kind: CSV, Header: h1[:1], Fields: []string{"6"}}, // a different header on the same array
	}
	msg := Encode(7, recs).msg
	if msg.GetSeq() != 7 {
		t.Errorf("seq %d, want 7", msg.GetSeq())
	}
	if diff := cmp.Diff([]string{"one.csv", "two.csv"}, msg.GetFiles()); diff != "" {
		t.Errorf("files (-want +got)\n%s", diff)
	}
	if n := len(msg.GetHeaders()); n != 3 {
		t.Errorf("%d headers sent, want 3", n)
	}
	var gotHeaders, gotFiles []uint32
	for _, r := range msg.GetRecords() {
		gotHeaders = append(gotHeaders, r.GetHeader())
		gotFiles = append(gotFiles, r.GetFile())
	}
	if diff := cmp.Diff([]uint32{1, 2, 1, 0, 0, 3}, gotHeaders); diff != "" {
		t.Errorf("header indexes (-want +got)\n%s", diff)
	}
	if diff := cmp.Diff([]uint32{1, 2, 1, 0, 2, 0}, gotFiles); diff != "" {
		t.Errorf("file indexes (-want +got)\n%s", diff)
	}
}

// TestKindsAreTheProtocols checks that Kind's values are classifier.proto's.
func TestKindsAreTheProtocols(t *testing.T) {
	for k, want := range map[Kind]pluginpb.Kind{
		KindUnspecified: pluginpb.Kind_KIND_UNSPECIFIED,
		XML:             pluginpb.Kind_KIND_XML,
		CSV:             pluginpb.Kind_KIND_CSV,
		Line:            pluginpb.Kind_KIND_LINE,
		JSON:            pluginpb.Kind_KIND_JSON,
	} {
		if pluginpb.Kind(k) != want {
			t.Errorf("%v is %d on the wire, want %v", k, k, want)
		}
	}
}
