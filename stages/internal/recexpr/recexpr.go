package recexpr

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"

	suggestpkg "github.com/sluicehq/sluice/internal/suggest"
	"github.com/sluicehq/sluice/stage"
)

// Result is what a Program must evaluate to.
type Result int

const (
	// Bool programs are conditions: they must give true or false.
	Bool Result = iota + 1
	// String programs give a category, a label or a key: a string, or a
	// number or boolean, which is formatted (42, 2.5, true). Anything else,
	// nil included, is an error on the record.
	String
	// Any programs give a value of any type: a string, number, boolean,
	// nil, list or map (the value of a field that map puts in a JSON
	// record).
	Any
)

// Program is an expression compiled once at build time. It is immutable
// and safe to share between goroutines; evaluate it with an Evaluator.
type Program struct {
	option   string // the option it came from, for messages: "rules[2].when"
	src      string
	want     Result
	prog     *vm.Program
	usesLine bool   // reads `line` (or $env): fill it before running
	variable string // the program is this string variable alone: no VM needed
}

// Source returns the expression's text as written.
func (p *Program) Source() string { return p.src }

// Option returns the option path the program was compiled for.
func (p *Program) Option() string { return p.option }

// Compile compiles src, the value of the option at path option (used to
// locate errors: "rules[2].when", "by[0]"), into a Program giving want. A
// syntax or type error is returned as a stage.OptionError at that path, with
// the column in the expression.
func Compile(option, src string, want Result) (*Program, error) {
	if strings.TrimSpace(src) == "" {
		return nil, stage.OptionError(option, "empty expression")
	}
	pt := &patcher{}
	opts := append(compileOptions(), expr.Patch(pt))
	config, tree, err := checkTree(src, opts)
	if err != nil {
		return nil, stage.OptionError(option, "%s", compileMessage(err))
	}
	if msg := attributePath(tree.Node); msg != "" {
		return nil, stage.OptionError(option, "%s", msg)
	}
	prog, err := compileTyped(config, tree)
	if err != nil {
		return nil, stage.OptionError(option, "%s", compileMessage(err))
	}
	if t := prog.Node().Type(); t != nil {
		switch {
		case want == Bool && t.Kind() != reflect.Bool && t.Kind() != reflect.Interface:
			return nil, stage.OptionError(option, "expression gives %s, want true or false", describeType(t))
		case want == String && !stringable(t):
			return nil, stage.OptionError(option, "expression gives %s, want a string", describeType(t))
		}
	}
	p := &Program{option: option, src: src, want: want, prog: prog, usesLine: pt.usesLine}
	if id, ok := prog.Node().(*ast.IdentifierNode); ok && (want == String || want == Any) {
		switch id.Value {
		case "category", "file", "kind":
			p.variable = id.Value
		}
	}
	return p, nil
}

// stringable reports whether a value of static type t may be turned into a
// string (interface types are checked when the program runs).
func stringable(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.String, reflect.Bool, reflect.Interface,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return true
	}
	return false
}

func describeType(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "a map"
	case reflect.Func:
		return "a function (call it with ())"
	case reflect.String:
		return "a string"
	}
	return t.String()
}

// compileMessage turns expr's error into one line: the message and where in
// the expression it is, with a suggestion for a misspelt name.
func compileMessage(err error) string {
	var fe *file.Error
	if !errors.As(err, &fe) {
		return err.Error()
	}
	msg := strings.TrimSpace(fe.Message)
	for _, prefix := range []string{"unknown name ", "unknown func "} {
		if name, ok := strings.CutPrefix(msg, prefix); ok {
			msg += suggest(name)
		}
	}
	if fe.Line > 1 {
		return fmt.Sprintf("%s (line %d, column %d of the expression)", msg, fe.Line, fe.Column+1)
	}
	return fmt.Sprintf("%s (column %d of the expression)", msg, fe.Column+1)
}

func suggest(name string) string {
	best, ok := suggestpkg.Closest(name, names)
	if !ok {
		sortedNames := append([]string(nil), names...)
		sort.Strings(sortedNames)
		return fmt.Sprintf(" (known names: %s)", strings.Join(sortedNames, ", "))
	}
	return fmt.Sprintf(" (did you mean %s?)", best)
}

// attributePath returns a message when a path function (text, texts,
// has) is given a constant path naming an attribute ("@alt"), which paths
// cannot: has("alt") tests for a child element, and attributes have
// functions of their own.
func attributePath(root ast.Node) string {
	v := &pathVisitor{}
	ast.Walk(&root, v)
	return v.msg
}

type pathVisitor struct{ msg string }

func (v *pathVisitor) Visit(node *ast.Node) {
	n, ok := (*node).(*ast.CallNode)
	if !ok || v.msg != "" {
		return
	}
	id, ok := n.Callee.(*ast.IdentifierNode)
	if !ok || (id.Value != "text" && id.Value != "texts" && id.Value != "has") {
		return
	}
	for _, a := range n.Arguments {
		s, ok := a.(*ast.StringNode)
		if !ok || !strings.Contains(s.Value, "@") {
			continue
		}
		attr := s.Value[strings.LastIndexByte(s.Value, '@')+1:]
		hint := fmt.Sprintf("test the root's attribute with hasattr(%q) and read it with attr(%q)", attr, attr)
		if !strings.HasPrefix(s.Value, "@") {
			hint = "attr and hasattr read the attributes of the record's root element, and expressions cannot read those of other elements"
		}
		v.msg = fmt.Sprintf("%s(%q): a path names elements, not attributes; %s (at byte %d of the expression)",
			id.Value, s.Value, hint, s.Location().From+1)
	}
}

// patcher passes the evaluation's environment to the record functions as a
// hidden first argument (attr("type") runs as attr($env, "type")), which
// is how a function compiled once reaches the record of the evaluation
// running it. It also notes whether the program reads `line`, which is
// only materialised for programs that do, and gives `matches` with a
// constant pattern its fast form where there is one (see fastMatcher).
type patcher struct {
	usesLine bool
}

func (pt *patcher) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.BinaryNode:
		patchMatches(node, n)
	case *ast.IdentifierNode:
		if n.Value == "line" || n.Value == "$env" {
			pt.usesLine = true
		}
	case *ast.CallNode:
		id, ok := n.Callee.(*ast.IdentifierNode)
		if !ok || !recordFunction(id.Value) {
			return
		}
		if len(n.Arguments) > 0 {
			if first, ok := n.Arguments[0].(*ast.IdentifierNode); ok && first.Value == "$env" {
				return // already patched
			}
		}
		env := &ast.IdentifierNode{Value: "$env"}
		env.SetLocation(n.Location())
		n.Arguments = append([]ast.Node{env}, n.Arguments...)
	}
}

// toString converts a String program's result.
func toString(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case nil:
		return "", errors.New(`evaluated to nil (a missing attribute, label or JSON value); give a default with ??, as in attr("type") ?? "unknown"`)
	case bool:
		return strconv.FormatBool(x), nil
	case int:
		return strconv.Itoa(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case int32:
		return strconv.FormatInt(int64(x), 10), nil
	case uint:
		return strconv.FormatUint(uint64(x), 10), nil
	case uint64:
		return strconv.FormatUint(x, 10), nil
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	case float32:
		return strconv.FormatFloat(float64(x), 'f', -1, 32), nil
	}
	return "", fmt.Errorf("evaluated to %s, want a string", describeValue(v))
}

func describeValue(v any) string {
	switch v.(type) {
	case nil:
		return "nil"
	case []any, []string:
		return "a list"
	case map[string]any:
		return "a map"
	}
	return fmt.Sprintf("a %T", v)
}
