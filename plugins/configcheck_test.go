package plugins

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/sdk"
)

type checkedConfig struct {
	Prefix string `json:"prefix"`
	Cache  int    `json:"cache"`
	Limits struct {
		Size int `json:"size"`
	} `json:"limits"`
	Spec string `json:"spec" required:"true"`
}

// TestCheckConfig checks configs against a schema derived by the Go sdk:
// each problem is an error naming its key, with a "did you mean" where a
// known key is close.
func TestCheckConfig(t *testing.T) {
	schema, err := sdk.ConfigSchema(checkedConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name   string
		config map[string]any
		want   []string // one per problem, in any order
	}{
		{"ok", map[string]any{"spec": "s.json", "cache": 5, "limits": map[string]any{"size": 1}}, nil},
		{"typo", map[string]any{"spec": "s", "cahce": 5}, []string{`plugin.config.cahce: unknown key (did you mean "cache"?)`}},
		{"far", map[string]any{"spec": "s", "zzzzzzzz": 5}, []string{`plugin.config.zzzzzzzz: unknown key (known keys: cache, limits, prefix, spec)`}},
		{"type", map[string]any{"spec": "s", "cache": "big"}, []string{`plugin.config.cache: expected integer, got string`}},
		{"nested typo", map[string]any{"spec": "s", "limits": map[string]any{"sise": 1}}, []string{`plugin.config.limits.sise: unknown key (did you mean "size"?)`}},
		{"nested type", map[string]any{"spec": "s", "limits": map[string]any{"size": 1.5}}, []string{`plugin.config.limits.size: expected integer, got number`}},
		{"missing", map[string]any{}, []string{`plugin.config: missing required key "spec"`}},
		{"nil config", nil, []string{`plugin.config: missing required key "spec"`}},
		{"several", map[string]any{"spec": 1, "prefx": "x"}, []string{
			`plugin.config.prefx: unknown key (did you mean "prefix"?)`,
			`plugin.config.spec: expected string, got number`,
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckConfig(string(schema), tt.config)
			var got []string
			if err != nil {
				got = strings.Split(err.Error(), "\n")
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("got %q, want %q among the problems", got, w)
				}
			}
		})
	}
	if err := CheckConfig(`{"type": 5}`, nil); err == nil || !strings.Contains(err.Error(), "fix the plugin") {
		t.Errorf("an invalid schema: got %v", err)
	}
	if err := CheckConfig(`not json`, nil); err == nil || !strings.Contains(err.Error(), "fix the plugin") {
		t.Errorf("a schema that is not JSON: got %v", err)
	}
}

// TestDescribeStartsNoInit describes the test plugin: the schema comes
// back, Init is not called (its config would fail it), and no process is
// left.
func TestDescribeStartsNoInit(t *testing.T) {
	cfg := testConfig(4, "", map[string]any{"fail_init": "Init must not run"})
	d, err := Describe(t.Context(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d.Name != "testplugin" || d.Version != "0.0.1" || d.Path != testPlugin {
		t.Errorf("got %+v", d)
	}
	keys, err := ConfigKeys(d.ConfigSchema)
	if err != nil {
		t.Fatal(err)
	}
	var sleep *ConfigKey
	for i := range keys {
		if keys[i].Key == "sleep" {
			sleep = &keys[i]
		}
	}
	if len(keys) != 11 || sleep == nil || sleep.Type != "string" || sleep.Default != `"0s"` {
		t.Errorf("config keys: %+v", keys)
	}
	checkNoPluginLeft(t)
}

// TestCheck runs validate's check on the test plugin: a typo and a wrong
// type are errors at their keys; a plugin without a schema, a missing
// executable and an unbuilt source give a note and no error.
func TestCheck(t *testing.T) {
	cfg := testConfig(2, "", map[string]any{"prefx": "x", "sleep": 5})
	note, err := Check(t.Context(), cfg, nil)
	if note != "" || err == nil {
		t.Fatalf("got note %q, error %v", note, err)
	}
	if msg := contains(err.Error(), `plugin.config.prefx: unknown key (did you mean "prefix"?)`, `plugin.config.sleep: expected string, got number`); msg != "" {
		t.Error(msg)
	}
	cfg.Config = map[string]any{"prefix": "x", "sleep": "1ms"}
	if note, err := Check(t.Context(), cfg, nil); note != "" || err != nil {
		t.Errorf("a good config: got note %q, error %v", note, err)
	}

	cfg.Env = map[string]string{"TESTPLUGIN_NO_SCHEMA": "1"}
	cfg.Config = map[string]any{"prefx": "x"}
	note, err = Check(t.Context(), cfg, nil)
	if err != nil || !strings.Contains(note, `plugin.config not checked: plugin "testplugin" does not describe its config`) {
		t.Errorf("no schema: got note %q, error %v", note, err)
	}

	missing := testConfig(1, "", nil)
	missing.Command = []string{filepath.Join(t.TempDir(), "nothing")}
	note, err = Check(t.Context(), missing, nil)
	if err != nil || !strings.Contains(note, "plugin.config not checked: plugin.command") || !strings.Contains(note, "no such file") {
		t.Errorf("missing executable: got note %q, error %v", note, err)
	}

	isolateCache(t) // an empty plugin build cache
	src := DefaultConfig()
	src.Source = "testdata/testplugin"
	note, err = Check(t.Context(), src, nil)
	if err != nil || !strings.Contains(note, "plugin.source is not built yet") {
		t.Errorf("unbuilt source: got note %q, error %v", note, err)
	}
	checkNoPluginLeft(t)
}

// TestCheckBuiltSource checks a source plugin once its build is cached:
// validate then uses the cached binary and builds nothing.
func TestCheckBuiltSource(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the test plugin")
	}
	isolateCache(t)
	src := DefaultConfig()
	src.Source = "testdata/testplugin"
	src.Config = map[string]any{"chaty": true}
	if _, err := Describe(t.Context(), src, nil); err != nil { // builds it, as `sluice plugin describe --source` does
		t.Fatal(err)
	}
	note, err := Check(t.Context(), src, nil)
	if note != "" || err == nil || !strings.Contains(err.Error(), `plugin.config.chaty: unknown key (did you mean "chatty"?)`) {
		t.Errorf("got note %q, error %v", note, err)
	}
}

// TestInitErrorNamesKey starts the test plugin with a typo, bypassing
// validate: Init's error wraps ErrInit and gets a "did you mean" from the
// schema the plugin described.
func TestInitErrorNamesKey(t *testing.T) {
	_, err := Start(t.Context(), testConfig(1, "", map[string]any{"prefx": "x"}), "labelled", nil)
	if !errors.Is(err, ErrInit) || !strings.Contains(err.Error(), `init failed: config: prefx: unknown key (did you mean "prefix"?)`) {
		t.Errorf("got %v", err)
	}
	checkNoPluginLeft(t)
}

const pyDeclared = `import dataclasses
import sluice_plugin
from sluice_plugin import Classifier, PluginError, Result

@dataclasses.dataclass
class Config:
    spec: str = dataclasses.field(metadata={"doc": "Path of the spec."})
    cache: int = 100
    tags: list[str] = dataclasses.field(default_factory=list)

DICT = {
    "spec": {"type": str, "doc": "Path of the spec."},
    "cache": {"type": int, "default": 100},
    "tags": {"type": list, "default": []},
}

class P(Classifier):
    name = "declared"
    config = Config if "dict" not in __file__ else DICT

    def init(self, config):
        spec = config.spec if isinstance(config, Config) else config["spec"]
        if spec == "bad":
            raise PluginError("config: spec: no such file", key="spec")

    def classify_record(self, r):
        return Result("x")

if __name__ == "__main__":
    sluice_plugin.serve(P)
`

// TestPythonDeclaredConfig checks a Python plugin that declares its config
// as a dataclass and as a dict: Describe sends the schema, validate's
// check reports a typo and a wrong type at their keys, and Init checks
// the same way before the plugin's init runs.
func TestPythonDeclaredConfig(t *testing.T) {
	for _, variant := range []string{"dataclass", "dict"} {
		t.Run(variant, func(t *testing.T) {
			script := filepath.Join(t.TempDir(), "plugin_"+variant+".py")
			if err := os.WriteFile(script, []byte(pyDeclared), 0o644); err != nil {
				t.Fatal(err)
			}
			cfg := pyConfig(t, 1, "", map[string]any{"spec": "s", "cahce": 5, "tags": "a"})
			cfg.Command = []string{python(t), script}
			d, err := Describe(t.Context(), cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			keys, err := ConfigKeys(d.ConfigSchema)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, k := range keys {
				got = append(got, k.Key+" "+k.Type+" "+k.Default+" "+k.Doc)
				if k.Key == "spec" && !k.Required {
					t.Errorf("spec is not required")
				}
			}
			tags := "tags array of string []"
			if variant == "dict" {
				tags = "tags array []"
			}
			want := []string{"cache integer 100 ", "spec string  Path of the spec.", tags + " "}
			if strings.Join(got, "|") != strings.Join(want, "|") {
				t.Errorf("config keys:\n got %q\nwant %q", got, want)
			}
			_, err = Check(t.Context(), cfg, nil)
			if msg := contains(errString(err), `plugin.config.cahce: unknown key (did you mean "cache"?)`, `plugin.config.tags: expected array, got string`); msg != "" {
				t.Error(msg)
			}
			// At run time, the sdk checks before init and names the key.
			_, err = Start(t.Context(), cfg, "labelled", nil)
			if !errors.Is(err, ErrInit) || !strings.Contains(err.Error(), `config: unknown key 'cahce' (did you mean 'cache'?)`) {
				t.Errorf("Start: got %v", err)
			}
			cfg.Config = map[string]any{"spec": "bad"}
			_, err = Start(t.Context(), cfg, "labelled", nil)
			if !errors.Is(err, ErrInit) || !strings.Contains(err.Error(), `config: spec: no such file`) {
				t.Errorf("Start: got %v", err)
			}
			cfg.Config = map[string]any{"spec": "good"}
			p, err := Start(t.Context(), cfg, "labelled", nil)
			if err != nil {
				t.Fatalf("Start with a good config: %v", err)
			}
			if err := p.Close(t.Context()); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestPythonCheckKeys checks check_keys at run time: an unknown key gets a
// "did you mean", and a plugin that does not declare its config leaves
// validate with a note.
func TestPythonCheckKeys(t *testing.T) {
	cfg := pyConfig(t, 1, "", map[string]any{"prefx": "x"})
	_, err := Start(t.Context(), cfg, "labelled", nil)
	if !errors.Is(err, ErrInit) || !strings.Contains(err.Error(), `config: unknown key 'prefx' (did you mean 'prefix'?)`) {
		t.Errorf("Start: got %v", err)
	}
	note, err := Check(t.Context(), cfg, nil)
	if err != nil || !strings.Contains(note, "does not describe its config") {
		t.Errorf("Check: got note %q, error %v", note, err)
	}
	checkNoPythonPluginLeft(t)
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
