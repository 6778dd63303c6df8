package exprlang

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/sluicehq/sluice/stage"
	"github.com/sluicehq/sluice/stages/internal/recexpr"
	"github.com/sluicehq/sluice/stages/split"
)

// WriteText writes the full reference as `sluice expr` shows it.
func WriteText(w io.Writer) { recexpr.WriteText(w) }

// WriteMarkdown writes the reference as docs/expressions.md holds it.
func WriteMarkdown(w io.Writer) { recexpr.WriteMarkdown(w) }

// WriteSummary writes one line per variable and function.
func WriteSummary(w io.Writer) { recexpr.WriteSummary(w) }

// Format writes a value as the reference shows results.
func Format(v any) string { return recexpr.Format(v) }

// Want is what an expression must give, as the option using it demands.
type Want string

// The values of Want.
const (
	// Any shows whatever the expression gives, nil included.
	Any Want = "any"
	// Bool checks the expression as a classify when: true or false.
	Bool Want = "bool"
	// String checks it as a category, a label or a count key: a string,
	// number or boolean (formatted), never nil.
	String Want = "string"
)

// Input says how to cut a file into records: the split stage's format and
// options.
type Input struct {
	// Kind is "xml", "csv", "lines" or "jsonl"; "" guesses it from the
	// file's extension (see GuessKind).
	Kind string
	// Element is XML's split element: a name, p:name, {uri}name or a path
	// such as catalog/record.
	Element string
	// Delimiter is CSV's field delimiter ("" is ",").
	Delimiter string
	// NoHeader: the CSV's first row is a record, and fields are named "1",
	// "2", ...
	NoHeader bool
}

// GuessKind returns the split format a file's extension suggests (a .gz
// or .zst suffix aside), or "" when it suggests none.
func GuessKind(path string) string {
	base := strings.TrimSuffix(strings.TrimSuffix(strings.ToLower(path), ".gz"), ".zst")
	switch filepath.Ext(base) {
	case ".xml":
		return "xml"
	case ".csv", ".tsv":
		return "csv"
	case ".jsonl", ".ndjson":
		return "jsonl"
	case ".txt", ".log":
		return "lines"
	}
	return ""
}

// splitter builds the split stage that in describes for path.
func (in Input) splitter(path string) (*split.Stage, error) {
	kind := in.Kind
	if kind == "" {
		if kind = GuessKind(path); kind == "" {
			return nil, fmt.Errorf("--kind: cannot tell the record kind of %s from its extension; give --kind xml, csv, lines or jsonl", path)
		}
	}
	k := split.Kind()
	o := k.Defaults().(*split.Options)
	o.Chunk = 0 // one whole-file scan: the records and positions of any chunking
	switch kind {
	case "xml":
		if in.Element == "" {
			return nil, errors.New("--element: name the element whose subtrees are the records, e.g. --element record")
		}
		o.XML = &split.XMLOptions{Element: in.Element}
	case "csv":
		header := !in.NoHeader
		o.CSV = &split.CSVOptions{Delimiter: in.Delimiter, Header: &header}
		if in.Delimiter == "" && strings.HasSuffix(strings.TrimSuffix(strings.TrimSuffix(path, ".gz"), ".zst"), ".tsv") {
			o.CSV.Delimiter = `\t`
		}
	case "lines":
		o.Lines = &split.LinesOptions{}
	case "jsonl":
		o.JSONL = &split.JSONLOptions{}
	default:
		return nil, fmt.Errorf("--kind: expected xml, csv, lines or jsonl, got %q", kind)
	}
	if kind != "xml" && in.Element != "" {
		return nil, fmt.Errorf("--element: only for xml records, and these are %s", kind)
	}
	if kind != "csv" && (in.Delimiter != "" || in.NoHeader) {
		return nil, fmt.Errorf("--delimiter and --no-header: only for csv records, and these are %s", kind)
	}
	st, err := k.Build(o)
	if err != nil {
		return nil, fmt.Errorf("split options: %w", err)
	}
	return st.(*split.Stage), nil
}

// Result is an expression's value on one record, or why it has none.
type Result struct {
	Source stage.Position // the record's position in its file
	Value  any            // as recexpr gives it; see Format
	// Err is the expression's failure on this record (its text does not
	// repeat the position), or the record's own (a malformed CSV row, an
	// invalid JSON line), which split rejects.
	Err error
}

// Options configure Eval.
type Options struct {
	Input Input
	Want  Want
	// Limit stops after this many records; 0 evaluates every record.
	Limit int
	// Split, when set, cuts the file instead of a split stage built from
	// Input: a stage of a planned pipeline, so that records are cut with
	// all of its options.
	Split *split.Stage
}

// Compile checks an expression as Eval would compile it: a syntax or type
// error is returned at once, naming the column.
func Compile(src string, want Want) error {
	_, err := compile(src, want)
	return err
}

func compile(src string, want Want) (*recexpr.Program, error) {
	w := map[Want]recexpr.Result{"": recexpr.Any, Any: recexpr.Any, Bool: recexpr.Bool, String: recexpr.String}[want]
	if w == 0 {
		return nil, fmt.Errorf("--as: expected any, bool or string, got %q", want)
	}
	return recexpr.Compile("expression", src, w)
}

// errEnough stops the scan once Limit records are done.
var errEnough = errors.New("enough records")

// Eval evaluates src on every record the split stage emits from the file
// at path (gzip and zstd are decompressed), in file order, and calls f
// with each result. A record that split rejects is a result with an
// error, and the scan goes on; malformed XML, a record over the size
// limit or an unreadable file ends it with an error, after the results of
// the records before. Memory is bounded by the largest record.
func Eval(ctx context.Context, src, path string, opts Options, f func(Result) error) error {
	prog, err := compile(src, opts.Want)
	if err != nil {
		return err
	}
	sp := opts.Split
	if sp == nil {
		if sp, err = opts.Input.splitter(path); err != nil {
			return err
		}
	}
	if err := sp.Setup(ctx, stage.Env{Stage: "split", Workers: 1}); err != nil {
		return err
	}
	em := &evalEmitter{ev: recexpr.NewEvaluator(), prog: prog, want: opts.Want, limit: opts.Limit, f: f}
	err = sp.Process(ctx, &stage.Record{Type: stage.File, Source: stage.Position{File: path}}, em)
	if errors.Is(err, errEnough) {
		return nil
	}
	return err
}

// evalEmitter receives split's records and evaluates the program on each.
type evalEmitter struct {
	ev    *recexpr.Evaluator
	prog  *recexpr.Program
	want  Want
	limit int
	n     int
	f     func(Result) error
}

var _ stage.Emitter = (*evalEmitter)(nil)

func (e *evalEmitter) Emit(r *stage.Record) error {
	e.ev.Reset(r)
	res := Result{Source: r.Source}
	switch e.want {
	case Bool:
		res.Value, res.Err = e.ev.Bool(e.prog)
	case String:
		res.Value, res.Err = e.ev.String(e.prog)
	default:
		res.Value, res.Err = e.ev.Value(e.prog)
	}
	e.ev.Release()
	res.Err = withoutPosition(res.Err)
	return e.deliver(res)
}

func (e *evalEmitter) Reject(r *stage.Record, cause error) error {
	return e.deliver(Result{Source: r.Source, Err: cause})
}

func (e *evalEmitter) deliver(res Result) error {
	if err := e.f(res); err != nil {
		return err
	}
	e.n++
	if e.limit > 0 && e.n >= e.limit {
		return errEnough
	}
	return nil
}

// withoutPosition drops the record's position from an expression error,
// since a Result carries it: "column 3: cause".
func withoutPosition(err error) error {
	var re *recexpr.Error
	if !errors.As(err, &re) {
		return err
	}
	if re.Column > 0 {
		return fmt.Errorf("column %d of the expression: %w", re.Column, re.Err)
	}
	return re.Err
}
