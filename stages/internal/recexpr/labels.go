package recexpr

import (
	"sort"

	"github.com/sluicehq/sluice/stage"
)

// Labels are label expressions compiled once: label name to a String
// program, kept sorted by name so that errors come in a stable order.
type Labels []struct {
	Name string
	Prog *Program
}

// CompileLabels compiles the labels option (label name to expression),
// returning every problem, each at its option path ("labels.lang").
func CompileLabels(src map[string]string) (Labels, []error) {
	names := make([]string, 0, len(src))
	for name := range src {
		names = append(names, name)
	}
	sort.Strings(names)
	var ls Labels
	var errs []error
	for _, name := range names {
		if name == "" {
			errs = append(errs, stage.OptionError("labels", "a label needs a name"))
			continue
		}
		p, err := Compile("labels."+name, src[name], String)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		ls = append(ls, struct {
			Name string
			Prog *Program
		}{name, p})
	}
	return ls, errs
}

// Apply evaluates the labels on the current record and returns old's
// labels with them set, in a new map (old is not changed). keep turns each
// value into one that may outlive the record: a value may share the
// record's bytes (a CSV field), so keep must copy or intern it.
func (ls Labels) Apply(e *Evaluator, old map[string]string, keep func(string) string) (map[string]string, error) {
	labels := make(map[string]string, len(old)+len(ls))
	for k, v := range old {
		labels[k] = v
	}
	for _, l := range ls {
		v, err := e.String(l.Prog)
		if err != nil {
			return nil, err
		}
		labels[l.Name] = keep(v)
	}
	return labels, nil
}
