package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestExpressionsGuide runs every command of docs/expressions-guide.md
// (the "$ " lines of its console blocks) from the repository root with the
// built binary, and checks that it prints what the guide shows (stdout,
// then stderr). Its YAML blocks are classify rules: each is planned in a
// pipeline with sluice validate.
func TestExpressionsGuide(t *testing.T) {
	src, err := os.ReadFile("../../docs/expressions-guide.md")
	if err != nil {
		t.Fatal(err)
	}
	root, _ := filepath.Abs("../..")
	path := filepath.Dir(sluiceBin) + string(os.PathListSeparator) + os.Getenv("PATH")
	cmds, yamls := 0, 0
	for _, b := range codeBlocks(string(src)) {
		switch b.lang {
		case "console":
			for _, c := range consoleCommands(b.text) {
				cmds++
				cmd := exec.Command("sh", "-c", c.line)
				cmd.Dir = root
				cmd.Env = append(os.Environ(), "PATH="+path)
				var out, errb bytes.Buffer
				cmd.Stdout, cmd.Stderr = &out, &errb
				_ = cmd.Run() // the guide shows failures too; their output is checked
				if got := out.String() + errb.String(); got != c.want {
					t.Errorf("$ %s\ngot:\n%s\nthe guide shows:\n%s", c.line, got, c.want)
				}
			}
		case "yaml":
			yamls++
			dir := t.TempDir()
			pipeline := "stages:\n  in: {use: read, with: {path: " + filepath.Join(root, "examples/data/loans.csv") + "}}\n" +
				"  rows: {use: split, from: in, with: {csv: {}}}\n  c:\n    use: classify\n    from: rows\n    with:\n" +
				indentBlock(b.text, "      ") + "  n: {use: count, from: c, with: {by: [category], output: out.csv}}\n"
			os.WriteFile(filepath.Join(dir, "p.yaml"), []byte(pipeline), 0o644)
			if res := runSluice(t, dir, "validate", "p.yaml"); res.code != 0 {
				t.Errorf("the guide's rules do not plan:\n%s\n%s", b.text, res.stderr)
			}
		}
	}
	if cmds < 5 || yamls < 1 {
		t.Errorf("found %d commands and %d YAML blocks; the guide's blocks are not being read", cmds, yamls)
	}
}

type codeBlock struct{ lang, text string }

// codeBlocks returns the fenced code blocks of a Markdown text.
func codeBlocks(md string) []codeBlock {
	var out []codeBlock
	var cur *codeBlock
	for _, l := range strings.SplitAfter(md, "\n") {
		switch {
		case cur == nil && strings.HasPrefix(l, "```"):
			cur = &codeBlock{lang: strings.TrimSpace(strings.TrimPrefix(l, "```"))}
		case cur != nil && strings.HasPrefix(l, "```"):
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			cur.text += l
		}
	}
	return out
}

type consoleCommand struct{ line, want string }

// consoleCommands splits a console block into its "$ " commands, each
// with the output shown under it.
func consoleCommands(block string) []consoleCommand {
	var out []consoleCommand
	for _, l := range strings.SplitAfter(block, "\n") {
		if c, ok := strings.CutPrefix(l, "$ "); ok {
			out = append(out, consoleCommand{line: strings.TrimSpace(c)})
			continue
		}
		if len(out) > 0 {
			out[len(out)-1].want += l
		}
	}
	return out
}
