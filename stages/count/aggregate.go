package count

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/internal/suggest"
	"github.com/sluicehq/sluice/stage"
	"github.com/sluicehq/sluice/stages/internal/recexpr"
)

// Aggregate is one value computed per group beside its record count, as
// in Beam YAML's Combine (a name, a function, a value).
type Aggregate struct {
	Name  string `yaml:"name" doc:"Name of the result: its member in JSON and JSON lines, its column in CSV. Unique, and neither count nor a key's name."`
	Fn    string `yaml:"fn" enum:"sum|min|max|mean|distinct" doc:"sum, min, max or mean of a number, or distinct: the exact number of distinct values (a string expression) in the group."`
	Value string `yaml:"value" doc:"The expression to aggregate, as in classify: a number (an integer, a float, or a string holding one, as CSV fields and XML attributes do) for sum, min, max and mean; a string for distinct."`
	Limit int    `yaml:"limit" max:"16777216" doc:"distinct only: the most distinct values one group may hold (default 100000); more fails the run. Memory is about 50 bytes plus the value's length per distinct value, per group, per worker."`
}

// aggFn is an aggregate function.
type aggFn int

const (
	fnSum aggFn = iota + 1
	fnMin
	fnMax
	fnMean
	fnDistinct
)

var (
	aggFns  = map[string]aggFn{"sum": fnSum, "min": fnMin, "max": fnMax, "mean": fnMean, "distinct": fnDistinct}
	fnNames = []string{"sum", "min", "max", "mean", "distinct"}
)

// defaultDistinctLimit is distinct's limit when none is given.
const defaultDistinctLimit = 100000

// aggregate is a compiled Aggregate.
type aggregate struct {
	name  string
	fn    aggFn
	prog  *recexpr.Program
	limit int // distinct: most values per group
}

// compileAggregates checks and compiles the aggregates; keyNames are the
// names of the by keys, which an aggregate's name must not repeat.
func compileAggregates(as []Aggregate, keyNames []string) ([]aggregate, []error) {
	var out []aggregate
	var errs []error
	seen := map[string]bool{"count": true}
	for _, n := range keyNames {
		seen[n] = true
	}
	for i, a := range as {
		at := func(opt string) string { return fmt.Sprintf("aggregate[%d].%s", i, opt) }
		fn, ok := aggFns[a.Fn]
		switch {
		case a.Name == "":
			errs = append(errs, stage.OptionError(at("name"), "required: the name of the result"))
		case seen[a.Name]:
			errs = append(errs, stage.OptionError(at("name"), "%q is taken (by count, a key's name or another aggregate): choose another name", a.Name))
		}
		seen[a.Name] = true
		if !ok {
			hint := ""
			if c, ok := suggest.Closest(a.Fn, fnNames); ok {
				hint = fmt.Sprintf(" (did you mean %q?)", c)
			}
			errs = append(errs, stage.OptionError(at("fn"), "%q: expected one of %s%s", a.Fn, strings.Join(fnNames, ", "), hint))
		}
		limit := a.Limit
		switch {
		case a.Limit < 0:
			errs = append(errs, stage.OptionError(at("limit"), "must be 0 (the default, %d) or more, got %d", defaultDistinctLimit, a.Limit))
		case a.Limit > 0 && fn != fnDistinct:
			errs = append(errs, stage.OptionError(at("limit"), "only distinct takes a limit"))
		case limit == 0:
			limit = defaultDistinctLimit
		}
		want := recexpr.Any
		if fn == fnDistinct {
			want = recexpr.String
		}
		p, err := recexpr.Compile(at("value"), a.Value, want)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, aggregate{name: a.Name, fn: fn, prog: p, limit: limit})
	}
	return out, errs
}

// num is a number as an aggregate keeps it: an int64 while every value
// is an integer that fits, so that sums of integers are exact and do not
// depend on the order the workers' sums are added in; a float64 once a
// value is not.
type num struct {
	i     int64
	f     float64
	isInt bool
}

func (x num) float() float64 {
	if x.isInt {
		return float64(x.i)
	}
	return x.f
}

// less reports whether x < y.
func (x num) less(y num) bool {
	if x.isInt && y.isInt {
		return x.i < y.i
	}
	return x.float() < y.float()
}

// add returns x + y, exact while both are integers and the sum fits.
func (x num) add(y num) num {
	if x.isInt && y.isInt {
		sum := x.i + y.i // wraps on overflow, checked below
		// Overflow: operands of one sign giving a result of the other.
		if (x.i >= 0) == (y.i >= 0) && (sum >= 0) != (x.i >= 0) {
			return num{f: x.float() + y.float()}
		}
		return num{i: sum, isInt: true}
	}
	return num{f: x.float() + y.float()}
}

// appendNum appends x as a JSON number.
func appendNum(b []byte, x num) []byte {
	if x.isInt {
		return strconv.AppendInt(b, x.i, 10)
	}
	if math.Abs(x.f) < 1e21 {
		return strconv.AppendFloat(b, x.f, 'f', -1, 64)
	}
	return strconv.AppendFloat(b, x.f, 'g', -1, 64)
}

// errNotNumber is the cause of a record error for a value that is not a
// number.
var errNotNumber = errors.New("not a number")

// toNum converts an expression's value to a number: an integer or a
// float, or a string holding one (CSV fields and XML attributes are
// strings). nil, booleans, other strings, lists, maps, NaN and infinities
// are not numbers.
func toNum(v any) (num, error) {
	switch x := v.(type) {
	case int:
		return num{i: int64(x), isInt: true}, nil
	case int64:
		return num{i: x, isInt: true}, nil
	case int32:
		return num{i: int64(x), isInt: true}, nil
	case uint64:
		if x <= math.MaxInt64 {
			return num{i: int64(x), isInt: true}, nil
		}
		return num{f: float64(x)}, nil
	case float64:
		return floatNum(x)
	case float32:
		return floatNum(float64(x))
	case string:
		s := strings.TrimSpace(x)
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return num{i: i, isInt: true}, nil
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return num{}, fmt.Errorf("%w: the string %q (give a default with ?? or filter such records out)", errNotNumber, x)
		}
		return floatNum(f)
	case nil:
		return num{}, fmt.Errorf("%w: nil, the value is missing (give a default with ?? or filter such records out)", errNotNumber)
	}
	return num{}, fmt.Errorf("%w: %T %v", errNotNumber, v, v)
}

func floatNum(f float64) (num, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return num{}, fmt.Errorf("%w: %v is not a finite number", errNotNumber, f)
	}
	return num{f: f}, nil
}

// aggState is one aggregate's state for one group on one worker.
type aggState struct {
	n        int64 // values added (sum, min, max, mean)
	sum      num   // sum and mean
	min, max num
	set      *counter // distinct: the values seen
}

// addNum adds one value to a numeric state.
func (st *aggState) addNum(x num) {
	if st.n == 0 {
		st.sum, st.min, st.max = x, x, x
	} else {
		st.sum = st.sum.add(x)
		if x.less(st.min) {
			st.min = x
		}
		if st.max.less(x) {
			st.max = x
		}
	}
	st.n++
}

// merge takes o's numeric state into st; distinct sets are merged apart
// (see groupAggs).
func (st *aggState) merge(o *aggState) {
	if o.n == 0 {
		return
	}
	if st.n == 0 {
		st.n, st.sum, st.min, st.max = o.n, o.sum, o.min, o.max
		return
	}
	st.n += o.n
	st.sum = st.sum.add(o.sum)
	if o.min.less(st.min) {
		st.min = o.min
	}
	if st.max.less(o.max) {
		st.max = o.max
	}
}

// aggTable is one worker's aggregate states: for each group key, an index
// into states, which holds one aggState per aggregate per group.
type aggTable struct {
	index  counter // group key → group number, held as the count
	states []aggState
}

// group returns the states of the group key, making them if needed.
func (t *aggTable) group(key []byte, n int) []aggState {
	off, found := t.index.find(key)
	if !found {
		t.index.addAt(off, int64(len(t.states)/n))
		t.states = append(t.states, make([]aggState, n)...)
	}
	g := int(t.index.countAt(off))
	return t.states[g*n : (g+1)*n]
}

// lookup returns the states of the group key, or nil.
func (t *aggTable) lookup(key []byte, n int) []aggState {
	off, ok := t.index.lookup(key)
	if !ok {
		return nil
	}
	g := int(t.index.countAt(off))
	return t.states[g*n : (g+1)*n]
}

// memory returns the bytes the table holds.
func (t *aggTable) memory() int {
	n := t.index.memory() + cap(t.states)*int(aggStateSize)
	for _, st := range t.states {
		if st.set != nil {
			n += st.set.memory()
		}
	}
	return n
}

const aggStateSize = 8 + 3*24 + 8

// aggValues are the values of one record's aggregates, evaluated before
// anything is counted.
type aggValues struct {
	nums []num
	strs []string
}

// evaluate evaluates the aggregates on the evaluator's record. An error
// names the record's position and the failing aggregate's value option.
func evaluate(ev *recexpr.Evaluator, aggs []aggregate, r *stage.Record, v *aggValues) error {
	v.nums, v.strs = v.nums[:0], v.strs[:0]
	for _, a := range aggs {
		if a.fn == fnDistinct {
			s, err := ev.String(a.prog)
			if err != nil {
				return err
			}
			v.strs = append(v.strs, s)
			v.nums = append(v.nums, num{})
			continue
		}
		x, err := ev.Value(a.prog)
		if err != nil {
			return err
		}
		n, err := toNum(x)
		if err != nil {
			return &recexpr.Error{Source: r.Source, Option: a.prog.Option(), Err: err}
		}
		v.nums = append(v.nums, n)
		v.strs = append(v.strs, "")
	}
	return nil
}

// add adds a record's values to a group's states. It fails when a
// distinct set outgrows its limit: a fatal error, since the run cannot
// give the counts asked for.
func add(aggs []aggregate, states []aggState, v *aggValues, key []byte, names []string) error {
	for i, a := range aggs {
		st := &states[i]
		if a.fn != fnDistinct {
			st.addNum(v.nums[i])
			continue
		}
		if st.set == nil {
			st.set = &counter{}
		}
		st.set.add(bytesOf(v.strs[i]), 1)
		st.n++
		if st.set.len() > a.limit {
			return tooManyDistinct(a, key, names)
		}
	}
	return nil
}

func tooManyDistinct(a aggregate, key []byte, names []string) error {
	parts := splitParts(string(key), nil)
	var g []string
	for i, p := range parts {
		g = append(g, names[i]+"="+strconv.Quote(p))
	}
	return stage.Fatal(fmt.Errorf("aggregate %q: more than %d distinct values in the group %s: raise aggregate limit (at most 16777216; memory grows by about 50 bytes plus the value per distinct value per worker) or count by finer keys", a.name, a.limit, strings.Join(g, ", ")))
}

// groupAggs returns the totals of one group's aggregates over the tables
// of every worker, and fails when a distinct set outgrows its limit once
// merged.
func groupAggs(aggs []aggregate, tables []*aggTable, key []byte, names []string, out []aggState) ([]aggState, error) {
	out = slices.Grow(out[:0], len(aggs))[:len(aggs)]
	clear(out)
	var sets []*counter
	for i, a := range aggs {
		sets = sets[:0]
		for _, t := range tables {
			st := t.lookup(key, len(aggs))
			if st == nil {
				continue
			}
			if a.fn == fnDistinct {
				out[i].n += st[i].n
				sets = append(sets, st[i].set)
				continue
			}
			out[i].merge(&st[i])
		}
		if a.fn != fnDistinct || len(sets) == 0 {
			continue
		}
		u := sets[0]
		if len(sets) > 1 {
			u = &counter{}
			for _, s := range sets {
				u.merge(s)
			}
		}
		out[i].set = u
		if u.len() > a.limit {
			return nil, tooManyDistinct(a, key, names)
		}
	}
	return out, nil
}

// appendResult appends the result of aggregate a from its total state.
func appendResult(b []byte, a aggregate, st *aggState) []byte {
	switch a.fn {
	case fnSum:
		return appendNum(b, st.sum)
	case fnMin:
		return appendNum(b, st.min)
	case fnMax:
		return appendNum(b, st.max)
	case fnMean:
		return appendNum(b, num{f: st.sum.float() / float64(st.n)})
	case fnDistinct:
		n := 0
		if st.set != nil {
			n = st.set.len()
		}
		return strconv.AppendInt(b, int64(n), 10)
	}
	panic("count: unknown aggregate function")
}
