package wirecodec

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/sluicehq/sluice/sdk/internal/pluginpb"
)

// randomResponse makes a response with every kind of field, empty ones
// included.
func randomResponse(rng *rand.Rand) *pluginpb.ClassifyResponse {
	words := []string{"", "book", "book/plain", "lang", "fr", "Français", "a\x00b", "topics", strings.Repeat("long ", 30)}
	word := func() string { return words[rng.IntN(len(words))] }
	m := &pluginpb.ClassifyResponse{Seq: rng.Uint64() >> rng.IntN(64)}
	if rng.IntN(8) == 0 {
		m.Error = word()
	}
	for range rng.IntN(20) {
		r := &pluginpb.Result{Category: word()}
		if rng.IntN(4) == 0 {
			r.Error = word()
		}
		if n := rng.IntN(4); n > 0 {
			r.Labels = map[string]string{}
			for range n {
				r.Labels[word()] = word()
			}
		}
		m.Results = append(m.Results, r)
	}
	return m
}

// randomRequest makes a request with every kind of field, empty ones
// included.
func randomRequest(rng *rand.Rand) *pluginpb.ClassifyRequest {
	words := []string{"", "a.xml", "type", "Français", "x,y", strings.Repeat("long ", 30)}
	word := func() string { return words[rng.IntN(len(words))] }
	m := &pluginpb.ClassifyRequest{Seq: rng.Uint64() >> rng.IntN(64)}
	if rng.IntN(4) == 0 {
		m.ShmOffset, m.ShmLength = rng.Uint64()>>rng.IntN(64), rng.Uint64()>>rng.IntN(64)
	}
	for range rng.IntN(3) {
		m.Files = append(m.Files, word())
		m.Headers = append(m.Headers, &pluginpb.Header{Names: []string{word(), word()}})
	}
	for range rng.IntN(20) {
		r := &pluginpb.Record{
			Kind:     pluginpb.Kind(rng.IntN(5)),
			Header:   uint32(rng.IntN(3)),
			File:     uint32(rng.IntN(3)),
			Offset:   rng.Int64() >> rng.IntN(64),
			Line:     rng.Int64N(1000) - 10, // negative: not sent by the host, still valid protobuf
			Ordinal:  rng.Int64(),
			Category: word(),
		}
		if rng.IntN(3) > 0 {
			r.Data = []byte(word() + "<r/>")
		}
		for range rng.IntN(3) {
			r.Fields = append(r.Fields, word())
		}
		if rng.IntN(3) == 0 {
			r.Labels = map[string]string{word(): word(), word(): word()}
		}
		m.Records = append(m.Records, r)
	}
	return m
}

func TestCodecDecodesRequestsAsProtobuf(t *testing.T) {
	c := Codec()
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range 2000 {
		m := randomRequest(rng)
		b, err := proto.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		b = protowire.AppendTag(b, 99, protowire.BytesType)
		b = protowire.AppendString(b, "from a newer peer")
		var ours pluginpb.ClassifyRequest
		if err := c.Unmarshal(mem.BufferSlice{mem.SliceBuffer(b)}, &ours); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if !proto.Equal(m, &ours) {
			t.Fatalf("request %d: decoded as\n%v\nwant\n%v", i, &ours, m)
		}
		// Encoding goes through protobuf.
		data, err := c.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		var back pluginpb.ClassifyRequest
		if err := proto.Unmarshal(data.Materialize(), &back); err != nil || !proto.Equal(m, &back) {
			t.Fatalf("request %d: encoded as %v, %v", i, &back, err)
		}
	}
}

func TestCodecMatchesProtobuf(t *testing.T) {
	c := Codec()
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 2000 {
		m := randomResponse(rng)
		// Ours encodes what protobuf decodes to the same message...
		data, err := c.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		var back pluginpb.ClassifyResponse
		if err := proto.Unmarshal(data.Materialize(), &back); err != nil {
			t.Fatalf("message %d: protobuf cannot decode ours: %v", i, err)
		}
		if !proto.Equal(m, &back) {
			t.Fatalf("message %d: protobuf decoded ours as\n%v\nwant\n%v", i, &back, m)
		}
		// ...and decodes what protobuf encodes, unknown fields skipped.
		b, err := proto.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		b = protowire.AppendTag(b, 99, protowire.BytesType)
		b = protowire.AppendString(b, "from a newer peer")
		b = protowire.AppendTag(b, 98, protowire.Fixed64Type)
		b = protowire.AppendFixed64(b, 7)
		var ours pluginpb.ClassifyResponse
		if err := c.Unmarshal(mem.BufferSlice{mem.SliceBuffer(b)}, &ours); err != nil {
			t.Fatalf("message %d: we cannot decode protobuf's: %v", i, err)
		}
		if !proto.Equal(m, &ours) {
			t.Fatalf("message %d: we decoded protobuf's as\n%v\nwant\n%v", i, &ours, m)
		}
	}
}

// TestCodecKnowsEveryField fails when classifier.proto gains a field in a
// message the codec encodes by hand: teach codec.go the field, then update
// this list.
func TestCodecKnowsEveryField(t *testing.T) {
	for _, tt := range []struct {
		msg  proto.Message
		want []string
	}{
		{&pluginpb.ClassifyResponse{}, []string{"1 seq", "2 results", "3 error"}},
		{&pluginpb.Result{}, []string{"1 category", "2 labels", "3 error"}},
		{&pluginpb.ClassifyRequest{}, []string{"1 seq", "2 records", "3 headers", "4 files", "5 shm_offset", "6 shm_length"}},
		{&pluginpb.Header{}, []string{"1 names"}},
		{&pluginpb.Record{}, []string{"1 kind", "10 labels", "2 data", "3 header", "4 fields", "5 file", "6 offset", "7 line", "8 ordinal", "9 category"}},
	} {
		fields := tt.msg.ProtoReflect().Descriptor().Fields()
		var got []string
		for i := range fields.Len() {
			f := fields.Get(i)
			got = append(got, fmt.Sprintf("%d %s", f.Number(), f.Name()))
		}
		slices.Sort(got)
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s has fields %q, codec.go knows %q", tt.msg.ProtoReflect().Descriptor().FullName(), got, tt.want)
		}
	}
	for _, m := range []proto.Message{&pluginpb.Result{}, &pluginpb.Record{}} {
		labels := m.ProtoReflect().Descriptor().Fields().ByName("labels")
		if !labels.IsMap() || labels.MapKey().Kind() != protoreflect.StringKind || labels.MapValue().Kind() != protoreflect.StringKind {
			t.Errorf("%s.labels is no longer a map<string, string>", m.ProtoReflect().Descriptor().Name())
		}
	}
}

func TestCodecRejectsInvalidUTF8(t *testing.T) {
	c := Codec()
	bad := &pluginpb.ClassifyResponse{Results: []*pluginpb.Result{{Labels: map[string]string{"k": "\xff"}}}}
	if _, err := c.Marshal(bad); err == nil {
		t.Error("Marshal accepted a label that is not UTF-8")
	}
	if _, err := proto.Marshal(bad); err == nil {
		t.Error("protobuf accepted it: the test no longer checks what protobuf does")
	}
	var b []byte
	b = protowire.AppendTag(b, responseResults, protowire.BytesType)
	b = protowire.AppendBytes(b, protowire.AppendString(protowire.AppendTag(nil, resultCategory, protowire.BytesType), "\xc3"))
	if err := c.Unmarshal(mem.BufferSlice{mem.SliceBuffer(b)}, &pluginpb.ClassifyResponse{}); err == nil {
		t.Error("Unmarshal accepted a category that is not UTF-8")
	}
	if err := c.Unmarshal(mem.BufferSlice{mem.SliceBuffer(b[:len(b)-1])}, &pluginpb.ClassifyResponse{}); err == nil {
		t.Error("Unmarshal accepted a truncated message")
	}
}

func TestCodecPassesOtherMessagesOn(t *testing.T) {
	c := Codec()
	m := &pluginpb.DescribeResponse{Name: "x", Version: "1", Accepts: []pluginpb.Kind{pluginpb.Kind_KIND_XML}}
	data, err := c.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var back pluginpb.DescribeResponse
	if err := c.Unmarshal(data, &back); err != nil || !proto.Equal(m, &back) {
		t.Fatalf("got %v, %v; want %v", &back, err, m)
	}
}
