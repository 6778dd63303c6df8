package mapper

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"strings"

	"github.com/sluicehq/sluice/stage"
	"github.com/sluicehq/sluice/stages/internal/jsonout"
	"github.com/sluicehq/sluice/stages/internal/recexpr"
)

//go:embed sample.yaml
var sample []byte

// Options configure the map stage: at least one of Fields, Category or
// Labels.
type Options struct {
	Fields   stage.Pairs       `yaml:"fields" doc:"The fields of the output record, in order: name to expression. With fields, each record becomes a JSON object record (kind json) holding them."`
	Category string            `yaml:"category" doc:"An expression giving the record's new category."`
	Labels   map[string]string `yaml:"labels" doc:"Labels to set: label name to an expression giving its value."`
}

// Kind returns the map stage kind.
func Kind() stage.Kind {
	return stage.Define("map",
		"Change records with expressions: pick and compute named fields into a JSON record (XML or CSV to JSON lines), set the category and labels.",
		sample, func() *Options { return &Options{} }, build)
}

// field is one compiled output field: its name already encoded as a JSON
// key with the colon, and its expression.
type field struct {
	key  []byte // `"name":`
	prog *recexpr.Program
}

// Stage is a built map stage. Process is safe for concurrent use: the
// compiled expressions are read-only and each call takes its own evaluator
// from a pool.
type Stage struct {
	fields   []field
	category *recexpr.Program // nil: unchanged
	labels   recexpr.Labels
	pool     recexpr.Pool
}

var _ stage.Processor = (*Stage)(nil)

// build compiles every expression, reporting every problem at once.
func build(o *Options) (stage.Stage, error) {
	if len(o.Fields) == 0 && o.Category == "" && len(o.Labels) == 0 {
		return nil, stage.OptionError("fields", "required: set fields (name: expression, making a JSON record), category or labels")
	}
	s := &Stage{}
	var errs []error
	compile := func(option, src string, want recexpr.Result) *recexpr.Program {
		p, err := recexpr.Compile(option, src, want)
		if err != nil {
			errs = append(errs, err)
		}
		return p
	}
	for _, f := range o.Fields {
		path := "fields." + f.Key
		if f.Key == "" {
			errs = append(errs, stage.OptionError("fields", "a field needs a name"))
			continue
		}
		key, _ := json.Marshal(f.Key)
		s.fields = append(s.fields, field{key: append(key, ':'), prog: compile(path, f.Value, recexpr.Any)})
	}
	if o.Category != "" {
		s.category = compile("category", o.Category, recexpr.String)
	}
	labels, lerrs := recexpr.CompileLabels(o.Labels)
	s.labels = labels
	errs = append(errs, lerrs...)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return s, nil
}

// Signature implements stage.Stage: any record kind in; out, JSON records
// when fields are set, else the kinds that came in.
func (s *Stage) Signature() stage.Signature {
	if len(s.fields) > 0 {
		return stage.Signature{In: stage.Records, Out: stage.JSON}
	}
	return stage.Signature{In: stage.Records, Passthrough: true}
}

// Process emits r changed as the options say. Strings that share r's bytes
// (CSV fields) are copied: the JSON data is new, and category and label
// values are cloned.
func (s *Stage) Process(ctx context.Context, r *stage.Record, out stage.Emitter) error {
	ev := s.pool.Get(r)
	defer s.pool.Put(ev)

	c := *r
	if s.category != nil {
		cat, err := ev.String(s.category)
		if err != nil {
			return err
		}
		c.Category = strings.Clone(cat)
	}
	if len(s.labels) > 0 {
		labels, err := s.labels.Apply(ev, r.Labels, strings.Clone)
		if err != nil {
			return err
		}
		c.Labels = labels
	}
	if len(s.fields) > 0 {
		data, err := s.object(ev)
		if err != nil {
			return err
		}
		c.Type, c.Data, c.Header, c.Fields, c.Checked = stage.JSON, data, nil, nil, false
	}
	return out.Emit(&c)
}

// object evaluates the fields into one JSON object.
func (s *Stage) object(ev *recexpr.Evaluator) ([]byte, error) {
	b := make([]byte, 0, 64*len(s.fields))
	b = append(b, '{')
	for i, f := range s.fields {
		v, err := ev.Value(f.prog)
		if err != nil {
			return nil, err
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, f.key...)
		if b, err = jsonout.Value(b, v); err != nil {
			return nil, &recexpr.Error{Source: ev.Record().Source, Option: f.prog.Option(), Err: err}
		}
	}
	return append(b, '}'), nil
}
