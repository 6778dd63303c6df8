package pipeline

import (
	"fmt"
	"maps"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/sluicehq/sluice/internal/yamlnode"
)

// Editing a Config between Parse and Plan: the pipeline test runner
// (pipetest) and embedding programs use these to feed a stage from
// elsewhere, tap a stage's output or change options, without writing YAML.

// Clone returns a copy of c whose stage list and stages can be changed
// without changing c. Option nodes are shared until SetOptions replaces
// them.
func (c *Config) Clone() *Config {
	out := *c
	out.Files = slices.Clone(c.Files)
	out.Stages = make([]*StageConfig, len(c.Stages))
	for i, st := range c.Stages {
		cp := *st
		cp.From = slices.Clone(st.From)
		cp.fromPos = slices.Clone(st.fromPos)
		out.Stages[i] = &cp
	}
	out.broken, out.readBy, out.inputs = maps.Clone(c.broken), maps.Clone(c.readBy), maps.Clone(c.inputs)
	out.uses = maps.Clone(c.uses)
	return &out
}

// Stage returns the stage named name, or nil.
func (c *Config) Stage(name string) *StageConfig {
	for _, st := range c.Stages {
		if st.Name == name {
			return st
		}
	}
	return nil
}

// Use tells what a template use named name expanded to: the stages that
// read what the use's from: names, and the stage whose output the use
// emits ("" when none). ok is false when name is not a template use.
func (c *Config) Use(name string) (inputs []string, output string, ok bool) {
	if c.Stage(name) != nil {
		return nil, "", false
	}
	for _, st := range c.Stages {
		if st.ref == name {
			output = st.Name
		}
		ok = ok || strings.HasPrefix(st.Name, name+".")
	}
	return slices.Clone(c.inputs[name]), output, ok
}

// StageNames returns the names of the stages, in order.
func (c *Config) StageNames() []string {
	names := make([]string, len(c.Stages))
	for i, st := range c.Stages {
		names[i] = st.Name
	}
	return names
}

// AddStage appends a stage defined in Go: Name, Use, From and With are
// what a file would give. Problems with it are reported by Plan, without
// a position.
func (c *Config) AddStage(st *StageConfig) {
	if st.OnError == "" {
		st.OnError = OnErrorFail
	}
	if st.ref == "" {
		st.ref = st.Name
	}
	c.Stages = append(c.Stages, st)
}

// RemoveStages removes the named stages and every from: entry naming them.
func (c *Config) RemoveStages(names ...string) {
	gone := map[string]bool{}
	for _, n := range names {
		gone[n] = true
	}
	c.Stages = slices.DeleteFunc(c.Stages, func(st *StageConfig) bool { return gone[st.Name] })
	for _, st := range c.Stages {
		st.SetFrom(slices.DeleteFunc(slices.Clone(st.From), func(f string) bool { return gone[f] })...)
	}
}

// SetFrom replaces the stage's inputs. Inputs that it had before keep
// their positions in the file, for errors.
func (st *StageConfig) SetFrom(names ...string) {
	pos := make([]Pos, len(names))
	for i, n := range names {
		if j := slices.Index(st.From, n); j >= 0 && j < len(st.fromPos) {
			pos[i] = st.fromPos[j]
		}
	}
	st.From, st.fromPos = names, pos
}

// fromAt returns the position of the i-th from: entry, or of the stage
// when it has none (an entry set from Go).
func (st *StageConfig) fromAt(i int) Pos {
	if i < len(st.fromPos) && st.fromPos[i].Line > 0 {
		return st.fromPos[i]
	}
	return st.pos
}

// SetOptions merges overrides, a mapping of options read from file, into
// the `with:` of the named stage: a key replaces the stage's value, except
// that a mapping merges into a mapping. Errors in the merged options are
// reported by Plan at their place in file.
func (c *Config) SetOptions(stage, file string, overrides *yaml.Node) error {
	st := c.Stage(stage)
	if st == nil {
		return fmt.Errorf("no stage %q%s", stage, suggest(stage, c.StageNames()))
	}
	if overrides.Kind != yaml.MappingNode {
		return fmt.Errorf("options of stage %q: expected a mapping, got %s", stage, yamlnode.Describe(overrides))
	}
	c.src.mark(overrides, &origin{file: file})
	base := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	if st.With != nil && st.With.Kind == yaml.MappingNode {
		base = c.src.copy(st.With)
	}
	st.With = mergeMapping(base, overrides)
	return nil
}

// copy deep-copies n, each copy keeping the origin of its original.
func (s sources) copy(n *yaml.Node) *yaml.Node {
	c := *n
	c.Content = nil
	for _, k := range n.Content {
		c.Content = append(c.Content, s.copy(k))
	}
	if o, ok := s[n]; ok {
		s[&c] = o
	}
	return &c
}

// mergeMapping merges mapping over into base (which it changes) and
// returns it.
func mergeMapping(base, over *yaml.Node) *yaml.Node {
	for i := 0; i+1 < len(over.Content); i += 2 {
		k, v := over.Content[i], over.Content[i+1]
		_, old := mappingKey(base, k.Value)
		switch {
		case old != nil && old.Kind == yaml.MappingNode && v.Kind == yaml.MappingNode:
			mergeMapping(old, v)
		case old != nil:
			for j := 0; j+1 < len(base.Content); j += 2 {
				if base.Content[j].Value == k.Value {
					base.Content[j+1] = v
				}
			}
		default:
			base.Content = append(base.Content, k, v)
		}
	}
	return base
}

// rebaseOutputs applies outputPath to every string option tagged
// path:"output" in the options struct v points to.
func rebaseOutputs(v reflect.Value, dir string) {
	outputOptions(v, "", func(_ string, f reflect.Value) {
		f.SetString(outputPath(dir, f.String()))
	})
}

// outputOptions calls visit with every string option tagged path:"output"
// in the options struct v points to, and its option path ("dir",
// "csv.output").
func outputOptions(v reflect.Value, path string, visit func(path string, f reflect.Value)) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			outputOptions(v.Elem(), path, visit)
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			f := v.Type().Field(i)
			name, ok := optionName(f)
			if !ok {
				continue
			}
			if f.Tag.Get("path") == "output" && f.Type.Kind() == reflect.String {
				visit(join(path, name), v.Field(i))
				continue
			}
			outputOptions(v.Field(i), join(path, name), visit)
		}
	}
}

// outputPath places an output path under dir (when dir is set): a
// relative path is joined to it, an absolute one re-rooted in it, so that
// nothing is written outside dir. "-" (standard output) stays as it is.
func outputPath(dir, path string) string {
	if dir == "" || path == "" || path == "-" {
		return path
	}
	return filepath.Join(dir, strings.TrimPrefix(filepath.Clean(path), string(filepath.Separator)))
}
