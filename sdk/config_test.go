package sdk_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/sluicehq/sluice/sdk"
	"github.com/sluicehq/sluice/sdk/sdktest"
)

type Limits struct {
	Size int `json:"size" doc:"Entries kept."`
}

type Base struct {
	Verbose bool `json:"verbose"`
}

type testConfig struct {
	Base                         // flattened, as encoding/json does
	Spec     string              `json:"spec" required:"true" doc:"Path of the spec file."`
	Cache    int                 `json:"cache" doc:"Entries in memory."`
	Ratio    float64             `json:"ratio,omitempty"`
	Tags     []string            `json:"tags"`
	Weights  map[string]float64  `json:"weights"`
	Limits   Limits              `json:"limits"`
	Pointer  *Limits             `json:"pointer"`
	Timeout  textDuration        `json:"timeout"`
	Any      any                 `json:"any"`
	Skipped  string              `json:"-"`
	NoTag    string              // keyed by its field name
	Nested   map[string][]string `json:"nested"`
	unexport int
}

// textDuration decodes itself, so the schema accepts any value for it.
type textDuration time.Duration

func (d *textDuration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	*d = textDuration(v)
	return err
}

func TestConfigSchema(t *testing.T) {
	b, err := sdk.ConfigSchema(&testConfig{Cache: 100, Tags: []string{"a"}, Limits: Limits{Size: 7}})
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"$schema":              "https://json-schema.org/draft/2020-12/schema",
		"type":                 "object",
		"additionalProperties": false,
		"required":             []any{"spec"},
		"properties": map[string]any{
			"verbose": map[string]any{"type": "boolean", "default": false},
			"spec":    map[string]any{"type": "string", "default": "", "description": "Path of the spec file."},
			"cache":   map[string]any{"type": "integer", "default": float64(100), "description": "Entries in memory."},
			"ratio":   map[string]any{"type": "number", "default": float64(0)},
			"tags":    map[string]any{"type": "array", "items": map[string]any{"type": "string"}, "default": []any{"a"}},
			"weights": map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "number"}},
			"limits": map[string]any{"type": "object", "additionalProperties": false, "properties": map[string]any{
				"size": map[string]any{"type": "integer", "default": float64(7), "description": "Entries kept."},
			}},
			"pointer": map[string]any{"type": "object", "additionalProperties": false, "properties": map[string]any{
				"size": map[string]any{"type": "integer", "default": float64(0), "description": "Entries kept."},
			}},
			"timeout": map[string]any{"default": float64(0)},
			"any":     map[string]any{},
			"NoTag":   map[string]any{"type": "string", "default": ""},
			"nested":  map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "array", "items": map[string]any{"type": "string"}}},
		},
	}
	if !reflect.DeepEqual(got, want) {
		gb, _ := json.MarshalIndent(got, "", " ")
		t.Errorf("got\n%s", gb)
	}
}

func TestConfigSchemaRejectsNonStruct(t *testing.T) {
	for _, v := range []any{42, map[string]any{}, (*testConfig)(nil)} {
		if _, err := sdk.ConfigSchema(v); err == nil {
			t.Errorf("ConfigSchema(%T): no error", v)
		}
	}
}

// TestDecodeConfigErrors checks that DecodeConfig names the key at fault
// in a *ConfigError, at the top and in a nested object.
func TestDecodeConfigErrors(t *testing.T) {
	for _, tt := range []struct {
		config, key, msg string
	}{
		{`{"cahce": 5}`, "cahce", "config: cahce: unknown key"},
		{`{"cache": "big"}`, "cache", "config: cache: expected int, got string"},
		{`{"limits": {"size": true}}`, "limits.size", "config: limits.size: expected int, got bool"},
		{`{"limits": {"sise": 1}}`, "sise", "config: sise: unknown key"},
	} {
		var cfg testConfig
		err := (&sdk.InitRequest{Config: []byte(tt.config)}).DecodeConfig(&cfg)
		var ce *sdk.ConfigError
		if !errors.As(err, &ce) || ce.Key != tt.key || err.Error() != tt.msg {
			t.Errorf("%s: got %v (%#v), want key %q and %q", tt.config, err, ce, tt.key, tt.msg)
		}
	}
	var cfg testConfig
	if err := (&sdk.InitRequest{Config: []byte(`[1]`)}).DecodeConfig(&cfg); err == nil {
		t.Error("a config that is not an object decodes")
	}
}

// TestDescribeSendsConfigSchema serves a plugin with and without a
// Config over real gRPC and checks what Describe and a failing Init carry.
func TestDescribeSendsConfigSchema(t *testing.T) {
	cls := sdk.ClassifierFunc(func(context.Context, *sdk.ClassifyRequest) (*sdk.ClassifyResponse, error) { return nil, nil })
	c := sdktest.Serve(t, sdk.Plugin{Name: "r", Classifier: &configured{cls}, Config: testConfig{Cache: 100}})
	d, err := c.Describe(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want, _ := sdk.ConfigSchema(testConfig{Cache: 100})
	if d.ConfigSchema != string(want) {
		t.Errorf("Describe sent schema %q, want %q", d.ConfigSchema, want)
	}
	err = c.Init(t.Context(), map[string]any{"limits": map[string]any{"size": "x"}})
	var ie *sdktest.InitError
	if !errors.As(err, &ie) || ie.Key != "limits.size" {
		t.Errorf("Init: got %#v, want an InitError about limits.size", err)
	}

	plain := sdktest.Serve(t, sdk.Plugin{Name: "r", Classifier: cls})
	if d, err := plain.Describe(t.Context()); err != nil || d.ConfigSchema != "" {
		t.Errorf("a plugin without Config describes %q, %v; want no schema", d.ConfigSchema, err)
	}
}

// configured decodes its config strictly in Init.
type configured struct{ sdk.ClassifierFunc }

func (configured) Init(_ context.Context, req *sdk.InitRequest) (*sdk.InitResponse, error) {
	var cfg testConfig
	return nil, req.DecodeConfig(&cfg)
}
