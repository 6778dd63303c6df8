package engine_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"github.com/sluicehq/sluice/pipeline"
	stagepkg "github.com/sluicehq/sluice/stage"
)

// selfDecoded decodes itself and does not say what it accepts.
type selfDecoded struct{ v string }

func (s *selfDecoded) UnmarshalYAML(n *yaml.Node) error { s.v = n.Value; return nil }

type tunedOptions struct {
	Mode  string            `yaml:"mode" enum:"loud|quiet" doc:"How loud."`
	Level int               `yaml:"level" max:"9" doc:"A bounded level."`
	Size  stagepkg.ByteSize `yaml:"size" max:"1GiB"`
	Raw   selfDecoded       `yaml:"raw"`
	Names []string          `yaml:"names"`
	Wait  stagepkg.Duration `yaml:"wait"`
	Skip  string            `yaml:"-"`
}

func tunedRegistry() *stagepkg.Registry {
	reg := newWorld().reg
	reg.Register(stagepkg.Define("tuned", "Has every sort of option.", nil,
		func() *tunedOptions { return &tunedOptions{Mode: "quiet", Level: 3, Wait: stagepkg.Duration(2e9)} },
		func(o *tunedOptions) (stagepkg.Stage, error) { return &mapper{}, nil }))
	return reg
}

// withSchema returns the schema of `with:` for kind in the generated schema.
func withSchema(t *testing.T, reg *stagepkg.Registry, kind string) map[string]any {
	t.Helper()
	var s map[string]any
	if err := json.Unmarshal(pipeline.PipelineSchema(reg, nil), &s); err != nil {
		t.Fatal(err)
	}
	w, ok := s["$defs"].(map[string]any)["with."+kind].(map[string]any)
	if !ok {
		t.Fatalf("no $defs/with.%s", kind)
	}
	return w
}

func TestSchemaOfOptions(t *testing.T) {
	w := withSchema(t, tunedRegistry(), "tuned")
	env := map[string]any{"$ref": "#/$defs/interpolated"}
	want := map[string]any{
		"type":                 []any{"object", "null"},
		"additionalProperties": false,
		"description":          "Options of tuned: Has every sort of option.",
		"properties": map[string]any{
			"mode": map[string]any{
				"anyOf":       []any{map[string]any{"type": "string", "enum": []any{"loud", "quiet"}}, env},
				"default":     "quiet",
				"description": "How loud.",
			},
			"level": map[string]any{
				"anyOf":       []any{map[string]any{"type": "integer", "maximum": 9.0}, env},
				"default":     3.0,
				"description": "A bounded level.",
			},
			"size": map[string]any{"anyOf": []any{
				map[string]any{"type": "integer", "minimum": 0.0, "maximum": float64(1 << 30)},
				map[string]any{"type": "string", "pattern": `^\s*[0-9]+\s*(KiB|MiB|GiB|KB|MB|GB|K|M|G|B)?\s*$`, "examples": []any{"64KiB", "16MiB", "1GiB"}},
				env,
			}},
			"raw":   map[string]any{},
			"names": map[string]any{"anyOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "array", "items": map[string]any{"type": "string"}}}},
			"wait": map[string]any{
				"anyOf": []any{map[string]any{
					"type": "string", "pattern": `^\+?(0|(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$`,
					"examples": []any{"500ms", "30s", "2m", "1h30m"},
				}, env},
				"default": "2s",
			},
		},
	}
	if d := cmp.Diff(want, w); d != "" {
		t.Fatalf("with.tuned (-want +got):\n%s", d)
	}
}

func TestEnumOptionIsDecodedStrictly(t *testing.T) {
	reg := tunedRegistry()
	for _, c := range []struct{ mode, err string }{
		{"loud", ""},
		{"", ""},
		{"lowd", `p.yaml:2:42: stage "t": mode: expected one of loud, quiet, got "lowd" (did you mean "loud"?)`},
	} {
		src := "stages:\n  t: {use: tuned, with: {level: 2, mode: " + c.mode + "}, from: g}\n  g: {use: gen}\n  s: {use: sink, from: t}\n"
		cfg, err := pipeline.Parse("p.yaml", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		_, err = pipeline.Plan(cfg, reg)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != c.err {
			t.Errorf("mode %q: got error %q, want %q", c.mode, got, c.err)
		}
	}
}

// TestSchemaFrame checks the document's frame: the dialect, the
// if/then/else between pipelines and templates, one if/then per kind on
// use:, and every documented key with its description.
func TestSchemaFrame(t *testing.T) {
	reg := tunedRegistry()
	var s map[string]any
	if err := json.Unmarshal(pipeline.PipelineSchema(reg, nil), &s); err != nil {
		t.Fatal(err)
	}
	if s["$schema"] != pipeline.SchemaDraft {
		t.Errorf("$schema = %v", s["$schema"])
	}
	defs := s["$defs"].(map[string]any)
	stage := defs["stage"].(map[string]any)
	var kinds []string
	for _, c := range stage["allOf"].([]any) {
		props, _ := c.(map[string]any)["if"].(map[string]any)["properties"].(map[string]any)
		if use, ok := props["use"]; ok {
			kinds = append(kinds, use.(map[string]any)["const"].(string))
		}
	}
	var want []string
	for _, k := range reg.Kinds() {
		want = append(want, k.Name)
	}
	if d := cmp.Diff(want, kinds); d != "" {
		t.Errorf("if/then per kind (-want +got):\n%s", d)
	}
	for def, docs := range map[string][]pipeline.KeyDoc{"pipeline": pipeline.PipelineKeys(), "stage": pipeline.StageKeys()} {
		props := defs[def].(map[string]any)["properties"].(map[string]any)
		if len(props) != len(docs) {
			t.Errorf("%s: %d properties for %d documented keys", def, len(props), len(docs))
		}
		for _, d := range docs {
			p, ok := props[d.Key].(map[string]any)
			if !ok || p["description"] != d.Doc {
				t.Errorf("%s.%s: missing, or its description is not the documented one", def, d.Key)
			}
		}
	}
	if !strings.Contains(string(pipeline.PipelineSchema(reg, nil)), `"$ref": "#/$defs/with.tuned"`) {
		t.Error("no reference to with.tuned")
	}
}
