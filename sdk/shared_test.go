package sdk

import (
	"context"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/sdk/internal/pluginpb"
)

// TestServerReadsSharedMemory checks the Go server's side of shared
// memory: Describe says whether it has a mapping, a request whose records
// are in the mapping is classified from there, and one that points outside
// it fails its batch with the reason.
func TestServerReadsSharedMemory(t *testing.T) {
	p := Plugin{Name: "upper", Classifier: RecordFunc(func(_ context.Context, r *Record) (Result, error) {
		return Result{Category: strings.ToUpper(string(r.Data))}, nil
	})}
	body := []byte{0x12, 0x07, 0x08, 0x03, 0x12, 0x03, 'a', 'b', 'c'} // records: [{kind: LINE, data: "abc"}]
	shared := append(make([]byte, 16), body...)

	srv := newServer(p)
	srv.shared = shared
	d, err := srv.Describe(t.Context(), &pluginpb.DescribeRequest{})
	if err != nil || !d.GetSharedMemory() {
		t.Fatalf("Describe = %v, %v; want shared_memory", d, err)
	}
	resp := srv.classify(t.Context(), &pluginpb.ClassifyRequest{Seq: 7, ShmOffset: 16, ShmLength: uint64(len(body))})
	if resp.GetSeq() != 7 || resp.GetError() != "" || len(resp.GetResults()) != 1 || resp.GetResults()[0].GetCategory() != "ABC" {
		t.Errorf("from shared memory: got %v", resp)
	}
	resp = srv.classify(t.Context(), &pluginpb.ClassifyRequest{Seq: 8, ShmOffset: 20, ShmLength: 100})
	if want := "sdk: the request's records are at bytes 20 to 120 of shared memory, which has 25"; resp.GetError() != want || resp.GetSeq() != 8 {
		t.Errorf("outside the mapping: got %v, want error %q", resp, want)
	}

	bare := newServer(p)
	if d, _ := bare.Describe(t.Context(), &pluginpb.DescribeRequest{}); d.GetSharedMemory() {
		t.Errorf("a server without a mapping says shared_memory")
	}
	if resp := bare.classify(t.Context(), &pluginpb.ClassifyRequest{Seq: 9, ShmLength: 4}); !strings.Contains(resp.GetError(), "has none mapped") {
		t.Errorf("no mapping: got %v", resp)
	}
}
