package stages_test

import (
	"path/filepath"
	"testing"

	"github.com/sluicehq/sluice/pipeline"
	"github.com/sluicehq/sluice/stages"
)

// TestSamples plans every kind's embedded sample pipeline from the
// repository root, so that the samples `sluice stages KIND` prints, and the
// README shows, cannot drift from the code.
func TestSamples(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(root)
	reg := stages.Registry()
	for _, k := range reg.Kinds() {
		t.Run(k.Name, func(t *testing.T) {
			if len(k.Sample) == 0 {
				t.Fatalf("kind %s has no sample", k.Name)
			}
			g, err := pipeline.Load(k.Name+"/sample.yaml", k.Sample, reg)
			if err != nil {
				t.Fatal(err)
			}
			used := false
			for _, n := range g.Nodes {
				used = used || n.Kind == k.Name
			}
			if !used {
				t.Fatalf("the sample of %s does not use it", k.Name)
			}
		})
	}
}

// TestOptionsDocumented checks that every option of every kind has a doc
// string, since `sluice stages` and the README print them.
func TestOptionsDocumented(t *testing.T) {
	for _, k := range stages.Registry().Kinds() {
		if k.Summary == "" {
			t.Errorf("kind %s has no summary", k.Name)
		}
		for _, o := range pipeline.DescribeOptions(k) {
			if o.Doc == "" {
				t.Errorf("option %s.%s has no doc tag", k.Name, o.Path)
			}
		}
	}
}
