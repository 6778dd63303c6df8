package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCompletion asks the real binary for completions the way a shell's
// completion script does (the hidden __complete command) and checks the
// words offered: enumerated flag values, stage kinds with their summaries,
// and pipeline files for a pipeline argument.
func TestCompletion(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "pipeline.yaml"), []byte(tapPipeline), 0o644) // for tap's stage names
	for _, tc := range []struct {
		name string
		args []string
		want []string // lines, in order
	}{
		{"graph format", []string{"graph", "--format", ""}, []string{"dot", "mermaid", "svg", "png", ":4"}},
		{"summary", []string{"run", "--summary", "j"}, []string{"auto", "text", "json", "none", ":4"}},
		{"log level", []string{"run", "--log-level", ""}, []string{"debug", "info", "warn", "error", ":4"}},
		{"stage kinds", []string{"stages", "s"}, []string{"split\tStream files into records: XML subtrees, CSV rows, lines or JSON lines.", ":4"}},
		{"pipeline file", []string{"validate", ""}, []string{"yaml", "yml", ":8"}},
		{"eval kind", []string{"eval", "x", "--kind", ""}, []string{"xml", "csv", "lines", "jsonl", ":4"}},
		{"eval as", []string{"eval", "x", "--as", ""}, []string{"any", "bool", "string", ":4"}},
		{"tap stage", []string{"tap", "l"}, []string{"labelled", ":4"}},
		{"tap pipeline", []string{"tap", "labelled", ""}, []string{"yaml", "yml", ":8"}},
		{"tap format", []string{"tap", "labelled", "--format", ""}, []string{"text", "json", ":4"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := runSluice(t, dir, append([]string{"__complete"}, tc.args...)...)
			if res.code != 0 {
				t.Fatalf("exit %d: %s", res.code, res.stderr)
			}
			got := strings.Split(strings.TrimSpace(res.stdout), "\n")
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("completions:\n%s\nwant:\n%s", res.stdout, strings.Join(tc.want, "\n"))
			}
		})
	}
}
