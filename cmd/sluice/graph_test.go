package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// needDot skips a test when Graphviz's dot is not installed, except in CI
// (CI set), where .ci/run installs it and its absence is a failure.
func needDot(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("dot"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("Graphviz's dot is not on PATH; CI must install it (apt-get install graphviz)")
		}
		t.Skip("Graphviz's dot is not on PATH (apt-get install graphviz)")
	}
}

// graphRun runs sluice with GOMAXPROCS fixed, so that workers: auto
// draws the same on every machine.
func graphRun(t *testing.T, dir string, args ...string) result {
	t.Helper()
	cmd := exec.Command(sluiceBin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOMAXPROCS=4")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{code, out.String(), errb.String()}
}

func TestGraphImages(t *testing.T) {
	needDot(t)
	dir := rootWorkspace(t)
	res := graphRun(t, dir, "graph", "--format", "svg")
	if res.code != 0 || !strings.Contains(res.stdout, "<svg") || !strings.Contains(res.stdout, "<title>records&#45;&gt;labelled</title>") {
		t.Fatalf("svg: exit %d\n%s%s", res.code, res.stdout[:min(len(res.stdout), 400)], res.stderr)
	}
	res = graphRun(t, dir, "graph", "--format", "png", "-o", "graph.png")
	if res.code != 0 {
		t.Fatalf("png: exit %d\n%s", res.code, res.stderr)
	}
	b, err := os.ReadFile(filepath.Join(dir, "graph.png"))
	if err != nil || !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatalf("graph.png is not a PNG (%v): % x", err, b[:min(len(b), 8)])
	}
}

// TestGraphWithoutDot checks the error when dot is not on PATH.
func TestGraphWithoutDot(t *testing.T) {
	dir := rootWorkspace(t)
	cmd := exec.Command(sluiceBin, "graph", "--format", "png")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PATH="+t.TempDir())
	out, err := cmd.CombinedOutput()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != exitFailed || !strings.Contains(string(out), "needs Graphviz's dot on PATH") || !strings.Contains(string(out), "apt-get install graphviz") {
		t.Fatalf("exit %v, want %d with how to install Graphviz:\n%s", err, exitFailed, out)
	}
}

// svgContent is what an SVG drawn by dot says, whatever the version of
// Graphviz: the titles (nodes and edges) and texts (labels) it holds.
func svgContent(svg string) []string {
	var parts []string
	for _, m := range regexp.MustCompile(`<(title|text)[^>]*>([^<]*)</`).FindAllStringSubmatch(svg, -1) {
		parts = append(parts, m[1]+": "+m[2])
	}
	slices.Sort(parts)
	return parts
}

// TestPipelineSVG keeps docs/pipeline.svg, the picture the README shows,
// a drawing of the root pipeline as it is (go test ./cmd/sluice -update
// redraws it). Drawings by other versions of Graphviz differ in layout, so
// it compares what the picture says, not its bytes.
func TestPipelineSVG(t *testing.T) {
	needDot(t)
	dir := rootWorkspace(t)
	res := graphRun(t, dir, "graph", "--format", "svg")
	if res.code != 0 {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	const path = "../../docs/pipeline.svg"
	if *update {
		if err := os.WriteFile(path, []byte(res.stdout), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	got, want := svgContent(string(b)), svgContent(res.stdout)
	if len(want) < 10 || !slices.Equal(got, want) {
		t.Fatalf("docs/pipeline.svg does not draw pipeline.yaml as it is: run go test ./cmd/sluice -update and commit docs/pipeline.svg\nin the file: %q\ndrawn now:   %q", got, want)
	}
}
