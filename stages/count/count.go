package count

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"github.com/sluicehq/sluice/stage"
	"github.com/sluicehq/sluice/stages/internal/recexpr"
)

//go:embed sample.yaml
var sample []byte

// Options configure the count stage.
type Options struct {
	By         []string    `yaml:"by" doc:"Keys to count by, outermost first: each a string expression over the record, such as category or attr(\"lang\")."`
	Names      []string    `yaml:"names" doc:"Column names of the by keys in CSV output, one per key; by default the expressions themselves."`
	Aggregate  []Aggregate `yaml:"aggregate" doc:"Values computed per group of by keys beside the record count, each with a name, a function (sum, min, max, mean, distinct) and a value expression; mergeable across workers."`
	Attributes bool        `yaml:"attributes" doc:"Count every (element, attribute, value) occurrence in XML records, per key when by is set."`
	Exclude    []string    `yaml:"exclude" doc:"attributes mode: element or attribute names (Clark notation, {uri}local) to leave out of the counts, such as unique ids; an element left out loses all its attributes."`
	Only       []string    `yaml:"only" doc:"attributes mode: count only these element or attribute names (Clark notation): an attribute is counted when it or its element is listed."`
	Output     string      `yaml:"output" path:"output" pattern:"^-$|\\.([jJ][sS][oO][nN]([lL])?|[cC][sS][vV])$" doc:"Where the totals go at the end of the run: .json for JSON nested by key, .jsonl for one JSON object per row, .csv for one row per count, or - for standard output (JSON lines, printed once the run has succeeded)."`
	Top        int         `yaml:"top" max:"16777216" doc:"When above 0, keep only the N largest counts of each innermost group (ties broken by key)."`
}

// Kind returns the count stage kind.
func Kind() stage.Kind {
	return stage.Define("count",
		"Count records by keys, or every attribute value of XML records, with per-worker counters merged once; write the totals as JSON or CSV.",
		sample, func() *Options { return &Options{} }, build)
}

type format int

const (
	formatJSON format = iota + 1
	formatCSV
	formatJSONL
)

func build(o *Options) (stage.Stage, error) {
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
		errs = append(errs, stage.OptionError("names", "%d names for %d by keys: give one name per key", len(o.Names), len(o.By)))
	case len(o.Names) > 0:
		s.names = o.Names
	default:
		s.names = o.By
	}
	if len(o.By) == 0 && !o.Attributes {
		errs = append(errs, stage.OptionError("by", "nothing to count: set by (keys such as [category]) or attributes: true"))
	}
	switch ext := strings.ToLower(filepath.Ext(o.Output)); {
	case o.Output == "":
		errs = append(errs, stage.OptionError("output", "required: the file to write, ending in .json, .jsonl or .csv, or - for standard output"))
	case o.Output == "-" || ext == ".jsonl":
		s.format = formatJSONL
	case ext == ".json":
		s.format = formatJSON
	case ext == ".csv":
		s.format = formatCSV
	default:
		errs = append(errs, stage.OptionError("output", "%q: the name must end in .json, .jsonl or .csv (it chooses the format), or be - for standard output", o.Output))
	}
	aggs, aerrs := compileAggregates(o.Aggregate, s.names)
	s.aggs, errs = aggs, append(errs, aerrs...)
	if len(o.Aggregate) > 0 && (o.Attributes || len(o.By) == 0) {
		errs = append(errs, stage.OptionError("aggregate", "aggregates are computed per group of by keys: set by, and leave attributes out"))
	}
	for _, opt := range []struct {
		name string
		set  []string
	}{{"exclude", o.Exclude}, {"only", o.Only}} {
		if len(opt.set) > 0 && !o.Attributes {
			errs = append(errs, stage.OptionError(opt.name, "chooses the names that attributes: true counts: set attributes: true"))
		}
	}
	s.filter = newNameFilter(o.Exclude, o.Only)
	if o.Top < 0 {
		errs = append(errs, stage.OptionError("top", "must be 0 (keep every count) or more, got %d", o.Top))
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
	aggs       []aggregate
	filter     *nameFilter // attributes mode: the names to count; nil counts all

	tmp     string // prepared by Finish, renamed by the run's commit
	records int64  // records counted, for Outputs
	rows    int64  // rows written, for Outputs
	bytes   int64
	done    bool // committed

	stdout  io.Writer    // where output "-" goes: os.Stdout unless a test sets it
	log     *slog.Logger // from Setup, for a failed copy to stdout
	copyErr error        // the copy to stdout failed
}

var (
	_ stage.Aggregator = (*Stage)(nil)
	_ stage.Setupper   = (*Stage)(nil)
	_ stage.Committer  = (*Stage)(nil)
	_ stage.Outputter  = (*Stage)(nil)
)

// Signature implements stage.Stage: a sink of any record kind, or of XML
// records when counting attributes.
func (s *Stage) Signature() stage.Signature {
	in := stage.Records
	if s.attributes {
		in = stage.XML
	}
	return stage.Signature{In: in, Out: stage.None, Terminal: true}
}

// Setup creates the output's directory and checks that a file can be
// created there, so that a run of hours does not fail at its very end.
func (s *Stage) Setup(ctx context.Context, env stage.Env) error {
	s.tmp, s.records, s.rows, s.bytes, s.done = "", 0, 0, 0, false
	s.log = env.Log
	if s.output == stdoutName {
		return nil
	}
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
func (s *Stage) NewAccumulator() stage.Accumulator {
	return &accumulator{
		s:      s,
		ev:     recexpr.NewEvaluator(),
		groups: newCounter(),
		elems:  new(elemCache),
	}
}

// Finish writes the merged counts to a temporary file beside the output.
// Failing to write is fatal: it is not about any one record.
func (s *Stage) Finish(ctx context.Context, acc stage.Accumulator, out stage.Emitter) error {
	a, ok := acc.(*accumulator)
	if !ok || a.s != s {
		return stage.Fatal(fmt.Errorf("count: Finish given an accumulator of another stage (%T)", acc))
	}
	if len(s.by) == 0 {
		a.groups.add(nil, 0) // the one group exists even with no records
	}
	t := a.totals()
	s.records = t.records()
	f, err := s.createTemp()
	if err != nil {
		return stage.Fatal(fmt.Errorf("write %s: %w", s.output, err))
	}
	s.tmp = f.Name()
	s.bytes, s.rows, err = s.write(ctx, f, t)
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
		return stage.Fatal(fmt.Errorf("write %s: %w", s.output, err))
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

// Prepare hands the runner the prepared file to rename to the output name
// (nothing for standard output, which is copied once committed).
func (s *Stage) Prepare(context.Context) (stage.CommitPlan, error) {
	if s.tmp == "" || s.output == stdoutName {
		return stage.CommitPlan{}, nil
	}
	return stage.CommitPlan{Renames: []stage.Rename{{Temp: s.tmp, Final: s.output}}}, nil
}

// Committed records that the output is final; for standard output it
// copies the prepared file there, and a failed copy is its error.
func (s *Stage) Committed() error {
	var err error
	if s.output == stdoutName && s.tmp != "" {
		err = s.copyToStdout()
	}
	if s.tmp != "" {
		s.tmp, s.done = "", true
	}
	return err
}

// Abort removes the prepared file, if any.
func (s *Stage) Abort() {
	if s.tmp != "" {
		os.Remove(s.tmp)
		s.tmp = ""
	}
}

// Outputs reports the file written, once committed.
func (s *Stage) Outputs() []stage.Output {
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
	note = fmt.Sprintf("%s, from %d records", note, s.records)
	if s.copyErr != nil {
		note += "; " + s.copyErr.Error()
	}
	return []stage.Output{{Path: s.output, Records: s.rows, Bytes: s.bytes, Note: note}}
}
