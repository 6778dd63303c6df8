package main

import (
	"bytes"
	"encoding"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/pipeline"
	stagepkg "github.com/sluicehq/sluice/stage"
	"github.com/sluicehq/sluice/stages"
)

const schemaFile = "../../docs/pipeline.schema.json"

// TestSchemaFile keeps docs/pipeline.schema.json equal to what the code
// generates (go test ./cmd/sluice -run TestSchemaFile -update rewrites it),
// and checks that `sluice schema` prints it when SLUICE_PATH is unset.
func TestSchemaFile(t *testing.T) {
	want := pipeline.PipelineSchema(stages.Registry(), nil)
	if *update {
		if err := os.WriteFile(schemaFile, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("docs/pipeline.schema.json is stale: run go test ./cmd/sluice -run TestSchemaFile -update and commit it")
	}
	t.Setenv(pipeline.SearchPathEnv, "")
	r := runSluice(t, ".", "schema")
	if r.code != 0 || r.stdout != string(want) {
		t.Fatalf("sluice schema: exit %d, stderr %q; stdout equals the committed schema: %v", r.code, r.stderr, r.stdout == string(want))
	}
}

// compileSchema compiles schema (JSON) with the 2020-12 meta-schema check
// the compiler does, so a malformed schema fails here.
func compileSchema(t *testing.T, schema []byte) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schema))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource("pipeline.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("pipeline.schema.json")
	if err != nil {
		t.Fatalf("the pipeline schema does not compile: %v", err)
	}
	return sch
}

// yamlInstance turns YAML text into the JSON value a YAML language server
// validates.
func yamlInstance(t *testing.T, name string, src []byte) any {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(src, &v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return inst
}

var schemaCommentRE = regexp.MustCompile(`(?m)^# yaml-language-server: \$schema=(\S+)$`)

// pipelineFiles lists the repository's pipelines, included files, templates
// and stage samples: every YAML file under pipeline.yaml, examples/,
// bench/ and stages/*/sample.yaml except pipeline tests (*_test.yaml).
func pipelineFiles(t *testing.T) []string {
	t.Helper()
	files := []string{"../../pipeline.yaml"}
	for _, dir := range []string{"../../examples", "../../bench"} {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			name := d.Name()
			if d.IsDir() && (name == "testdata" || name == "data") {
				return filepath.SkipDir
			}
			if !d.IsDir() && (strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml")) && !strings.HasSuffix(name, "_test.yaml") {
				files = append(files, path)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	samples, err := filepath.Glob("../../stages/*/sample.yaml")
	if err != nil || len(samples) == 0 {
		t.Fatalf("no stage samples: %v", err)
	}
	return append(files, samples...)
}

// TestPipelinesMatchSchema checks that every pipeline of the repository
// matches the schema and names it in its yaml-language-server comment, by
// a relative path that reaches docs/pipeline.schema.json (all but the
// stages' samples).
func TestPipelinesMatchSchema(t *testing.T) {
	sch := compileSchema(t, pipeline.PipelineSchema(stages.Registry(), nil))
	abs, err := filepath.Abs(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	files := pipelineFiles(t)
	if len(files) < 20 {
		t.Fatalf("found only %d pipeline files: %v", len(files), files)
	}
	for _, f := range files {
		t.Run(strings.TrimPrefix(f, "../../"), func(t *testing.T) {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			// A stage's sample is printed by sluice stages KIND, where a
			// path relative to the repository's file would mislead.
			sample := filepath.Base(f) == "sample.yaml"
			m := schemaCommentRE.FindSubmatch(src)
			switch {
			case m == nil && !sample:
				t.Fatalf("no %q comment", "# yaml-language-server: $schema=...")
			case m != nil && sample:
				t.Fatalf("a stage sample carries a $schema comment, which sluice stages would print")
			case m != nil:
				ref := filepath.Join(filepath.Dir(f), string(m[1]))
				if r, _ := filepath.Abs(ref); r != abs || filepath.IsAbs(string(m[1])) {
					t.Fatalf("$schema=%s is not a relative path to docs/pipeline.schema.json", m[1])
				}
			}
			if err := sch.Validate(yamlInstance(t, f, src)); err != nil {
				t.Fatalf("does not match the schema: %v", err)
			}
		})
	}
}

// TestSchemaAgreesWithLoader checks pipelines against the schema and
// against the loader: both reject misspelled options and wrong types, and
// both accept the forms the decoder takes (a scalar for a list, sizes and
// durations as text, environment references for numbers).
func TestSchemaAgreesWithLoader(t *testing.T) {
	sch := compileSchema(t, pipeline.PipelineSchema(stages.Registry(), nil))
	t.Setenv("SCHEMA_TEST_WORKERS", "3")
	const head = "name: t\nstages:\n  in:\n    use: read\n"
	const tail = "  out:\n    use: count\n    from: recs\n    with: {by: category, output: out/c.json}\n"
	for _, c := range []struct {
		name  string
		stage string // the recs stage, a split of in
		ok    bool
	}{
		{"plain", "with: {xml: {element: record}}", true},
		{"sizes and env", "workers: \"${SCHEMA_TEST_WORKERS}\"\n    with: {chunk: 8MiB, max_record_bytes: 1048576, csv: {delimiter: ';'}}", true},
		{"misspelled option", "with: {xml: {elemnt: record}}", false},
		{"misspelled top option", "with: {chunck: 8MiB, xml: {element: record}}", false},
		{"wrong type", "with: {lines: {skip_empty: often}}", false},
		{"size with a fraction", "with: {chunk: 1.5MiB, lines: {}}", false},
		{"list for a mapping", "with: {csv: [a]}", false},
		{"bad workers", "workers: many\n    with: {lines: {}}", false},
		{"unknown stage key", "worker: 2\n    with: {lines: {}}", false},
		{"bad on_error", "on_error: ignore\n    with: {lines: {}}", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			src := head + "    with: {path: .}\n  recs:\n    use: split\n    from: in\n    " + c.stage + "\n" + tail
			serr := sch.Validate(yamlInstance(t, c.name, []byte(src)))
			_, lerr := sluice.New(sluice.WithSearchPath()).Load("p.yaml", []byte(src))
			if (serr == nil) != c.ok || (lerr == nil) != c.ok {
				t.Fatalf("want accepted=%v; schema: %v; loader: %v\n%s", c.ok, serr, lerr, src)
			}
		})
	}
}

// TestSchemaWithTemplates checks that `sluice schema` describes the
// templates on SLUICE_PATH: a use of one is checked against its parameters.
func TestSchemaWithTemplates(t *testing.T) {
	dir := t.TempDir()
	tmpl := `template: tagged
doc: Give every record one category.
params:
  tag: {type: string, doc: The category.}
  mode: {type: string, enum: [fail, skip], default: fail}
  workers: {type: int, default: 2}
input: c
output: c
stages:
  c:
    use: classify
    on_error: ${{ params.mode }}
    workers: ${{ params.workers }}
    with: {rules: [{category: "${{ params.tag }}"}]}
`
	if err := os.WriteFile(filepath.Join(dir, "tagged.yaml"), []byte(tmpl), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(pipeline.SearchPathEnv, dir)
	r := runSluice(t, ".", "schema")
	if r.code != 0 {
		t.Fatalf("sluice schema: exit %d: %s", r.code, r.stderr)
	}
	sch := compileSchema(t, []byte(r.stdout))
	if err := sch.Validate(yamlInstance(t, "tagged.yaml", []byte(tmpl))); err != nil {
		t.Fatalf("the template does not match: %v", err)
	}
	use := func(with string) error {
		src := "stages:\n  in: {use: read, with: {path: .}}\n  recs: {use: split, from: in, with: {lines: {}}}\n  t: {use: tagged, from: recs, with: " + with + "}\n"
		return sch.Validate(yamlInstance(t, "use", []byte(src)))
	}
	if err := use("{tag: x, mode: skip, workers: 4}"); err != nil {
		t.Fatalf("a good use: %v", err)
	}
	for _, bad := range []string{"{mode: skip}", "{tag: x, mode: loud}", "{tag: x, workers: two}", "{tag: x, tga: y}"} {
		if use(bad) == nil {
			t.Errorf("with: %s: the schema accepts it", bad)
		}
	}
}

// TestEveryOptionHasSchema checks that every option type of the built-in
// kinds that decodes itself also says what it accepts (stagepkg.OptionSchema),
// else the schema would leave it free-form.
func TestEveryOptionHasSchema(t *testing.T) {
	unmarshalerType := reflect.TypeOf((*yaml.Unmarshaler)(nil)).Elem()
	textUnmarshalerType := reflect.TypeOf((*encoding.TextUnmarshaler)(nil)).Elem()
	optionSchemaType := reflect.TypeOf((*stagepkg.OptionSchema)(nil)).Elem()
	seen := map[reflect.Type]bool{}
	var walk func(path string, typ reflect.Type)
	walk = func(path string, typ reflect.Type) {
		if seen[typ] {
			return
		}
		seen[typ] = true
		if pt := reflect.PointerTo(typ); pt.Implements(unmarshalerType) || pt.Implements(textUnmarshalerType) {
			if !reflect.PointerTo(typ).Implements(optionSchemaType) {
				t.Errorf("%s: %s decodes itself but does not implement core.OptionSchema", path, typ)
			}
			return
		}
		switch typ.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Map:
			walk(path, typ.Elem())
		case reflect.Struct:
			for i := 0; i < typ.NumField(); i++ {
				if f := typ.Field(i); f.IsExported() {
					walk(path+"."+f.Name, f.Type)
				}
			}
		}
	}
	for _, k := range stages.Registry().Kinds() {
		walk(k.Name, reflect.TypeOf(k.Defaults()).Elem())
	}
	for _, typ := range []reflect.Type{reflect.TypeOf(stagepkg.Duration(0)), reflect.TypeOf(stagepkg.ByteSize(0))} {
		if !seen[typ] {
			t.Errorf("no option of type %s found: the walk misses options", typ)
		}
	}
}
