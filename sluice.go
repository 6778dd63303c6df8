package sluice

import (
	"context"

	"github.com/sluicehq/sluice/engine"
	"github.com/sluicehq/sluice/pipeline"
	"github.com/sluicehq/sluice/pipetest"
	"github.com/sluicehq/sluice/stage"
	"github.com/sluicehq/sluice/stages"
)

// Engine loads, runs and tests pipelines with a set of stage kinds and a
// template search path. Build it with New, register kinds, then use it
// from any number of goroutines (Register is not safe concurrently with
// the other methods).
type Engine struct {
	reg    *stage.Registry
	loader pipeline.Loader
}

// Option configures an Engine.
type Option func(*Engine)

// WithSearchPath sets the directories where templates named without a
// path (`use: xml-records`) are found, replacing SLUICE_PATH.
func WithSearchPath(dirs ...string) Option {
	return func(e *Engine) { e.loader.SearchPath = append([]string(nil), dirs...) }
}

// WithEnv sets how ${NAME} references in pipeline files are resolved,
// replacing the process environment (os.LookupEnv).
func WithEnv(lookup func(name string) (string, bool)) Option {
	return func(e *Engine) { e.loader.LookupEnv = lookup }
}

// WithoutBuiltins leaves out the built-in stage kinds, for a program that
// offers only its own.
func WithoutBuiltins() Option {
	return func(e *Engine) { e.reg = stage.NewRegistry(); e.loader.Registry = e.reg }
}

// New returns an Engine with the built-in stage kinds and the template
// search path from SLUICE_PATH, changed by opts.
func New(opts ...Option) *Engine {
	e := &Engine{reg: stages.Registry()}
	e.loader = pipeline.Loader{Registry: e.reg, SearchPath: pipeline.SearchPathFromEnv()}
	for _, o := range opts {
		o(e)
	}
	return e
}

// Register adds stage kinds, made with stage.Define. A name registered
// twice panics, as http.Handle does: it is a programming error.
func (e *Engine) Register(kinds ...stage.Kind) {
	for _, k := range kinds {
		e.reg.Register(k)
	}
}

// Registry returns the engine's stage kinds.
func (e *Engine) Registry() *stage.Registry { return e.reg }

// Loader returns the engine's loader, for programs that parse and plan
// in separate steps.
func (e *Engine) Loader() *pipeline.Loader { return &e.loader }

// LoadFile reads the pipeline file at path with its includes and
// templates, and plans it. Problems in the file are a pipeline.ErrorList, one
// error per problem with its file, line and column.
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

// Test runs the pipeline test files at path (a *_test.yaml file, or a
// directory searched recursively for them) and returns their results.
// A test file that cannot be read or is malformed is an error; a failing
// case is not (see pipetest.Result).
func (e *Engine) Test(ctx context.Context, path string, opts pipetest.Options) ([]*pipetest.FileResult, error) {
	return pipetest.RunPath(ctx, &e.loader, path, opts)
}
