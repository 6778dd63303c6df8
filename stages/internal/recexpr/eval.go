package recexpr

import (
	"errors"
	"fmt"

	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"

	"github.com/sluicehq/sluice/sdk/xmlview"
	"github.com/sluicehq/sluice/stage"
)

// env is what an expression sees as its variables; the record functions
// receive it as their hidden first argument and reach the Evaluator
// through it.
type env struct {
	Category string `expr:"category"`
	File     string `expr:"file"`
	Ordinal  int    `expr:"ordinal"`
	Kind     string `expr:"kind"`
	Line     string `expr:"line"`

	ev *Evaluator
}

// Evaluator evaluates Programs on one record at a time. It parses the
// record lazily: only what the programs call is parsed, once per record,
// however many programs run on it (the cache lives here, never on the
// shared record). An Evaluator is not safe for concurrent use: give each
// worker its own, or take one from a sync.Pool per record.
type Evaluator struct {
	env env
	vm  vm.VM
	rec *stage.Record

	lineSet bool

	boxed    []any // CSV fields boxed by field(), by column; nil: not yet
	boxedSet bool  // some of boxed is set

	xml    xmlview.Parser
	tree   *xmlview.Tree // the record, read lazily (root tag first)
	xmlErr error         // the record's XML error, once found

	jsonDone bool
	jsonVal  any
	jsonErr  error
}

// NewEvaluator returns an Evaluator with no record.
func NewEvaluator() *Evaluator {
	e := &Evaluator{}
	e.env.ev = e
	return e
}

// Reset makes r the record that the next evaluations read, dropping what
// was parsed from the previous one. r must stay unchanged until the next
// Reset; the Evaluator only reads it.
func (e *Evaluator) Reset(r *stage.Record) {
	e.rec = r
	e.env = env{
		Category: r.Category,
		File:     r.Source.File,
		Ordinal:  int(r.Source.Ordinal),
		Kind:     kindName(r.Type),
		ev:       e,
	}
	e.lineSet = false
	e.clearBoxed()
	e.tree, e.xmlErr = nil, nil
	e.jsonDone, e.jsonVal, e.jsonErr = false, nil, nil
}

// clearBoxed forgets the boxed fields of the previous record, which share
// its memory.
func (e *Evaluator) clearBoxed() {
	if e.boxedSet {
		clear(e.boxed)
		e.boxedSet = false
	}
}

// Release drops the Evaluator's reference to its record (keeping its
// buffers), so that a pooled Evaluator does not keep a record alive.
func (e *Evaluator) Release() {
	e.rec = nil
	e.env = env{ev: e}
	e.clearBoxed()
	e.tree, e.xmlErr = nil, nil
	e.jsonVal, e.jsonErr = nil, nil
}

// SetCategory changes what the variable category holds for the rest of
// the current record's evaluations (classify sets it before evaluating
// labels, so that they see the new category).
func (e *Evaluator) SetCategory(c string) { e.env.Category = c }

// Record returns the record set by Reset.
func (e *Evaluator) Record() *stage.Record { return e.rec }

// Bool evaluates a Bool program on the current record.
func (e *Evaluator) Bool(p *Program) (bool, error) {
	v, err := e.run(p)
	if err != nil {
		return false, err
	}
	b, ok := v.(bool)
	if !ok {
		return false, e.fail(p, 0, fmt.Errorf("evaluated to %s, want true or false", describeValue(v)))
	}
	return b, nil
}

// String evaluates a String program on the current record.
func (e *Evaluator) String(p *Program) (string, error) {
	if v, ok := e.variable(p); ok { // a key such as count's by: [category], without the VM
		return v, nil
	}
	v, err := e.run(p)
	if err != nil {
		return "", err
	}
	s, err := toString(v)
	if err != nil {
		return "", e.fail(p, 0, err)
	}
	return s, nil
}

// Value evaluates a program of any Result on the current record and
// returns its value as the expression gave it. A string may share the
// record's bytes (a CSV field): copy it to keep it past the record.
func (e *Evaluator) Value(p *Program) (any, error) {
	if v, ok := e.variable(p); ok {
		return v, nil
	}
	return e.run(p)
}

// variable returns the value of a program that is one string variable
// alone, which needs no VM.
func (e *Evaluator) variable(p *Program) (string, bool) {
	switch p.variable {
	case "category":
		return e.env.Category, true
	case "file":
		return e.env.File, true
	case "kind":
		return e.env.Kind, true
	}
	return "", false
}

// Tree returns the current record parsed as XML (cached for the record),
// for stages that read every element, such as count's attribute mode. It is
// valid until the next Reset. Errors are *Error values naming the record;
// option is the option to name in them.
func (e *Evaluator) Tree(option string) (*xmlview.Tree, error) {
	if e.rec.Type != stage.XML {
		return nil, &Error{Source: e.rec.Source, Option: option,
			Err: fmt.Errorf("reads xml records, and this is a %s record", kindName(e.rec.Type))}
	}
	t, err := e.xmlTree()
	if err != nil {
		return nil, &Error{Source: e.rec.Source, Option: option, Err: err}
	}
	return t, nil
}

// Elements returns the current record's elements and attributes, as Tree
// does but for a caller that reads no text (count's attribute mode): when
// nothing was parsed yet, the record is read without keeping its
// character data, which is cheaper (xmlview.Parser.Elements), and its
// Text and Texts fail. The tree is valid until the next Reset or
// evaluation; an expression evaluated afterwards reads the record again.
func (e *Evaluator) Elements(option string) (*xmlview.Tree, error) {
	if e.rec.Type != stage.XML || e.tree != nil || e.xmlErr != nil {
		return e.Tree(option)
	}
	e.xml.Checked = e.rec.Checked
	t, err := e.xml.Elements(e.rec.Data)
	if err != nil {
		e.xmlErr = e.xmlError(err)
		return nil, &Error{Source: e.rec.Source, Option: option, Err: e.xmlErr}
	}
	return t, nil
}

func (e *Evaluator) run(p *Program) (any, error) {
	if e.rec == nil {
		panic("recexpr: Evaluator used before Reset")
	}
	if p.usesLine && !e.lineSet {
		e.env.Line = string(e.rec.Data)
		e.lineSet = true
	}
	v, err := e.vm.Run(p.prog, &e.env)
	if err != nil {
		var fe *file.Error
		if errors.As(err, &fe) {
			cause, col := fe.Prev, fe.Column+1
			if cause == nil {
				cause = errors.New(fe.Message)
			}
			var xe *XMLError
			if errors.As(cause, &xe) {
				col = 0 // the record is at fault, not a place in the expression
			}
			return nil, e.fail(p, col, cause)
		}
		return nil, e.fail(p, 0, err)
	}
	return v, nil
}

func (e *Evaluator) fail(p *Program, col int, err error) error {
	return &Error{Source: e.rec.Source, Option: p.option, Column: col, Err: err}
}

// Error is an expression that failed on one record: a malformed record, a
// function used on the wrong kind of record, a type error, nil where a
// string was needed.
type Error struct {
	Source stage.Position // the record's position
	Option string         // the option whose expression failed
	Column int            // 1-based column in the expression; 0 when not known
	Err    error
}

// Error formats the error as "record POSITION: OPTION: cause".
func (e *Error) Error() string {
	if e.Column > 0 {
		return fmt.Sprintf("record %s: %s (column %d): %v", e.Source, e.Option, e.Column, e.Err)
	}
	return fmt.Sprintf("record %s: %s: %v", e.Source, e.Option, e.Err)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// xmlRoot returns the record's root start tag, parsing as little as
// possible.
func (e *Evaluator) xmlRoot(fn string) (*xmlview.Root, error) {
	if err := e.need(fn, stage.XML); err != nil {
		return nil, err
	}
	t, err := e.xmlLazy()
	if err != nil {
		return nil, err
	}
	return t.Root(), nil
}

// xmlLazy returns the record as a lazily read tree (see xmlview.Lazy): its
// root tag is read, the rest as queries need it. The caller has checked
// that the record is XML.
func (e *Evaluator) xmlLazy() (*xmlview.Tree, error) {
	switch {
	case e.xmlErr != nil:
		return nil, e.xmlErr
	case e.tree != nil:
		return e.tree, nil
	}
	e.xml.Checked = e.rec.Checked // split checked the characters: skip that
	t, err := e.xml.Lazy(e.rec.Data)
	if err != nil {
		e.xmlErr = e.xmlError(err)
		return nil, e.xmlErr
	}
	e.tree = t
	return t, nil
}

// xmlTree returns the whole parsed record; the caller has checked that
// the record is XML.
func (e *Evaluator) xmlTree() (*xmlview.Tree, error) {
	t, err := e.xmlLazy()
	if err != nil {
		return nil, err
	}
	if err := t.Complete(); err != nil {
		return nil, e.xmlFailed(err)
	}
	return t, nil
}

// xmlFailed turns a malformation found while reading the record lazily
// into the record's XML error (kept for later calls); other errors (an
// invalid path) are returned as they are.
func (e *Evaluator) xmlFailed(err error) error {
	var se *xmlview.SyntaxError
	if !errors.As(err, &se) {
		return err
	}
	if e.xmlErr == nil {
		e.xmlErr = e.xmlError(err)
	}
	return e.xmlErr
}

// XMLError is a malformed XML record, located in its file when the
// record's line is known.
type XMLError struct {
	FileLine int64 // line in the input file; 0 when not known
	Err      *xmlview.SyntaxError
}

// Error locates the malformation in the file and in the record.
func (e *XMLError) Error() string {
	if e.FileLine > 0 {
		return fmt.Sprintf("malformed XML at file line %d (line %d, byte %d of the record): %s", e.FileLine, e.Err.Line, e.Err.Offset, e.Err.Msg)
	}
	return e.Err.Error()
}

// Unwrap returns the *xmlview.SyntaxError.
func (e *XMLError) Unwrap() error { return e.Err }

func (e *Evaluator) xmlError(err error) error {
	var se *xmlview.SyntaxError
	if !errors.As(err, &se) {
		return err
	}
	xe := &XMLError{Err: se}
	if e.rec.Source.Line > 0 {
		xe.FileLine = e.rec.Source.Line + int64(se.Line) - 1
	}
	return xe
}

// need checks that the record is of kind t for function fn.
func (e *Evaluator) need(fn string, t stage.Type) error {
	if e.rec.Type == t {
		return nil
	}
	return fmt.Errorf("%s() reads %s records, and this is a %s record (guard the rule with kind == %q)", fn, kindName(t), kindName(e.rec.Type), kindName(t))
}

func kindName(t stage.Type) string {
	switch t {
	case stage.XML:
		return "xml"
	case stage.CSV:
		return "csv"
	case stage.Line:
		return "line"
	case stage.JSON:
		return "json"
	case stage.File:
		return "file"
	}
	return t.String()
}
