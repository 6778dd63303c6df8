package main

import (
	"bytes"
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/stages"
)

var update = flag.Bool("update", false, "rewrite the README's reference and the golden files")

const (
	refBegin = "<!-- reference:begin -->\n"
	refEnd   = "<!-- reference:end -->"
)

// TestReadmeReference keeps the README's pipeline and stage reference equal
// to what the code says (go test ./cmd/sluice -update rewrites it).
func TestReadmeReference(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(readme)
	i, j := strings.Index(s, refBegin), strings.Index(s, refEnd)
	if i < 0 || j < i {
		t.Fatalf("README.md lacks the %q ... %q markers", refBegin, refEnd)
	}
	var ref bytes.Buffer
	markdownReference(&ref, stages.Registry())
	want := s[:i+len(refBegin)] + ref.String() + s[j:]
	if *update {
		if err := os.WriteFile("../../README.md", []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if s != want {
		t.Fatal("README.md's reference section is stale: run go test ./cmd/sluice -update and commit README.md")
	}
}
