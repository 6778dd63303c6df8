package recexpr

import (
	"errors"
	"reflect"
	"sync/atomic"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/checker"
	"github.com/expr-lang/expr/compiler"
	"github.com/expr-lang/expr/conf"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/optimizer"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"

	"github.com/sluicehq/sluice/stage"
)

// checkTree parses and type-checks src with opts (our patcher included),
// as expr.Compile does before compiling.
func checkTree(src string, opts []expr.Option) (*conf.Config, *parser.Tree, error) {
	config := conf.CreateNew()
	for _, op := range opts {
		op(config)
	}
	config.Check()
	tree, err := checker.ParseCheck(src, config)
	if err != nil {
		return nil, nil, err
	}
	if config.Optimize {
		if err := optimizer.Optimize(&tree.Node, config); err != nil {
			var fe *file.Error
			if errors.As(err, &fe) {
				return nil, nil, fe.Bind(tree.Source)
			}
			return nil, nil, err
		}
	}
	return config, tree, nil
}

// compileTyped compiles a checked tree after typedCalls has given the
// calls of our functions typed callees.
func compileTyped(config *conf.Config, tree *parser.Tree) (*vm.Program, error) {
	typedCalls(&tree.Node)
	return compiler.Compile(tree, config)
}

// typedCalls replaces the callee of every call of a record function (and
// of the fast matches) by a constant function of a type expr's VM calls
// directly (OpCallTyped: func(any) any, func(any, any) any, func(any)
// bool), once the tree is type-checked against the declared signatures.
// expr calls the functions registered with expr.Function through a slice
// of arguments it allocates on every run of a program (vm.getArgsForFunc)
// and the typed call pops its arguments from the stack instead, which
// takes an allocation and about a quarter of the CPU off W2's rule. The
// functions behave as before: an error is raised as the panic that expr
// turns into the run's error, located at the call.
func typedCalls(root *ast.Node) {
	ast.Walk(root, typedVisitor{})
}

type typedVisitor struct{}

func (typedVisitor) Visit(node *ast.Node) {
	n, ok := (*node).(*ast.CallNode)
	if !ok {
		return
	}
	id, ok := n.Callee.(*ast.IdentifierNode)
	if !ok {
		return
	}
	var fn any
	if id.Value == matchFunction {
		// s matches "[0-9]": the matcher becomes the function, s its
		// only argument.
		c, ok := n.Arguments[1].(*ast.ConstantNode)
		if !ok {
			return
		}
		m := c.Value.(*matcher)
		fn = m.call
		n.Arguments = n.Arguments[:1]
	} else if name, ok := constantField(n); ok {
		fn = (&fieldSite{name: name}).call
	} else if f := lookupFunction(id.Value); f != nil {
		switch len(n.Arguments) {
		case 1: // the hidden environment alone: name()
			fn = func(e any) any { return f.fn.typed(e, nil) }
		case 2:
			fn = f.fn.typed
		default:
			return
		}
	} else {
		return
	}
	callee := &ast.ConstantNode{Value: fn}
	callee.SetType(reflect.TypeOf(fn))
	callee.SetLocation(n.Location())
	n.Callee = callee
}

// must panics with err, which the VM returns as the run's error located at
// the call (as it does for a function that returns one), or returns v.
func must(v any, err error) any {
	if err != nil {
		panic(err)
	}
	return v
}

// lookupFunction returns the table's function called name, or nil.
func lookupFunction(name string) *function {
	for i := range functions {
		if functions[i].name == name {
			return &functions[i]
		}
	}
	return nil
}

// constantField returns the column name of a call field("name").
func constantField(n *ast.CallNode) (string, bool) {
	if id, ok := n.Callee.(*ast.IdentifierNode); !ok || id.Value != "field" || len(n.Arguments) != 2 {
		return "", false
	}
	s, ok := n.Arguments[1].(*ast.StringNode)
	if !ok {
		return "", false
	}
	return s.Value, true
}

// fieldSite is one call of field with a constant column name. It
// remembers the column's index in the last header it met, which spares
// the lookup of the name in the header on the rows after the first (the
// rows of a file share one Header). A Program is shared by goroutines,
// hence the atomic pointer; rows of alternating headers look the name up
// each time, as without the site.
type fieldSite struct {
	name string
	last atomic.Pointer[column]
}

type column struct {
	h *stage.Header
	i int
}

func (s *fieldSite) call(e, arg any) any {
	ev := e.(*env).ev
	r := ev.rec
	if c := s.last.Load(); c != nil && c.h == r.Header && r.Type == stage.CSV && c.i < len(r.Fields) {
		return ev.boxedField(c.i)
	}
	v := must(fnField(ev, arg))
	if i := r.Header.Index(s.name); i >= 0 {
		s.last.Store(&column{r.Header, i})
	}
	return v
}
