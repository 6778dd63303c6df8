package wirecodec

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/sluicehq/sluice/sdk/internal/pluginpb"
)

// TestSharedBodyIsProtobuf checks that a batch's body in shared memory is
// the protobuf encoding of the request without its sequence number (what a
// Python plugin decodes with the generated code), and that ReadShared gives
// the plugin the whole request back.
func TestSharedBodyIsProtobuf(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for i := range 2000 {
		m := randomRequest(rng)
		m.ShmOffset, m.ShmLength = 0, 0
		size, ok := SharedSize(m)
		if !ok {
			t.Fatalf("request %d: SharedSize refused valid strings", i)
		}
		pad := rng.IntN(100)
		region := append(make([]byte, pad), AppendShared(nil, m)...)
		if len(region)-pad != size {
			t.Fatalf("request %d: SharedSize %d, AppendShared wrote %d bytes", i, size, len(region)-pad)
		}
		var back pluginpb.ClassifyRequest
		if err := proto.Unmarshal(region[pad:], &back); err != nil {
			t.Fatalf("request %d: protobuf cannot decode the body: %v", i, err)
		}
		back.Seq = m.GetSeq()
		if !proto.Equal(m, &back) {
			t.Fatalf("request %d: protobuf decoded the body as\n%v\nwant\n%v", i, &back, m)
		}

		req := &pluginpb.ClassifyRequest{Seq: m.GetSeq(), ShmOffset: uint64(pad), ShmLength: uint64(size)}
		if size == 0 {
			continue // an empty body is sent in the message
		}
		got, err := ReadShared(req, region)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		for j := range region {
			region[j] = 0xff // the host reuses the memory
		}
		if !proto.Equal(m, got) {
			t.Fatalf("request %d: ReadShared returned\n%v\nwant\n%v", i, got, m)
		}
	}
}

func TestReadSharedPassesInlineRequestsOn(t *testing.T) {
	req := &pluginpb.ClassifyRequest{Seq: 4, Records: []*pluginpb.Record{{Data: []byte("<r/>")}}}
	got, err := ReadShared(req, nil)
	if err != nil || got != req {
		t.Fatalf("ReadShared = %v, %v; want the request itself", got, err)
	}
}

func TestReadSharedRejectsBadPlaces(t *testing.T) {
	region := make([]byte, 64)
	for _, tt := range []struct {
		name   string
		region []byte
		off, n uint64
		want   string
	}{
		{"nothing mapped", nil, 0, 8, errNoSharedMemory.Error()},
		{"past the end", region, 60, 8, "bytes 60 to 68 of shared memory, which has 64"},
		{"offset past the end", region, 100, 1, "bytes 100 to 101"},
		{"overflowing", region, 8, ^uint64(0), "of shared memory, which has 64"},
		{"not protobuf", region, 0, 64, "in shared memory: decoding ClassifyRequest"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadShared(&pluginpb.ClassifyRequest{Seq: 1, ShmOffset: tt.off, ShmLength: tt.n}, tt.region)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
	if _, err := ReadShared(&pluginpb.ClassifyRequest{ShmLength: 1}, nil); !errors.Is(err, errNoSharedMemory) {
		t.Fatalf("err = %v, want errNoSharedMemory", err)
	}
}

// TestSharedRefusesInvalidUTF8 checks that a batch protobuf could not
// encode is not placed in shared memory either, so it fails the same way
// whichever way it would have gone.
func TestSharedRefusesInvalidUTF8(t *testing.T) {
	bad := "caf\xe9"
	for name, m := range map[string]*pluginpb.ClassifyRequest{
		"field":    {Records: []*pluginpb.Record{{Fields: []string{"ok", bad}}}},
		"category": {Records: []*pluginpb.Record{{Category: bad}}},
		"label":    {Records: []*pluginpb.Record{{Labels: map[string]string{"k": bad}}}},
		"header":   {Headers: []*pluginpb.Header{{Names: []string{bad}}}},
		"file":     {Files: []string{bad}},
	} {
		if _, ok := SharedSize(m); ok {
			t.Errorf("%s: SharedSize accepted invalid UTF-8", name)
		}
		if _, err := proto.Marshal(m); err == nil {
			t.Errorf("%s: protobuf accepts it, so shared memory should too", name)
		}
	}
}
