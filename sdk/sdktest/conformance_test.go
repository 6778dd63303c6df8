package sdktest_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/sdk"
	"github.com/sluicehq/sluice/sdk/sdktest"
)

// badPlugins each break one rule of the contract.
var badPlugins = map[string]sdk.Plugin{
	"batch-dependent": {Name: "bad", Classifier: sdk.ClassifierFunc(func(_ context.Context, req *sdk.ClassifyRequest) (*sdk.ClassifyResponse, error) {
		resp := &sdk.ClassifyResponse{Results: make([]sdk.Result, len(req.Records))}
		for i := range resp.Results {
			resp.Results[i].Category = fmt.Sprintf("batch of %d", len(req.Records))
		}
		return resp, nil
	})},
	"too few results": {Name: "bad", Classifier: sdk.ClassifierFunc(func(_ context.Context, req *sdk.ClassifyRequest) (*sdk.ClassifyResponse, error) {
		return &sdk.ClassifyResponse{Results: make([]sdk.Result, len(req.Records)/2)}, nil
	})},
	"init fails": {Name: "bad", Classifier: failingInit{}},
	"good": {Name: "good", Classifier: sdk.RecordFunc(func(_ context.Context, r *sdk.Record) (sdk.Result, error) {
		return sdk.Result{Category: r.Kind.String()}, nil
	})},
}

type failingInit struct{ sdk.RecordFunc }

func (failingInit) Init(context.Context, *sdk.InitRequest) (*sdk.InitResponse, error) {
	return nil, errors.New("no spec file")
}

// TestConformanceHelper runs Conformance on one of badPlugins, in the
// subprocess started by TestConformanceCatchesViolations.
func TestConformanceHelper(t *testing.T) {
	name := os.Getenv("SDKTEST_BAD_PLUGIN")
	if name == "" {
		t.Skip("run by TestConformanceCatchesViolations")
	}
	sdktest.Conformance(t, badPlugins[name], sdktest.Options{})
}

func TestConformanceCatchesViolations(t *testing.T) {
	tests := []struct {
		plugin string
		fails  bool
		want   []string
	}{
		{"good", false, nil},
		{"batch-dependent", true, []string{"--- FAIL: TestConformanceHelper/batching_does_not_matter", `got category "batch of 1"`}},
		{"too few results", true, []string{"--- FAIL: TestConformanceHelper/one_result_per_record"}},
		{"init fails", true, []string{"--- FAIL: TestConformanceHelper/init", "no spec file"}},
	}
	for _, tt := range tests {
		t.Run(tt.plugin, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestConformanceHelper$", "-test.v")
			cmd.Env = append(os.Environ(), "SDKTEST_BAD_PLUGIN="+tt.plugin)
			out, err := cmd.CombinedOutput()
			if failed := err != nil; failed != tt.fails {
				t.Fatalf("conformance failed: %v, want %v\n%s", failed, tt.fails, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}
