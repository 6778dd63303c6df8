package count

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"github.com/sluicehq/sluice/core"
	"github.com/sluicehq/sluice/stages/internal/recexpr"
)

//go:embed sample.yaml
var sample []byte

// Options configure the count stage.
type Options struct {
	By         []string `yaml:"by" doc:"Keys to count by, outermost first: each a string expression over the record, such as category or attr(\"lang\")."`
	Names      []string `yaml:"names" doc:"Column names of the by keys in CSV output, one per key; by default the expressions themselves."`
	Attributes bool     `yaml:"attributes" doc:"Count every (element, attribute, value) occurrence in XML records, per key when by is set."`
	Output     string   `yaml:"output" path:"output" pattern:"\\.([jJ][sS][oO][nN]|[cC][sS][vV])$" doc:"File written at the end of the run: .json for JSON nested by key, .csv for one row per count."`
	Top        int      `yaml:"top" max:"16777216" doc:"When above 0, keep only the N largest counts of each innermost group (ties broken by key)."`
}

// Kind returns the count stage kind.
func Kind() core.Kind {
	return core.Define("count",
		"Count records by keys, or every attribute value of XML records, with per-worker counters merged once; write the totals as JSON or CSV.",
		sample, func() *Options { return &Options{} }, build)
}

type format int

const (
	formatJSON format = iota + 1
	formatCSV
)

func build(o *Options) (core.Stage, error) {
	s := &Stage{attributes: o.Attributes, output: o.Output, top: o.Top}
	var errs []error
	for i, src := range o.By {
		p, err := recexpr.Compile(fmt.Sprintf("by[%d]", i), src, recexpr.String)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		s.by = append(s.by, p)
	}
	switch {
	case len(o.Names) > 0 && len(o.Names) != len(o.By):
		errs = append(errs, core.OptionError("names", "%d names for %d by keys: give one name per key", len(o.Names), len(o.By)))
	case len(o.Names) > 0:
		s.names = o.Names
	default:
		s.names = o.By
	}
	if len(o.By) == 0 && !o.Attributes {
		errs = append(errs, core.OptionError("by", "nothing to count: set by (keys such as [category]) or attributes: true"))
	}
	switch ext := strings.ToLower(filepath.Ext(o.Output)); {
	case o.Output == "":
		errs = append(errs, core.OptionError("output", "required: the file to write, ending in .json or .csv"))
	case ext == ".json":
		s.format = formatJSON
	case ext == ".csv":
		s.format = formatCSV
	default:
		errs = append(errs, core.OptionError("output", "%q: the name must end in .json or .csv (it chooses the format)", o.Output))
	}
	if o.Top < 0 {
		errs = append(errs, core.OptionError("top", "must be 0 (keep every count) or more, got %d", o.Top))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return s, nil
}

// Stage is a built count stage. Workers add records to their own
// accumulators (NewAccumulator) without locks; the runner merges them and
// calls Finish once, which writes the totals to a temporary file that the
// run's commit renames to the output name (Prepare hands it over) and
// Abort removes.
type Stage struct {
	by         []*recexpr.Program
	names      []string // of the keys, for CSV
	attributes bool
	output     string
	format     format
	top        int

	tmp     string // prepared by Finish, renamed by the run's commit
	records int64  // records counted, for Outputs
	bytes   int64
	done    bool // committed
}

var (
	_ core.Aggregator = (*Stage)(nil)
	_ core.Setupper   = (*Stage)(nil)
	_ core.Committer  = (*Stage)(nil)
	_ core.Outputter  = (*Stage)(nil)
)

// Signature implements core.Stage: a sink of any record kind, or of XML
// records when counting attributes.
func (s *Stage) Signature() core.Signature {
	in := core.Records
	if s.attributes {
		in = core.XML
	}
	return core.Signature{In: in, Out: core.None, Terminal: true}
}

// Setup creates the output's directory and checks that a file can be
// created there, so that a run of hours does not fail at its very end.
func (s *Stage) Setup(ctx context.Context, env core.Env) error {
	s.tmp, s.records, s.bytes, s.done = "", 0, 0, false
	dir := filepath.Dir(s.output)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("output %s: %w", s.output, err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(s.output)+".probe-*")
	if err != nil {
		return fmt.Errorf("output %s: cannot create files in %s: %w", s.output, dir, err)
	}
	f.Close()
	os.Remove(f.Name())
	return nil
}

// NewAccumulator returns an empty accumulator for one worker.
func (s *Stage) NewAccumulator() core.Accumulator {
	return &accumulator{
		s:      s,
		ev:     recexpr.NewEvaluator(),
		groups: newCounter(),
		elems:  new(elemCache),
	}
}

// Finish writes the merged counts to a temporary file beside the output.
// Failing to write is fatal: it is not about any one record.
func (s *Stage) Finish(ctx context.Context, acc core.Accumulator, out core.Emitter) error {
	a, ok := acc.(*accumulator)
	if !ok || a.s != s {
		return core.Fatal(fmt.Errorf("count: Finish given an accumulator of another stage (%T)", acc))
	}
	if len(s.by) == 0 {
		a.groups.add(nil, 0) // the one group exists even with no records
	}
	t := a.totals()
	s.records = t.records()
	dir := filepath.Dir(s.output)
	if err := os.MkdirAll(dir, 0o755); err != nil { // normally done at Setup
		return core.Fatal(fmt.Errorf("write %s: %w", s.output, err))
	}
	f, err := createTemp(s.output)
	if err != nil {
		return core.Fatal(fmt.Errorf("write %s: %w", s.output, err))
	}
	s.tmp = f.Name()
	n, err := s.write(ctx, f, t)
	s.bytes = n
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		s.Abort()
		if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			return err
		}
		return core.Fatal(fmt.Errorf("write %s: %w", s.output, err))
	}
	return nil
}

// createTemp creates a new file beside path, hidden and named after it,
// with the permissions a file created by os.Create gets (0666 less the
// umask, where os.CreateTemp would give 0600), since it becomes the output.
func createTemp(path string) (*os.File, error) {
	dir, base := filepath.Split(path)
	for {
		name := filepath.Join(dir, fmt.Sprintf(".%s.tmp-%d", base, rand.Uint32()))
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
		if os.IsExist(err) {
			continue
		}
		return f, err
	}
}

// Prepare hands the runner the prepared file to rename to the output name.
func (s *Stage) Prepare(context.Context) (core.CommitPlan, error) {
	if s.tmp == "" {
		return core.CommitPlan{}, nil
	}
	return core.CommitPlan{Renames: []core.Rename{{Temp: s.tmp, Final: s.output}}}, nil
}

// Committed records that the output is final.
func (s *Stage) Committed() {
	if s.tmp != "" {
		s.tmp, s.done = "", true
	}
}

// Abort removes the prepared file, if any.
func (s *Stage) Abort() {
	if s.tmp != "" {
		os.Remove(s.tmp)
		s.tmp = ""
	}
}

// Outputs reports the file written, once committed.
func (s *Stage) Outputs() []core.Output {
	if !s.done {
		return nil
	}
	note := "counts by " + strings.Join(s.names, ", ")
	if s.attributes {
		note = "attribute counts"
		if len(s.by) > 0 {
			note += " by " + strings.Join(s.names, ", ")
		}
	}
	return []core.Output{{Path: s.output, Records: s.records, Bytes: s.bytes, Note: note}}
}
