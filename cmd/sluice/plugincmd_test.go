package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const configPipeline = `stages:
  in:    {use: read, with: {path: in.txt}}
  lines: {use: split, from: in, with: {lines: {}}}
  tagged:
    use: classify
    from: lines
    with:
      plugin:
        command: [%q]
        instances: 1
        env: {%s}
        config:
          %s
  out: {use: write, from: tagged, with: {dir: out}}
`

func writeConfigPipeline(t *testing.T, dir, env, config string) {
	t.Helper()
	p := fmt.Sprintf(configPipeline, testPlugin(t), env, config)
	if err := os.WriteFile(filepath.Join(dir, "pipeline.yaml"), []byte(p), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "in.txt"), []byte("a\nb\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestValidateChecksPluginConfig runs sluice validate on a pipeline whose
// plugin config has a typo and a wrong type: each is an error at its key
// in the file, the typo with a suggestion. A good config passes; a plugin
// that does not describe its config passes with a note; --no-path-check
// does not start the plugin.
func TestValidateChecksPluginConfig(t *testing.T) {
	dir := t.TempDir()
	writeConfigPipeline(t, dir, "", "{prefx: x-, sleep: 5}")
	r := runSluice(t, dir, "validate")
	want := []string{
		`pipeline.yaml: 2 problem(s) in plugin config:`,
		`pipeline.yaml:13:12: stage "tagged": plugin.config.prefx: unknown key (did you mean "prefix"?)`,
		`pipeline.yaml:13:23: stage "tagged": plugin.config.sleep: expected string, got number`,
	}
	if r.code != 2 || contains(r.stderr, want) != "" {
		t.Fatalf("exit %d, %s\n%s", r.code, contains(r.stderr, want), r.stderr)
	}
	if r := runSluice(t, dir, "validate", "--no-path-check"); r.code != 0 {
		t.Errorf("--no-path-check: exit %d\n%s", r.code, r.stderr)
	}

	writeConfigPipeline(t, dir, "", "{prefix: x-, sleep: 1ms}")
	if r := runSluice(t, dir, "validate"); r.code != 0 || r.stderr != "" {
		t.Errorf("a good config: exit %d\n%s", r.code, r.stderr)
	}

	writeConfigPipeline(t, dir, "TESTPLUGIN_NO_SCHEMA: '1'", "{prefx: x-}")
	r = runSluice(t, dir, "validate")
	note := `note: pipeline.yaml:8:7: stage "tagged": plugin.config not checked: plugin "testplugin" does not describe its config`
	if r.code != 0 || !strings.Contains(r.stderr, note) {
		t.Errorf("no schema: exit %d, want a note %q\n%s", r.code, note, r.stderr)
	}
}

// TestRunShowsInitConfigErrorAtKey runs a pipeline whose config has a typo
// without validating it first: the plugin's Init rejects the key, and the
// run's error starts with the key's position and has a suggestion.
func TestRunShowsInitConfigErrorAtKey(t *testing.T) {
	dir := t.TempDir()
	writeConfigPipeline(t, dir, "", "\n          prefix: x-\n          chaty: true")
	r := runSluice(t, dir, "run", "--progress", "none", "--summary", "none")
	want := `pipeline.yaml:15:11: stage "tagged": setup: plugin "testplugin" (stage "tagged"): init failed: config: chaty: unknown key (did you mean "chatty"?)`
	if r.code == 0 || !strings.Contains(r.stderr, want) {
		t.Errorf("exit %d, want %q in\n%s", r.code, want, r.stderr)
	}
}

// TestPluginDescribe prints the test plugin's config reference and schema.
func TestPluginDescribe(t *testing.T) {
	plugin := testPlugin(t)
	r := runSluice(t, t.TempDir(), "plugin", "describe", plugin)
	want := []string{
		"testplugin 0.0.1 — sdk sluice-go-sdk, accepts xml|csv|line|json\n  " + plugin + "\n",
		"config (under plugin.config:):\n  key ",
		"\n  prefix        string   \"\"       Put before each category.\n",
		"\n  sleep         string   \"0s\"     \n",
	}
	if r.code != 0 || contains(r.stdout, want) != "" {
		t.Fatalf("exit %d, %s:\n%s%s", r.code, contains(r.stdout, want), r.stdout, r.stderr)
	}
	r = runSluice(t, t.TempDir(), "plugin", "describe", "--json", plugin)
	var schema struct {
		Properties map[string]struct {
			Type    string
			Default any
		}
		AdditionalProperties bool
	}
	if err := json.Unmarshal([]byte(r.stdout), &schema); err != nil || r.code != 0 {
		t.Fatalf("--json: exit %d, %v\n%s%s", r.code, err, r.stdout, r.stderr)
	}
	if p := schema.Properties["sleep"]; p.Type != "string" || p.Default != "0s" || len(schema.Properties) != 11 || schema.AdditionalProperties {
		t.Errorf("--json: %+v", schema)
	}
	if r := runSluice(t, t.TempDir(), "plugin", "describe"); r.code != 2 || !strings.Contains(r.stderr, "name the plugin") {
		t.Errorf("no plugin: exit %d\n%s", r.code, r.stderr)
	}
}

// contains returns what of want s lacks, or "".
func contains(s string, want []string) string {
	var missing []string
	for _, w := range want {
		if !strings.Contains(s, w) {
			missing = append(missing, fmt.Sprintf("%q", w))
		}
	}
	if missing == nil {
		return ""
	}
	return "missing " + strings.Join(missing, ", ")
}
