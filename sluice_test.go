package sluice_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/sluicehq/sluice/pipeline"
	"github.com/sluicehq/sluice/pipetest"
	"github.com/sluicehq/sluice/stages"
)

// TestPipelineFiles runs every pipeline test file of the repository (the
// examples' and the root pipeline's), as `sluice test` would from the
// repository root.
func TestPipelineFiles(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the example plugins")
	}
	results, err := pipetest.RunPath(context.Background(), &pipeline.Loader{Registry: stages.Registry()}, ".", pipetest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	passed, failed := pipetest.Print(&out, results, true)
	t.Logf("\n%s", out.String())
	if failed > 0 || passed == 0 {
		t.Fatalf("%d passed, %d failed", passed, failed)
	}
}
