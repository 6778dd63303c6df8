package sluice

import (
	"context"

	"github.com/sluicehq/sluice/engine"
	"github.com/sluicehq/sluice/pipeline"
	"github.com/sluicehq/sluice/stage"
	"github.com/sluicehq/sluice/stages"
)

// Engine loads and runs pipelines with a fixed set of stage kinds, a
// template search path and an environment, all chosen by New's options.
// It is not changed after New, so it is safe for concurrent use.
type Engine struct {
	reg    *stage.Registry
	loader pipeline.Loader
}

// Option configures an Engine at New.
type Option func(*settings)

// settings collects the options, so that their order does not matter.
type settings struct {
	noBuiltins bool
	kinds      []stage.Kind
	searchPath []string
	pathSet    bool
	lookupEnv  func(string) (string, bool)
}

// WithKinds adds stage kinds, made with stage.Define, next to the
// built-in ones (or alone, with WithoutBuiltins). A name given twice, or
// the name of a built-in kind, panics in New, as http.Handle does: it is a
// programming error.
func WithKinds(kinds ...stage.Kind) Option {
	return func(s *settings) { s.kinds = append(s.kinds, kinds...) }
}

// WithSearchPath sets the directories where templates named without a
// path (`use: xml-records`) are found, replacing SLUICE_PATH.
func WithSearchPath(dirs ...string) Option {
	return func(s *settings) { s.searchPath, s.pathSet = append([]string(nil), dirs...), true }
}

// WithEnv sets how ${NAME} references in pipeline files are resolved,
// replacing the process environment (os.LookupEnv).
func WithEnv(lookup func(name string) (string, bool)) Option {
	return func(s *settings) { s.lookupEnv = lookup }
}

// WithoutBuiltins leaves out the built-in stage kinds, for a program that
// offers only its own (WithKinds).
func WithoutBuiltins() Option {
	return func(s *settings) { s.noBuiltins = true }
}

// New returns an Engine with the built-in stage kinds and the template
// search path from SLUICE_PATH, changed by opts.
func New(opts ...Option) *Engine {
	var s settings
	for _, o := range opts {
		o(&s)
	}
	reg := stage.NewRegistry()
	if !s.noBuiltins {
		stages.Register(reg)
	}
	for _, k := range s.kinds {
		reg.Register(k)
	}
	if !s.pathSet {
		s.searchPath = pipeline.SearchPathFromEnv()
	}
	return &Engine{reg: reg, loader: pipeline.Loader{Registry: reg, SearchPath: s.searchPath, LookupEnv: s.lookupEnv}}
}

// Kinds returns the engine's stage kinds, sorted by name.
func (e *Engine) Kinds() []stage.Kind { return e.reg.Kinds() }

// LoadFile reads the pipeline file at path with its includes and
// templates, and plans it. Problems in the file are a pipeline.ErrorList,
// one error per problem with its file, line and column.
func (e *Engine) LoadFile(path string) (*pipeline.Graph, error) {
	return pipeline.LoadFile(&e.loader, path)
}

// Load plans a pipeline from src; name is used in errors and to find
// included files and templates given by relative paths.
func (e *Engine) Load(name string, src []byte) (*pipeline.Graph, error) {
	return pipeline.LoadWith(&e.loader, name, src)
}

// Run runs a planned pipeline until its input is exhausted, it fails, or
// ctx is cancelled, and returns its report. The error is nil only when
// every stage succeeded and the outputs were committed.
func (e *Engine) Run(ctx context.Context, g *pipeline.Graph, opts engine.RunOptions) (*engine.Report, error) {
	return engine.Run(ctx, g, opts)
}

// Templates returns the templates found on the search path.
func (e *Engine) Templates() ([]*pipeline.Template, error) { return e.loader.Templates() }
