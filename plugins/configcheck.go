package plugins

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/sluicehq/sluice/internal/suggest"
	"github.com/sluicehq/sluice/sdk/protocol"
	"github.com/sluicehq/sluice/stage"
)

// Describe starts the plugin of cfg once, only to ask it what it is
// (Describe), and stops it: no Init, no records. A plugin given by Source
// is built first (or taken from the build cache). It is what
// `sluice plugin describe` runs; Check uses it for `sluice validate`.
func Describe(ctx context.Context, cfg *Config, log *slog.Logger) (*Description, error) {
	c := *cfg
	c.Instances, c.SharedMemory, c.describeOnly = 1, false, true
	name := guessName(&c)
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("plugin %q: %w", name, err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &Pool{cfg: c, name: name, base: log, log: log.With("plugin", name), changed: make(chan struct{}), insts: make([]*instance, 1)}
	p.hclog = hclogFor(ctx, p.log)
	p.ctx, p.cancel = context.WithCancel(context.WithoutCancel(ctx))
	defer p.cancel()
	launch, err := newLauncher(ctx, &p.cfg, p.log)
	if err != nil {
		return nil, fmt.Errorf("plugin %q: %w", name, err)
	}
	p.launch = launch
	inst, err := p.startInstance(ctx, 0, nil)
	if err != nil {
		return nil, fmt.Errorf("plugin %q: %w", name, err)
	}
	defer inst.stop(true)
	d := inst.desc
	desc := &Description{Name: d.Name, Version: d.Version, Accepts: accepted(d.Accepts), SDK: d.SDK, Path: launch.path, ConfigSchema: d.ConfigSchema}
	if desc.Name == "" {
		desc.Name = name
	}
	return desc, nil
}

// Check checks cfg.Config against the schema the plugin describes, for
// `sluice validate`. It starts the plugin only when that costs no build:
// a command whose executable exists, or a source whose build is already in
// the cache (finding out runs `go list`, as a run does). Otherwise, or
// when the plugin describes no config, it returns a note saying the
// config was not checked and why. Problems are core.OptionErrors at
// "plugin.config.KEY" (see CheckConfig); a plugin that fails to start is
// an error about "plugin".
func Check(ctx context.Context, cfg *Config, log *slog.Logger) (note string, err error) {
	c := *cfg
	if c.Source != "" {
		path, why := cachedBuild(ctx, &c)
		if path == "" {
			return "plugin.config not checked: " + why, nil
		}
		c.Command, c.Source, c.Dir = []string{path}, "", ""
	}
	if _, err := resolveExecutable(c.Command[0], c.Dir); err != nil {
		return fmt.Sprintf("plugin.config not checked: plugin.command %q: %v", c.Command[0], err), nil
	}
	desc, err := Describe(ctx, &c, log)
	switch {
	case err != nil:
		return "", stage.OptionError("plugin", "starting the plugin to check its config: %v", err)
	case desc.ConfigSchema == "":
		return fmt.Sprintf("plugin.config not checked: plugin %q does not describe its config (a Go plugin sets sdk.Plugin.Config, a Python one Classifier.config)", desc.Name), nil
	}
	return "", CheckConfig(desc.ConfigSchema, cfg.Config)
}

// cachedBuild returns the cached binary of cfg.Source, or "" and why there
// is none.
func cachedBuild(ctx context.Context, cfg *Config) (path, why string) {
	dir := cfg.Source
	if !filepath.IsAbs(dir) && cfg.Dir != "" {
		dir = filepath.Join(cfg.Dir, dir)
	}
	dir, err := filepath.Abs(dir)
	if err == nil {
		dir, err = filepath.EvalSymlinks(dir)
	}
	if err != nil {
		return "", fmt.Sprintf("plugin.source %q: %v", cfg.Source, err)
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		return "", "building plugin.source needs the go command in PATH"
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", "no cache directory for plugin builds"
	}
	key, name, _, err := sourceKey(ctx, goCmd, dir)
	if err != nil {
		return "", fmt.Sprintf("plugin.source %q: %v", cfg.Source, err)
	}
	bin := filepath.Join(cache, "sluice", "plugins", key, name)
	if fi, err := os.Stat(bin); err != nil || !fi.Mode().IsRegular() {
		return "", "plugin.source is not built yet (validate does not build it; a run, or `sluice plugin describe --source " + cfg.Source + "`, does)"
	}
	return bin, ""
}

// CheckConfig checks config, a stage's plugin.config, against schema, the
// JSON Schema its plugin describes. It returns every problem, joined with
// errors.Join, each a stage.OptionError at the key at fault
// ("plugin.config.cahce"): an unknown key (with the closest known one),
// a value of the wrong type, a missing required key, a value out of its
// schema's bounds. An invalid schema is the plugin's fault and says so.
func CheckConfig(schema string, config map[string]any) error {
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(schema))
	if err != nil {
		return stage.OptionError("plugin", "the plugin describes its config with invalid JSON: %v; fix the plugin", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource("plugin-config.json", doc); err != nil {
		return stage.OptionError("plugin", "the plugin's config schema: %v; fix the plugin", err)
	}
	sch, err := c.Compile("plugin-config.json")
	if err != nil {
		return stage.OptionError("plugin", "the plugin's config schema: %v; fix the plugin", err)
	}
	if config == nil {
		config = map[string]any{}
	}
	b, err := json.Marshal(config)
	if err != nil {
		return stage.OptionError("plugin.config", "cannot be passed to the plugin as JSON: %v", err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return stage.OptionError("plugin.config", "%v", err)
	}
	var ve *jsonschema.ValidationError
	if err := sch.Validate(inst); !errors.As(err, &ve) {
		return err
	}
	var errs []error
	leaves(ve, func(e *jsonschema.ValidationError) {
		errs = append(errs, configProblem(doc, e)...)
	})
	return errors.Join(errs...)
}

// leaves calls fn for each error of the tree that has no causes.
func leaves(e *jsonschema.ValidationError, fn func(*jsonschema.ValidationError)) {
	if len(e.Causes) == 0 {
		fn(e)
		return
	}
	for _, c := range e.Causes {
		leaves(c, fn)
	}
}

var english = message.NewPrinter(language.English)

// configProblem turns one validation failure into errors at its key.
func configProblem(schema any, e *jsonschema.ValidationError) []error {
	path := "plugin.config"
	for _, k := range e.InstanceLocation {
		path += "." + k
	}
	switch k := e.ErrorKind.(type) {
	case *kind.AdditionalProperties:
		known := propertyNames(schema, e.InstanceLocation)
		var errs []error
		for _, p := range k.Properties {
			hint := fmt.Sprintf(" (known keys: %s)", strings.Join(known, ", "))
			if best, ok := suggest.Closest(p, known); ok {
				hint = fmt.Sprintf(" (did you mean %q?)", best)
			} else if len(known) == 0 {
				hint = " (the plugin takes no config keys)"
			}
			errs = append(errs, stage.OptionError(path+"."+p, "unknown key%s", hint))
		}
		return errs
	case *kind.Type:
		return []error{stage.OptionError(path, "expected %s, got %s", strings.Join(k.Want, " or "), k.Got)}
	case *kind.Required:
		errs := make([]error, len(k.Missing))
		for i, m := range k.Missing {
			errs[i] = stage.OptionError(path, "missing required key %q", m)
		}
		return errs
	}
	return []error{stage.OptionError(path, "%s", e.ErrorKind.LocalizedString(english))}
}

// propertyNames returns the sorted property names the schema declares for
// the object at loc, following "properties" only.
func propertyNames(schema any, loc []string) []string {
	s, _ := schema.(map[string]any)
	for _, k := range loc {
		props, _ := s["properties"].(map[string]any)
		s, _ = props[k].(map[string]any)
	}
	props, _ := s["properties"].(map[string]any)
	names := make([]string, 0, len(props))
	for n := range props {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// initError is a failed Init. When the plugin named the config key at
// fault, the error also wraps a stage.OptionError at that key, so that the
// run shows it at the key's position, and an unknown key that the
// plugin's config schema has a close match for gets a "did you mean".
func (inst *instance) initError(ie *protocol.InitError) error {
	if ie.Key == "" {
		return fmt.Errorf("%w: %s", ErrInit, ie.Message)
	}
	msg := ie.Message
	if inst.desc != nil && inst.desc.ConfigSchema != "" && !strings.Contains(msg, "did you mean") {
		var schema any
		if json.Unmarshal([]byte(inst.desc.ConfigSchema), &schema) == nil {
			parent := strings.Split(ie.Key, ".")
			key := parent[len(parent)-1]
			known := propertyNames(schema, parent[:len(parent)-1])
			if !slices.Contains(known, key) {
				if best, ok := suggest.Closest(key, known); ok {
					msg += fmt.Sprintf(" (did you mean %q?)", best)
				}
			}
		}
	}
	return &keyedInitError{msg: msg, opt: stage.OptionError("plugin.config."+ie.Key, "%s", msg)}
}

type keyedInitError struct {
	msg string
	opt error
}

func (e *keyedInitError) Error() string   { return ErrInit.Error() + ": " + e.msg }
func (e *keyedInitError) Unwrap() []error { return []error{ErrInit, e.opt} }
