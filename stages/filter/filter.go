package filter

import (
	"context"
	_ "embed"

	"github.com/sluicehq/sluice/stage"
	"github.com/sluicehq/sluice/stages/internal/recexpr"
)

//go:embed sample.yaml
var sample []byte

// Options configure the filter stage: exactly one of Keep or Drop.
type Options struct {
	Keep string `yaml:"keep" doc:"Pass on the records for which this expression is true (an expression giving true or false, as in classify); set keep or drop."`
	Drop string `yaml:"drop" doc:"Drop the records for which this expression is true and pass on the others; set keep or drop."`
}

// Kind returns the filter stage kind.
func Kind() stage.Kind {
	return stage.Define("filter",
		"Keep the records for which an expression holds (or drop them): dropped records are counted as filtered, never as errors.",
		sample, func() *Options { return &Options{} }, build)
}

func build(o *Options) (stage.Stage, error) {
	switch {
	case o.Keep == "" && o.Drop == "":
		return nil, stage.OptionError("keep", "required: set keep (an expression: pass on the records where it is true) or drop (drop the records where it is true)")
	case o.Keep != "" && o.Drop != "":
		return nil, stage.OptionError("drop", "set keep or drop, not both")
	}
	option, src := "keep", o.Keep
	if o.Drop != "" {
		option, src = "drop", o.Drop
	}
	p, err := recexpr.Compile(option, src, recexpr.Bool)
	if err != nil {
		return nil, err
	}
	return &Stage{prog: p, keep: o.Keep != ""}, nil
}

// Stage is a built filter. Process is safe for concurrent use: the
// compiled expression is read-only and each call takes its own evaluator
// from a pool.
type Stage struct {
	prog *recexpr.Program
	keep bool // pass on records where prog is true; else where it is false
	pool recexpr.Pool
}

var _ stage.Processor = (*Stage)(nil)

// Signature implements stage.Stage: any record kind in, the same kinds out.
func (s *Stage) Signature() stage.Signature {
	return stage.Signature{In: stage.Records, Passthrough: true}
}

// Process passes r on unchanged, or drops it with stage.Drop. An expression
// that fails on r is an error about r, handled by the stage's on_error.
func (s *Stage) Process(ctx context.Context, r *stage.Record, out stage.Emitter) error {
	ev := s.pool.Get(r)
	defer s.pool.Put(ev)
	holds, err := ev.Bool(s.prog)
	if err != nil {
		return err
	}
	if holds == s.keep {
		return out.Emit(r)
	}
	stage.Drop(out, r)
	return nil
}
