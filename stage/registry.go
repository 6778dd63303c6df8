package stage

import (
	"fmt"
	"sort"
)

// Kind is a stage kind: its name as written in `use:`, its documentation,
// its options and how to build a Stage from them. Make one with Define.
type Kind struct {
	// Name is what pipelines write after `use:`.
	Name string
	// Summary is a one-line description.
	Summary string
	// Sample is an example pipeline using the kind; it is embedded in the
	// kind's package and a test checks that it plans without errors.
	Sample []byte

	newOptions func() any
	build      func(opts any) (Stage, error)
}

// Define makes a Kind whose options are a struct O. Options are decoded
// strictly from the stage's `with:` mapping into the value returned by
// defaults (so defaults are whatever it sets): keys come from `yaml` struct
// tags, descriptions from `doc` tags, and an unknown key is an error. Build
// turns decoded options into a Stage; it must not touch the outside world.
// Errors from build are reported at the stage's `with:`; an error made
// with OptionError is reported at that option's position. A string option
// tagged path:"output" is a path the stage writes to: Config.OutputDir
// re-roots it (pipeline tests write under a temporary directory), and Plan
// reports two stages that would write one path (a dead-letter file
// included). A string option tagged enum:"a|b|c" takes only those values
// (decoding rejects others); pattern:"RE" documents, for the pipeline
// schema, the form build accepts (build still checks it and says why);
// max:"N" becomes the schema's maximum (see PipelineSchema); and an option
// type that decodes itself implements OptionSchema.
func Define[O any](name, summary string, sample []byte, defaults func() *O, build func(*O) (Stage, error)) Kind {
	return Kind{
		Name:       name,
		Summary:    summary,
		Sample:     sample,
		newOptions: func() any { return defaults() },
		build:      func(o any) (Stage, error) { return build(o.(*O)) },
	}
}

// Defaults returns a new options value with the kind's defaults, as a
// pointer to its options struct.
func (k Kind) Defaults() any { return k.newOptions() }

// Build builds a stage from options decoded into a value from Defaults.
func (k Kind) Build(opts any) (Stage, error) { return k.build(opts) }

// Registry maps kind names to kinds. It is a plain value: the built-in
// kinds are added by stages.Register, and tests build registries of their
// own. A Registry is not safe for concurrent Register calls.
type Registry struct {
	kinds map[string]Kind
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{kinds: map[string]Kind{}} }

// Register adds a kind. Registering a name twice, or a kind not made with
// Define, is a programming error and panics.
func (r *Registry) Register(k Kind) {
	if k.build == nil || k.Name == "" {
		panic("stage: Register of a Kind not made with Define")
	}
	if _, dup := r.kinds[k.Name]; dup {
		panic(fmt.Sprintf("stage: stage kind %q registered twice", k.Name))
	}
	r.kinds[k.Name] = k
}

// Lookup returns the kind with the given name.
func (r *Registry) Lookup(name string) (Kind, bool) {
	k, ok := r.kinds[name]
	return k, ok
}

// Kinds returns every registered kind, sorted by name.
func (r *Registry) Kinds() []Kind {
	out := make([]Kind, 0, len(r.kinds))
	for _, k := range r.kinds {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
