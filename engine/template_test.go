package engine_test

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"gopkg.in/yaml.v3"

	"github.com/sluicehq/sluice/pipeline"
)

// TestTemplates loads the pipeline of every directory in testdata/templates
// (with shared/ on the template search path) and compares either its
// errors or, when it loads, its expanded stages with the directory's
// want.golden (go test -update rewrites them).
func TestTemplates(t *testing.T) {
	dirs, err := filepath.Glob("testdata/templates/*")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no template cases: %v", err)
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			t.Chdir(dir)
			l := &pipeline.Loader{Registry: newWorld().reg, SearchPath: []string{"shared"}}
			got := expansion(t, l)
			if *update {
				if err := os.WriteFile("want.golden", []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile("want.golden")
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("differs from %s/want.golden\n--- got\n%s--- want\n%s", dir, got, want)
			}
		})
	}
}

// expansion returns the errors of loading pipeline.yaml, or its stages
// as planned, one per line with their options.
func expansion(t *testing.T, l *pipeline.Loader) string {
	t.Helper()
	if _, err := pipeline.LoadFile(l, "pipeline.yaml"); err != nil {
		if _, ok := err.(pipeline.ErrorList); !ok {
			t.Fatalf("not an ErrorList: %T %v", err, err)
		}
		return "errors:\n" + err.Error() + "\n"
	}
	cfg, err := l.ParseFile("pipeline.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "files: %s\n", strings.Join(cfg.Files, " "))
	for _, st := range cfg.Stages {
		fmt.Fprintf(&b, "%s: use %s", st.Name, st.Use)
		if len(st.From) > 0 {
			fmt.Fprintf(&b, ", from %s", strings.Join(st.From, " "))
		}
		if st.Workers > 0 {
			fmt.Fprintf(&b, ", workers %d", st.Workers)
		}
		if st.Template != "" {
			fmt.Fprintf(&b, ", template %s", st.Template)
		}
		if st.With != nil {
			flow := *st.With
			flow.Style = yaml.FlowStyle
			out, err := yaml.Marshal(&flow)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, ", with %s", strings.TrimSpace(string(out)))
		}
		b.WriteString("\n")
	}
	return b.String()
}

// TestConfigUse checks what a template use expands to, through a template
// whose input and output stage is itself a template use.
func TestConfigUse(t *testing.T) {
	t.Chdir("testdata/templates/expand")
	cfg, err := (&pipeline.Loader{Registry: newWorld().reg, SearchPath: []string{"shared"}}).ParseFile("pipeline.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, in, out string
		ok            bool
	}{
		{"doubled", "doubled.inner.one", "doubled.inner.two", true},
		{"marked", "marked.one", "marked.two", true},
		{"tagged", "", "", false}, // a one-stage template: tagged is a stage
		{"more", "", "", false},
		{"nope", "", "", false},
	} {
		in, out, ok := cfg.Use(tc.name)
		if ok != tc.ok || strings.Join(in, " ") != tc.in || out != tc.out {
			t.Errorf("Use(%q) = %v, %q, %v; want [%s], %q, %v", tc.name, in, out, ok, tc.in, tc.out, tc.ok)
		}
	}
}

// TestGraphGroupsTemplateUses checks that graphs draw the stages of each
// top-level template use in one box named after the use and its template.
func TestGraphGroupsTemplateUses(t *testing.T) {
	t.Chdir("testdata/templates/expand")
	g, err := pipeline.LoadFile(&pipeline.Loader{Registry: newWorld().reg, SearchPath: []string{"shared"}}, "pipeline.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dot := g.DOT()
	for _, want := range []string{
		"  subgraph \"cluster_doubled\" {\n    label=\"doubled (template nested)\";",
		"    \"doubled.inner.one\" [label=",
		"    \"doubled.side\" [label=",
		"  \"numbers\" [label=",
		"  \"tagged\" [label=",
	} {
		if !strings.Contains(dot, want) {
			t.Errorf("DOT lacks %q:\n%s", want, dot)
		}
	}
	if m := g.Mermaid(); !strings.Contains(m, "subgraph g1[\"marked (template mark-twice)\"]\n    s1[\"marked.one") {
		t.Errorf("Mermaid:\n%s", m)
	}
	for _, n := range g.Nodes {
		if n.Name == "tagged" && (n.Use != "tagged" || n.UseTemplate != "tag") {
			t.Errorf("tagged: Use %q, UseTemplate %q", n.Use, n.UseTemplate)
		}
	}
}

// TestTemplatesThroughReadFile lists the templates of a Loader that reads
// from a file system of its own (here in memory), not from the disk.
func TestTemplatesThroughReadFile(t *testing.T) {
	tmpl := func(name string) *fstest.MapFile {
		return &fstest.MapFile{Data: []byte("template: " + name + "\ndoc: One map stage.\nstages:\n  tag: {use: map}\n")}
	}
	fsys := fstest.MapFS{
		"lib/alpha.yaml":   tmpl("alpha"),
		"lib/beta.yml":     tmpl("beta"),
		"lib/plain.yaml":   {Data: []byte("name: not-a-template\nstages: {}\n")},
		"lib/notes.txt":    tmpl("ignored"),
		"lib/sub/gam.yaml": tmpl("ignored"),
		"more/alpha.yaml":  tmpl("shadowed"),
		"more/delta.yaml":  tmpl("delta"),
	}
	l := &pipeline.Loader{
		Registry:   newWorld().reg,
		SearchPath: []string{"lib", "more", "missing"},
		ReadFile:   func(p string) ([]byte, error) { return fsys.ReadFile(filepath.ToSlash(p)) },
		ReadDir:    func(d string) ([]fs.DirEntry, error) { return fsys.ReadDir(filepath.ToSlash(d)) },
	}
	got, err := l.Templates()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tm := range got {
		names = append(names, tm.Name+" "+filepath.ToSlash(tm.File))
	}
	want := []string{"alpha lib/alpha.yaml", "beta lib/beta.yml", "delta more/delta.yaml"}
	if !slices.Equal(names, want) {
		t.Errorf("Templates() = %q, want %q", names, want)
	}
}
