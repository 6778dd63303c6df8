package main

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// genXML writes records spread over lines, with and without an attribute
// and a child of the same name, and returns what eval must print for
// [attr("id"), hasattr("alt"), has("alt")], computed from the text.
func genXML(t *testing.T, path string, n int) string {
	t.Helper()
	var doc, want strings.Builder
	doc.WriteString("<?xml version=\"1.0\"?>\n<root>\n")
	for i := range n {
		off := doc.Len()
		line := strings.Count(doc.String(), "\n") + 1
		alt := i%3 == 0
		fmt.Fprintf(&doc, "<rec id=\"r%d\"", i)
		if alt {
			doc.WriteString(" alt=\"yes\"")
		}
		doc.WriteString(">\n  <title>t</title>\n")
		if i%2 == 0 {
			doc.WriteString("  <alt/>\n")
		}
		doc.WriteString("</rec>\n")
		fmt.Fprintf(&want, "%s:%d (record %d, byte %d): [\"r%d\", %t, %t]\n", filepath.Base(path), line, i+1, off, i, alt, i%2 == 0)
	}
	doc.WriteString("</root>\n")
	if err := os.WriteFile(path, []byte(doc.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return want.String()
}

// TestEvalCommand runs sluice eval on a generated XML file, plain and
// gzipped, and checks each record's position and values against the text.
func TestEvalCommand(t *testing.T) {
	dir := t.TempDir()
	want := genXML(t, filepath.Join(dir, "cat.xml"), 30)
	expr := `[attr("id"), hasattr("alt"), has("alt")]`
	res := runSluice(t, dir, "eval", expr, "--record", "cat.xml", "--element", "rec")
	if res.code != 0 || res.stdout != want {
		t.Fatalf("exit %d, stderr %s\ngot:\n%s\nwant:\n%s", res.code, res.stderr, res.stdout, want)
	}

	raw, _ := os.ReadFile(filepath.Join(dir, "cat.xml"))
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(raw)
	zw.Close()
	os.WriteFile(filepath.Join(dir, "cat.xml.gz"), gz.Bytes(), 0o644)
	res = runSluice(t, dir, "eval", expr, "--record", "cat.xml.gz", "--element", "rec", "-n", "4")
	wantGz := strings.ReplaceAll(strings.Join(strings.SplitAfter(want, "\n")[:4], ""), "cat.xml:", "cat.xml.gz:")
	if res.code != 0 || res.stdout != wantGz {
		t.Errorf("gzip, -n 4: exit %d, stderr %s\ngot:\n%s\nwant:\n%s", res.code, res.stderr, res.stdout, wantGz)
	}
}

// TestEvalCommandErrors checks exit codes and messages: 2 for a wrong
// expression or flag, 1 when the expression fails on a record, which is
// printed in its place among the values.
func TestEvalCommandErrors(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "b.csv"), []byte("id,lang\n1,fr\n2\n3,en\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "c.xml"), []byte("<r><rec alt='1'/></r>"), 0o644)
	tests := []struct {
		name       string
		args       []string
		code       int
		stdout     string
		stderrPart string
	}{
		{"values", []string{`field("lang")`, "--record", "b.csv", "--as", "string"}, 1,
			"b.csv:2 (record 1, byte 8): \"fr\"\nb.csv:3 (record 2, byte 13): error: b.csv:3: row has 1 fields, the header has 2; set csv.short_rows: pad to read the missing trailing fields as empty\nb.csv:4 (record 3, byte 15): \"en\"\n",
			"the expression failed on 1 of 3 records"},
		{"record error", []string{`field("lnag")`, "--record", "b.csv"}, 1, "",
			`error: column 1 of the expression: field("lnag"): no such column in the CSV header (columns: id, lang)`},
		{"compile error", []string{`fild("lang")`, "--record", "b.csv"}, 2, "", "unknown name fild (did you mean field?)"},
		{"attribute path", []string{`has("@alt")`, "--record", "c.xml", "--element", "rec"}, 2, "", `test the root's attribute with hasattr("alt")`},
		{"bool", []string{`field("lang")`, "--record", "b.csv", "--as", "bool"}, 2, "", "expression gives a string, want true or false"},
		{"no element", []string{`name()`, "--record", "c.xml"}, 2, "", "--element: name the element"},
		{"no record flag", []string{`name()`}, 2, "", `required flag(s) "record" not set`},
		{"unknown kind", []string{`line`, "--record", "b.csv", "--kind", "tsv"}, 2, "", `--kind: expected xml, csv, lines or jsonl, got "tsv"`},
		{"missing file", []string{`line`, "--record", "nope.txt"}, 1, "", "nope.txt: no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := runSluice(t, dir, append([]string{"eval"}, tt.args...)...)
			if res.code != tt.code || (tt.stdout != "" && res.stdout != tt.stdout) ||
				!strings.Contains(res.stdout+res.stderr, tt.stderrPart) {
				t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s\nwant exit %d, stdout %q, output containing %q", res.code, res.stdout, res.stderr, tt.code, tt.stdout, tt.stderrPart)
			}
		})
	}
}

// TestExprCommand: sluice expr --markdown is docs/expressions.md, and the
// reference reaches sluice expr and sluice stages classify.
func TestExprCommand(t *testing.T) {
	dir := t.TempDir()
	res := runSluice(t, dir, "expr", "--markdown")
	doc, err := os.ReadFile("../../docs/expressions.md")
	if err != nil {
		t.Fatal(err)
	}
	if res.code != 0 || res.stdout != string(doc) {
		t.Errorf("sluice expr --markdown (exit %d) differs from docs/expressions.md", res.code)
	}
	for _, args := range [][]string{{"expr"}, {"stages", "classify"}, {"stages", "count"}} {
		res := runSluice(t, dir, args...)
		for _, want := range []string{"hasattr(name string) bool", "text(path string) string", "field(column string) string", "the record's number in its file"} {
			if res.code != 0 || !strings.Contains(res.stdout, want) {
				t.Errorf("sluice %s (exit %d) does not show %q", strings.Join(args, " "), res.code, want)
			}
		}
	}
	if res := runSluice(t, dir, "stages", "write"); strings.Contains(res.stdout, "hasattr") {
		t.Errorf("sluice stages write lists the expression functions; write takes no expressions")
	}
}

// TestEvalSplitStage: --split cuts the file with every option of a
// pipeline's split stage (here lines.skip_empty, which no flag sets).
func TestEvalSplitStage(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "log.txt"), []byte("a\n\nb\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "p.yaml"), []byte(`stages:
  in: {use: read, with: {path: log.txt}}
  lines: {use: split, from: in, with: {lines: {skip_empty: true}}}
  n: {use: count, from: lines, with: {by: [line], output: n.csv}}
`), 0o644)
	res := runSluice(t, dir, "eval", "line", "--record", "log.txt", "--split", "lines", "--pipeline", "p.yaml")
	if want := "log.txt:1 (record 1, byte 0): \"a\"\nlog.txt:3 (record 2, byte 3): \"b\"\n"; res.code != 0 || res.stdout != want {
		t.Errorf("--split: exit %d, stderr %s\ngot:\n%s\nwant:\n%s", res.code, res.stderr, res.stdout, want)
	}
	res = runSluice(t, dir, "eval", "line", "--record", "log.txt")
	if want := "log.txt:1 (record 1, byte 0): \"a\"\nlog.txt:2 (record 2, byte 2): \"\"\nlog.txt:3 (record 3, byte 3): \"b\"\n"; res.code != 0 || res.stdout != want {
		t.Errorf("without --split: exit %d, stderr %s\ngot:\n%s\nwant:\n%s", res.code, res.stderr, res.stdout, want)
	}
	for _, tt := range []struct{ args, want string }{
		{"--split n --pipeline p.yaml", `stage "n" of p.yaml is a count stage, not a split`},
		{"--split x --pipeline p.yaml", `no stage "x" in p.yaml (split stages: lines)`},
		{"--split lines --pipeline p.yaml --kind lines", "drop --kind"},
	} {
		res := runSluice(t, dir, append([]string{"eval", "line", "--record", "log.txt"}, strings.Fields(tt.args)...)...)
		if res.code != exitInvalid || !strings.Contains(res.stderr, tt.want) {
			t.Errorf("%s: exit %d, stderr %s; want exit 2 and %q", tt.args, res.code, res.stderr, tt.want)
		}
	}
}
