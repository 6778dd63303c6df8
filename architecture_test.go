package sluice_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
)

const module = "github.com/sluicehq/sluice"

// importRule forbids the packages whose directory matches from to import
// the module's packages that match to, except those matching allow.
// Patterns are directories relative to the module root; "x/..." matches x
// and everything under it; to "..." is any import outside the standard
// library, to "module" any package of the module.
type importRule struct {
	from, to string
	allow    []string
	why      string
}

// importRules are the directions of docs/architecture.md. Only non-test
// files are checked: a test may import what it tests with.
var importRules = []importRule{
	{from: "stage", to: "...", why: "the stage contract depends on nothing but the standard library"},
	{from: "stages/...", to: "stages/...", allow: []string{"stages/internal/...", "stages/$1/..."},
		why: "a stage kind imports only the contract and stages/internal (the registry and tools excepted below)"},
	{from: "stages/...", to: "engine/...", why: "stages know the contract, not the engine"},
	{from: "stages/...", to: "pipeline/...", why: "stages know the contract, not the pipeline language"},
	{from: "stages/...", to: "cmd/...", why: "nothing imports the command"},
	{from: "pipeline/...", to: "engine/...", why: "the pipeline language plans; the engine runs what it planned"},
	{from: "pipeline/...", to: "stages/...", why: "the pipeline language finds kinds through a stage.Registry"},
	{from: "engine/...", to: "stages/...", why: "the engine knows no particular stage kind"},
	{from: "engine/...", to: "cmd/...", why: "nothing imports the command"},
	{from: "engine/...", to: "plugins/...", why: "the engine knows no plugins"},
	{from: "sdk/...", to: "engine/...", why: "plugin authors do not link the engine"},
	{from: "sdk/...", to: "pipeline/...", why: "plugin authors do not link the pipeline language"},
	{from: "sdk/...", to: "plugins/...", why: "the SDK is the plugin's side, plugins the host's"},
	{from: "plugins/...", to: "engine/...", why: "the plugin host is used by a stage, through the contract"},
	{from: "plugins/...", to: "pipeline/...", why: "the plugin host is used by a stage, through the contract"},
	{from: "internal/...", to: "module", allow: []string{"internal/..."}, why: "shared helpers are leaves of the module"},
}

// importExceptions are the imports the rules above allow on purpose.
var importExceptions = map[string][]string{
	"stages":          {"stages/..."},   // the registry of the built-in kinds lists them all
	"stages/exprlang": {"stages/split"}, // a tool package: `sluice eval` splits a file
	"stages/classify": {"plugins"},      // the plugin stage runs the plugin host
}

func TestImportDirections(t *testing.T) {
	for _, v := range checkImports(t, os.DirFS(".")) {
		t.Error(v)
	}
}

// TestImportDirectionsReport checks the checker: each wrong way it must
// catch is caught, and the right ways pass.
func TestImportDirectionsReport(t *testing.T) {
	file := func(pkg string, imports ...string) *fstest.MapFile {
		src := "package " + pkg + "\n"
		for _, i := range imports {
			src += "import _ " + strconv.Quote(module+"/"+i) + "\n"
		}
		return &fstest.MapFile{Data: []byte(src)}
	}
	fsys := fstest.MapFS{
		"go.mod":                      {Data: []byte("module " + module + "\n")},
		"stage/stage.go":              &fstest.MapFile{Data: []byte("package stage\nimport _ \"gopkg.in/yaml.v3\"\n")},
		"stages/read/read.go":         file("read", "stage", "stages/internal/inputfile"),
		"stages/split/split.go":       file("split", "stages/read", "stages/split/internal/scan"),
		"stages/split/split_test.go":  file("split", "engine"),
		"stages/stages.go":            file("stages", "stages/read", "stages/split"),
		"pipeline/plan.go":            file("pipeline", "engine"),
		"sdk/sdk.go":                  file("sdk", "engine"),
		"engine/run.go":               file("engine", "cmd/sluice", "stage", "pipeline"),
		"stages/write/testdata/x.go":  file("x", "engine"),
		"stages/classify/classify.go": file("classify", "plugins"),
	}
	got := checkImports(t, fsys)
	want := []string{
		`engine/run.go imports cmd/sluice: nothing imports the command`,
		`pipeline/plan.go imports engine: the pipeline language plans; the engine runs what it planned`,
		`sdk/sdk.go imports engine: plugin authors do not link the engine`,
		`stage/stage.go imports gopkg.in/yaml.v3: the stage contract depends on nothing but the standard library`,
		`stages/split/split.go imports stages/read: a stage kind imports only the contract and stages/internal (the registry and tools excepted below)`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("violations:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// checkImports returns every import of a non-test file of fsys that breaks
// a rule, sorted.
func checkImports(t *testing.T, fsys fs.FS) []string {
	t.Helper()
	var out []string
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); n == "testdata" || n == "node_modules" || (strings.HasPrefix(n, ".") && p != ".") {
				return fs.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		src, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		f, err := parser.ParseFile(token.NewFileSet(), p, src, parser.ImportsOnly)
		if err != nil {
			return err
		}
		dir := path.Dir(p)
		for _, imp := range f.Imports {
			ip, _ := strconv.Unquote(imp.Path.Value)
			if why, bad := breaks(dir, ip); bad {
				out = append(out, p+" imports "+strings.TrimPrefix(ip, module+"/")+": "+why)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// breaks says whether the package in dir may not import ip, and why.
func breaks(dir, ip string) (string, bool) {
	inModule := strings.HasPrefix(ip, module+"/")
	rel := strings.TrimPrefix(ip, module+"/")
	std := !strings.Contains(strings.Split(ip, "/")[0], ".")
	for _, allowed := range importExceptions[dir] {
		if inModule && match(allowed, rel) {
			return "", false
		}
	}
	for _, r := range importRules {
		if !match(r.from, dir) {
			continue
		}
		if r.to == "module" {
			if !inModule {
				continue
			}
		} else if r.to == "..." {
			// anything but the standard library (and the allowed part of the module)
			if std {
				continue
			}
		} else if !inModule || !match(r.to, rel) {
			continue
		}
		ok := false
		for _, a := range r.allow {
			// $1 is the first directory below the rule's from prefix: a
			// stage kind's own subpackages
			if strings.Contains(a, "$1") {
				rest := strings.TrimPrefix(strings.TrimPrefix(dir, strings.TrimSuffix(r.from, "/...")), "/")
				a = strings.ReplaceAll(a, "$1", strings.Split(rest, "/")[0])
			}
			if inModule && match(a, rel) {
				ok = true
			}
		}
		if !ok {
			return r.why, true
		}
	}
	return "", false
}

// match reports whether dir matches pattern ("x" or "x/...").
func match(pattern, dir string) bool {
	if p, ok := strings.CutSuffix(pattern, "/..."); ok {
		return dir == p || strings.HasPrefix(dir, p+"/")
	}
	return dir == pattern
}
