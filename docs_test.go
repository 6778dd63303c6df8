package sluice_test

import (
	"bytes"
	"encoding/json"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/internal/corpus"
)

// docBlocks returns the fenced code blocks of a Markdown file that follow a
// marker comment: `<!-- file: NAME -->` blocks by NAME, `<!-- run -->` blocks
// under "run" (joined in order).
func docBlocks(t *testing.T, path string) map[string]string {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile("(?m)^<!-- (file: ([^ ]+)|run) -->\n```[a-z]*\n((?s:.*?))^```$")
	blocks := map[string]string{}
	for _, m := range re.FindAllStringSubmatch(string(src), -1) {
		name := m[2]
		if name == "" {
			name = "run"
		}
		blocks[name] += m[3]
	}
	return blocks
}

// TestDocsFromMultiprocessing runs the code of docs/from-multiprocessing.md
// as a reader would: the Python script and the pipeline, with the guide's
// own commands, on a generated catalogue, and checks that both give the
// same counts and the same number of records in each category's file.
func TestDocsFromMultiprocessing(t *testing.T) {
	if testing.Short() {
		t.Skip("builds sluice and runs Python")
	}
	python, err := exec.LookPath("python3")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("python3 is needed to run the guide's script")
		}
		t.Skip("no python3 on PATH: the guide's script cannot run")
	}
	blocks := docBlocks(t, "docs/from-multiprocessing.md")
	for _, name := range []string{"seed.py", "pipeline.yaml", "run"} {
		if blocks[name] == "" {
			t.Fatalf("the guide has no %q block", name)
		}
	}
	dir := t.TempDir()
	for _, name := range []string{"seed.py", "pipeline.yaml"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(blocks[name]), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Create(filepath.Join(dir, "catalogue.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := corpus.WriteXML(f, 11, 600); err != nil {
		t.Fatal(err)
	}
	f.Close()
	bin := filepath.Join(dir, "bin")
	if out, err := exec.Command("go", "build", "-o", filepath.Join(bin, "sluice"), "./cmd/sluice").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	sh := exec.Command("sh", "-e", "-c", blocks["run"])
	sh.Dir = dir
	sh.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+filepath.Dir(python)+string(os.PathListSeparator)+os.Getenv("PATH"))
	if out, err := sh.CombinedOutput(); err != nil {
		t.Fatalf("the guide's commands failed: %v\n%s", err, out)
	}

	counts := func(out string) map[string]int {
		var m map[string]int
		b, err := os.ReadFile(filepath.Join(dir, out, "counts.json"))
		if err == nil {
			err = json.Unmarshal(b, &m)
		}
		if err != nil {
			t.Fatalf("%s/counts.json: %v", out, err)
		}
		return m
	}
	py, sl := counts("out-python"), counts("out-sluice")
	if len(py) == 0 || !maps.Equal(py, sl) {
		t.Fatalf("counts differ:\npython %v\nsluice %v", py, sl)
	}
	total := 0
	for category, n := range py {
		file := strings.ReplaceAll(category, "/", "__") + ".xml"
		pyData, err1 := os.ReadFile(filepath.Join(dir, "out-python", file))
		slData, err2 := os.ReadFile(filepath.Join(dir, "out-sluice", "sorted", file))
		if err1 != nil || err2 != nil {
			t.Fatalf("%s: %v %v", file, err1, err2)
		}
		// Every generated record has an id, so "<record " starts exactly the
		// records (not "<records", nor "<record>" in comments and CDATA).
		if a, b := bytes.Count(pyData, []byte("<record ")), bytes.Count(slData, []byte("<record ")); a != n || b != n {
			t.Errorf("%s: python wrote %d records, sluice %d, counted %d", file, a, b, n)
		}
		total += n
	}
	if total != 600 {
		t.Errorf("%d records counted, want 600", total)
	}
}

// TestDocsLinks checks that every link from docs/*.md to a heading of the
// README or of another document names a heading that exists.
func TestDocsLinks(t *testing.T) {
	docs, _ := filepath.Glob("docs/*.md")
	link := regexp.MustCompile(`\]\(([^)#]*)#([^)]+)\)`)
	for _, doc := range docs {
		src, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range link.FindAllStringSubmatch(string(src), -1) {
			target := doc
			if m[1] != "" {
				target = filepath.Join(filepath.Dir(doc), m[1])
			}
			if !hasHeading(t, target, m[2]) {
				t.Errorf("%s: link to %s#%s: no such heading", doc, m[1], m[2])
			}
		}
	}
}

// hasHeading reports whether a Markdown file has a heading whose GitHub
// anchor is anchor (lower case, punctuation dropped, spaces as dashes).
func hasHeading(t *testing.T, file, anchor string) bool {
	src, err := os.ReadFile(file)
	if err != nil {
		t.Errorf("%v", err)
		return true
	}
	drop := regexp.MustCompile("[^a-z0-9 _-]")
	for _, line := range strings.Split(string(src), "\n") {
		if h := strings.TrimLeft(line, "#"); len(h) < len(line) && strings.HasPrefix(h, " ") {
			slug := strings.ReplaceAll(drop.ReplaceAllString(strings.ToLower(strings.TrimSpace(h)), ""), " ", "-")
			if slug == anchor {
				return true
			}
		}
	}
	return false
}
