package classify

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/sluicehq/sluice/plugins"
	"github.com/sluicehq/sluice/stage"
	"github.com/sluicehq/sluice/stages/internal/recexpr"
)

//go:embed sample.yaml
var sample []byte

// Options configure the classify stage. Exactly one way of classifying is
// set: Rules (built-in expressions) or Plugin (a classifier plugin).
type Options struct {
	Rules   []Rule            `yaml:"rules" doc:"Rules tried in order: the first whose when holds gives the record's category."`
	Default string            `yaml:"default" doc:"Category of a record that no rule matches; when empty, such a record is an error handled by on_error."`
	Labels  map[string]string `yaml:"labels" doc:"Labels to attach to every record: label name to a string expression, evaluated after the category is set."`
	Plugin  *plugins.Config   `yaml:"plugin" doc:"A classifier plugin to ask instead of rules: a supervised subprocess, started once per instance and initialised from its config."`
}

// Rule is one classification rule: a condition and the category it gives.
type Rule struct {
	When     string `yaml:"when" doc:"Condition, an expression giving true or false; empty means always."`
	Category string `yaml:"category" doc:"The category to give, as a literal; set this or expr."`
	Expr     string `yaml:"expr" doc:"An expression giving the category; set this or category."`
}

// Kind returns the classify stage kind.
func Kind() stage.Kind {
	return stage.Define("classify",
		"Set each record's category (and labels) with rules: expressions over its attributes, text, fields or JSON values.",
		sample, func() *Options { return &Options{} }, build)
}

func build(o *Options) (stage.Stage, error) {
	if o.Plugin != nil {
		var errs []error
		if len(o.Rules) > 0 {
			errs = append(errs, stage.OptionError("rules", "set rules or plugin, not both"))
		}
		if o.Default != "" || len(o.Labels) > 0 {
			errs = append(errs, stage.OptionError("plugin", "default and labels apply to rules; a plugin sets categories and labels itself"))
		}
		if err := errors.Join(append(errs, o.Plugin.Validate())...); err != nil {
			return nil, err
		}
		return &Plugin{cfg: o.Plugin}, nil
	}
	if len(o.Rules) == 0 {
		return nil, stage.OptionError("rules", "required: a list of rules, each a when condition with a category or an expr (or a plugin:)")
	}
	return newRules(o)
}

// Rules is a classify stage built from rules. Process is safe for
// concurrent use: the compiled rules are read-only and each call takes its
// own evaluator from a pool.
type Rules struct {
	rules  []rule
	def    string
	labels recexpr.Labels
	pool   sync.Pool
}

type rule struct {
	when     *recexpr.Program // nil: always
	category string           // literal, or "" when expr is set
	expr     *recexpr.Program
}

var _ stage.Processor = (*Rules)(nil)

// newRules compiles every expression, reporting every problem at once.
func newRules(o *Options) (*Rules, error) {
	s := &Rules{def: o.Default}
	s.pool.New = func() any { return &worker{ev: recexpr.NewEvaluator(), interned: map[string]string{}} }
	var errs []error
	for i, r := range o.Rules {
		path := fmt.Sprintf("rules[%d]", i)
		var c rule
		switch {
		case r.Category == "" && r.Expr == "":
			errs = append(errs, stage.OptionError(path, "set category (a literal) or expr (an expression giving the category)"))
		case r.Category != "" && r.Expr != "":
			errs = append(errs, stage.OptionError(path, "set category or expr, not both"))
		case r.Category != "":
			c.category = r.Category
		default:
			p, err := recexpr.Compile(path+".expr", r.Expr, recexpr.String)
			if err != nil {
				errs = append(errs, err)
			}
			c.expr = p
		}
		if r.When != "" {
			p, err := recexpr.Compile(path+".when", r.When, recexpr.Bool)
			if err != nil {
				errs = append(errs, err)
			}
			c.when = p
		}
		s.rules = append(s.rules, c)
	}
	labels, lerrs := recexpr.CompileLabels(o.Labels)
	s.labels = labels
	errs = append(errs, lerrs...)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return s, nil
}

// Signature implements stage.Stage: any record kind in, the same kinds out.
func (s *Rules) Signature() stage.Signature {
	return stage.Signature{In: stage.Records, Passthrough: true}
}

// Process emits a copy of r with its category (and labels) set. A rule
// whose expression fails on r, or a record that no rule matches when there
// is no default, is an error about r, handled by the stage's on_error.
func (s *Rules) Process(ctx context.Context, r *stage.Record, out stage.Emitter) error {
	w := s.pool.Get().(*worker)
	defer s.pool.Put(w)
	ev := w.ev
	ev.Reset(r)
	defer ev.Release()

	cat, err := s.category(ev)
	if err != nil {
		return err
	}
	// The copy lives in the pooled worker: Emit copies it again, and a
	// local would escape to the heap through the interface, one
	// allocation per record.
	c := &w.rec
	*c = *r
	defer func() { *c = stage.Record{} }() // keep nothing of the record in the pool
	c.Category = w.intern(cat)
	if len(s.labels) > 0 {
		ev.SetCategory(cat)
		labels, err := s.labels.Apply(ev, r.Labels, w.intern)
		if err != nil {
			return err
		}
		c.Labels = labels
	}
	return out.Emit(c)
}

// worker is what one call of Process takes from the pool: an evaluator,
// and the category and label values it has seen.
type worker struct {
	ev       *recexpr.Evaluator
	interned map[string]string
	rec      stage.Record // the record being emitted
}

// maxInterned bounds a worker's interned values; past it, values are
// copied one by one.
const maxInterned = 4096

// intern returns v, or an equal string already kept: a value may be a
// record's CSV field, which shares the split's read buffer, so a kept
// value must be a copy. Categories and labels have few distinct values,
// so interning makes that copy once instead of once per record.
func (w *worker) intern(v string) string {
	if c, ok := w.interned[v]; ok {
		return c
	}
	c := strings.Clone(v)
	if len(w.interned) < maxInterned {
		w.interned[c] = c
	}
	return c
}

// category returns the category given by the first matching rule.
func (s *Rules) category(ev *recexpr.Evaluator) (string, error) {
	for i := range s.rules {
		rl := &s.rules[i]
		if rl.when != nil {
			ok, err := ev.Bool(rl.when)
			if err != nil {
				return "", err
			}
			if !ok {
				continue
			}
		}
		if rl.expr == nil {
			return rl.category, nil
		}
		cat, err := ev.String(rl.expr)
		if err != nil {
			return "", err
		}
		if cat == "" {
			return "", &recexpr.Error{Source: ev.Record().Source, Option: rl.expr.Option(),
				Err: errors.New("evaluated to the empty string, and a category cannot be empty")}
		}
		return cat, nil
	}
	if s.def != "" {
		return s.def, nil
	}
	return "", fmt.Errorf("record %s: no rule matched, and no default is set (set default, or end the rules with one that has no when)", ev.Record().Source)
}
