package recexpr

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/stage"
)

// recordFunc is a record function: the Evaluator reached through the
// hidden environment, and its argument (nil for a function of none).
type recordFunc func(ev *Evaluator, arg any) (any, error)

// variadic is f as expr.Function registers it: the hidden environment,
// then the argument if any. Compiled programs call f through typedCalls.
func (f recordFunc) variadic(params ...any) (any, error) {
	var arg any
	if len(params) > 1 {
		arg = params[1]
	}
	return f(params[0].(*env).ev, arg)
}

// typed is f as typedCalls makes it: of a type expr's VM calls without
// allocating, raising an error as the VM's panic.
func (f recordFunc) typed(e, arg any) any {
	return must(f(e.(*env).ev, arg))
}

// stringArg checks the string argument of a record function.
func stringArg(a any, fn string) (string, error) {
	s, ok := a.(string)
	if !ok {
		return "", fmt.Errorf("%s() takes a string, got %s", fn, describeValue(a))
	}
	return s, nil
}

func fnAttr(ev *Evaluator, arg any) (any, error) {
	name, err := stringArg(arg, "attr")
	if err != nil {
		return nil, err
	}
	root, err := ev.xmlRoot("attr")
	if err != nil {
		return nil, err
	}
	v, ok, err := root.Attr(name)
	if err != nil {
		return nil, fmt.Errorf("attr(%q): %w", name, err)
	}
	if !ok {
		return nil, nil
	}
	// The parser's strings share the record's memory: a copy, so that a
	// category or label made of it does not keep the record alive.
	return strings.Clone(v), nil
}

func fnName(ev *Evaluator, _ any) (any, error) {
	root, err := ev.xmlRoot("name")
	if err != nil {
		return nil, err
	}
	return strings.Clone(root.Name.Qualified()), nil
}

func fnText(ev *Evaluator, arg any) (any, error) {
	path, err := stringArg(arg, "text")
	if err != nil {
		return nil, err
	}
	if err := ev.need("text", stage.XML); err != nil {
		return nil, err
	}
	t, err := ev.xmlLazy()
	if err != nil {
		return nil, err
	}
	s, _, err := t.Text(path)
	if err != nil {
		return nil, pathError("text", path, ev.xmlFailed(err))
	}
	return s, nil
}

func fnTexts(ev *Evaluator, arg any) (any, error) {
	path, err := stringArg(arg, "texts")
	if err != nil {
		return nil, err
	}
	if err := ev.need("texts", stage.XML); err != nil {
		return nil, err
	}
	t, err := ev.xmlLazy()
	if err != nil {
		return nil, err
	}
	s, err := t.Texts(path)
	if err != nil {
		return nil, pathError("texts", path, ev.xmlFailed(err))
	}
	if s == nil {
		s = []string{}
	}
	return s, nil
}

func fnHas(ev *Evaluator, arg any) (any, error) {
	path, err := stringArg(arg, "has")
	if err != nil {
		return nil, err
	}
	if err := ev.need("has", stage.XML); err != nil {
		return nil, err
	}
	t, err := ev.xmlLazy()
	if err != nil {
		return nil, err
	}
	ok, err := t.Has(path)
	if err != nil {
		return nil, pathError("has", path, ev.xmlFailed(err))
	}
	return ok, nil
}

func fnHasAttr(ev *Evaluator, arg any) (any, error) {
	name, err := stringArg(arg, "hasattr")
	if err != nil {
		return nil, err
	}
	root, err := ev.xmlRoot("hasattr")
	if err != nil {
		return nil, err
	}
	_, ok, err := root.Attr(name)
	if err != nil {
		return nil, fmt.Errorf("hasattr(%q): %w", name, err)
	}
	return ok, nil
}

// pathError describes a failed path query: an invalid path is about the
// call; a malformed record (an *XMLError) is about the record and is
// returned as it is.
func pathError(fn, path string, err error) error {
	var xe *XMLError
	if errors.As(err, &xe) {
		return err
	}
	return fmt.Errorf("%s(%q): %w", fn, path, err)
}

func fnField(ev *Evaluator, arg any) (any, error) {
	name, err := stringArg(arg, "field")
	if err != nil {
		return nil, err
	}
	if err := ev.need("field", stage.CSV); err != nil {
		return nil, err
	}
	r := ev.rec
	i := r.Header.Index(name)
	if i < 0 {
		return nil, fmt.Errorf("field(%q): no such column in the CSV header (columns: %s)", name, columns(r.Header))
	}
	if i >= len(r.Fields) {
		return nil, fmt.Errorf("field(%q): the row has %d fields, and %q is column %d of the header", name, len(r.Fields), name, i+1)
	}
	// Not a copy: fields share the split's read buffer, so a stage that
	// keeps a value made of one copies it (classify interns categories and
	// labels; count builds its keys in buffers of its own).
	return ev.boxedField(i), nil
}

// boxedField returns field i of the current CSV record as an any, boxed
// once per record however many calls read it (boxing a string allocates).
func (e *Evaluator) boxedField(i int) any {
	if n := len(e.rec.Fields); len(e.boxed) < n {
		e.boxed = append(e.boxed, make([]any, n-len(e.boxed))...)
	}
	v := e.boxed[i]
	if v == nil {
		v = e.rec.Fields[i]
		e.boxed[i] = v
		e.boxedSet = true
	}
	return v
}

// columns lists a header's names for a message, shortened when long.
func columns(h *stage.Header) string {
	if h == nil || len(h.Names) == 0 {
		return "none"
	}
	const most = 12
	names := h.Names
	more := ""
	if len(names) > most {
		names, more = names[:most], fmt.Sprintf(", and %d more", len(h.Names)-most)
	}
	return strings.Join(names, ", ") + more
}

func fnLabel(ev *Evaluator, arg any) (any, error) {
	name, err := stringArg(arg, "label")
	if err != nil {
		return nil, err
	}
	v, ok := ev.rec.Labels[name]
	if !ok {
		return nil, nil
	}
	return v, nil
}

func fnJSON(ev *Evaluator, arg any) (any, error) {
	path, err := stringArg(arg, "json")
	if err != nil {
		return nil, err
	}
	if err := ev.need("json", stage.JSON); err != nil {
		return nil, err
	}
	if !ev.jsonDone {
		ev.jsonVal, ev.jsonErr = decodeJSON(ev.rec.Data)
		ev.jsonDone = true
	}
	if ev.jsonErr != nil {
		return nil, ev.jsonErr
	}
	return jsonPath(ev.jsonVal, path), nil
}

// decodeJSON decodes one JSON value. Integers that fit an int become int
// (so they compare and format exactly); other numbers become float64.
func decodeJSON(data []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, jsonError(err, d.InputOffset())
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, fmt.Errorf("malformed JSON at byte %d of the record: data after the value", d.InputOffset())
	}
	return numbers(v), nil
}

func jsonError(err error, offset int64) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("malformed JSON at byte %d of the record: %w", se.Offset, err)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("malformed JSON at byte %d of the record: unexpected end of the value", offset)
	}
	return fmt.Errorf("malformed JSON: %w", err)
}

func numbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := strconv.Atoi(string(x)); err == nil {
			return i
		}
		f, _ := x.Float64() // the decoder validated the syntax; out of range gives ±Inf
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = numbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = numbers(e)
		}
	}
	return v
}

// jsonPath walks a dotted path: object keys, and array indexes from 0.
// Anything missing gives nil.
func jsonPath(v any, path string) any {
	for path != "" {
		step, rest, _ := strings.Cut(path, ".")
		switch x := v.(type) {
		case map[string]any:
			e, ok := x[step]
			if !ok {
				return nil
			}
			v = e
		case []any:
			i, err := strconv.Atoi(step)
			if err != nil || i < 0 || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
		path = rest
	}
	return v
}
