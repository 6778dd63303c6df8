package plugins

import (
	"bytes"
	"testing"

	"github.com/sluicehq/sluice/sdk/protocol"
	"github.com/sluicehq/sluice/stage"
)

// TestKindsRoundTrip checks that every record type a plugin classifies goes
// over the wire as its own kind and comes back from Describe as itself.
func TestKindsRoundTrip(t *testing.T) {
	for _, typ := range []stage.Type{stage.XML, stage.CSV, stage.Line, stage.JSON} {
		if got := accepted([]protocol.Kind{kindOf(typ)}); got != typ {
			t.Errorf("%v went over the wire and came back as %v", typ, got)
		}
	}
	if got := kindOf(stage.File); got != protocol.KindUnspecified {
		t.Errorf("a file record has kind %v, want unspecified", got)
	}
	if got := accepted(nil); got != stage.Records {
		t.Errorf("a plugin that names no kind accepts %v, want every record type", got)
	}
	if got := accepted([]protocol.Kind{protocol.CSV, protocol.XML, protocol.CSV}); got != stage.CSV|stage.XML {
		t.Errorf("accepts %v, want csv and xml", got)
	}
}

// TestEncodeMatchesProtocol checks that encode sends what protocol.Encode
// sends for the same records converted by hand, batch after batch through
// its pooled slice (a CSV batch, then one without headers that must not
// inherit them).
func TestEncodeMatchesProtocol(t *testing.T) {
	h := stage.NewHeader([]string{"a", "b"})
	batches := [][]stage.Record{
		{
			{Type: stage.CSV, Header: h, Data: []byte("1,2"), Fields: []string{"1", "2"}, Source: stage.Position{File: "x.csv", Offset: 4, Line: 2, Ordinal: 1}},
			{Type: stage.CSV, Header: h, Data: []byte("3,4"), Fields: []string{"3", "4"}, Category: "c", Labels: map[string]string{"k": "v"}},
		},
		{
			{Type: stage.XML, Data: []byte("<r/>"), Source: stage.Position{File: "y.xml"}},
			{Type: stage.Line, Data: []byte("z")},
			{Type: stage.JSON, Data: []byte("{}")},
		},
	}
	for n, recs := range batches {
		want := make([]protocol.Record, len(recs))
		for i, r := range recs {
			want[i] = protocol.Record{Kind: kindOf(r.Type), Data: r.Data, Fields: r.Fields, File: r.Source.File,
				Offset: r.Source.Offset, Line: r.Source.Line, Ordinal: r.Source.Ordinal, Category: r.Category, Labels: r.Labels}
			if r.Header != nil {
				want[i].Header = r.Header.Names
			}
		}
		got, exp := encode(uint64(n+1), recs), protocol.Encode(uint64(n+1), want)
		if got.Seq() != exp.Seq() || got.Len() != exp.Len() {
			t.Fatalf("batch %d: seq %d len %d, want %d %d", n, got.Seq(), got.Len(), exp.Seq(), exp.Len())
		}
		if g, w := got.AppendShared(nil), exp.AppendShared(nil); !bytes.Equal(g, w) {
			t.Errorf("batch %d: encode sent\n%q\nwant\n%q", n, g, w)
		}
	}
}

// BenchmarkEncode measures what converting the engine's records to the
// protocol's costs per batch of 256 CSV records, next to encoding alone.
func BenchmarkEncode(b *testing.B) {
	h := stage.NewHeader([]string{"id", "title", "lang"})
	recs := make([]stage.Record, 256)
	for i := range recs {
		recs[i] = stage.Record{Type: stage.CSV, Header: h, Data: []byte("1,A title,en"), Fields: []string{"1", "A title", "en"},
			Source: stage.Position{File: "in.csv", Line: int64(i + 2), Ordinal: int64(i + 1)}}
	}
	b.Run("convert-and-encode", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			encode(1, recs)
		}
	})
	converted := make([]protocol.Record, len(recs))
	for i, r := range recs {
		converted[i] = protocol.Record{Kind: kindOf(r.Type), Data: r.Data, Header: r.Header.Names, Fields: r.Fields,
			File: r.Source.File, Line: r.Source.Line, Ordinal: r.Source.Ordinal}
	}
	b.Run("encode-only", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			protocol.Encode(1, converted)
		}
	})
}
