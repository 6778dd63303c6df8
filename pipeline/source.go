package pipeline

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// Location is a place in a YAML file: 1-based line and column.
type Location struct {
	File      string
	Line, Col int
}

func (l Location) String() string {
	if l.Line == 0 {
		return l.File
	}
	return fmt.Sprintf("%s:%d:%d", l.File, l.Line, l.Col)
}

// Pos is a position in a pipeline: a line and column, and the file they
// are in when that is not the pipeline file itself (an included file, or a
// template with the use sites that brought its stages in).
type Pos struct {
	Line, Col int
	src       *origin // nil: the pipeline file
}

// origin says which file YAML nodes were read from and, for nodes that
// template expansion brought into a pipeline, how they got there.
type origin struct {
	file string
	// outer lists the use sites of the templates that brought the file's
	// stages in, outermost first.
	outer []Location
	// inner lists, for a template parameter's value, the places where
	// templates refer to the parameter, outermost first.
	inner []Location
}

// frames returns the chain of places behind p, outermost first: the use
// sites that led into a template, then p itself, then where templates
// refer to it. file names the pipeline file, for positions in it.
func (p Pos) frames(file string) []Location {
	if p.src == nil {
		return []Location{{File: file, Line: p.Line, Col: p.Col}}
	}
	out := make([]Location, 0, len(p.src.outer)+1+len(p.src.inner))
	out = append(out, p.src.outer...)
	out = append(out, Location{File: p.src.file, Line: p.Line, Col: p.Col})
	return append(out, p.src.inner...)
}

// newError makes the error for a problem at p. The outermost place is the
// error's position, the one a user of the pipeline wrote; the places inside
// templates go to its Trace. trace adds places that explain the problem
// (such as a parameter's declaration in a template).
func newError(file string, p Pos, stage, msg string, trace ...Location) *Error {
	frames := append(p.frames(file), trace...)
	e := &Error{File: frames[0].File, Line: frames[0].Line, Col: frames[0].Col, Stage: stage, Msg: msg}
	if len(frames) > 1 {
		e.Trace = frames[1:]
	}
	return e
}

// sources maps the YAML nodes of a pipeline's files to where they were
// read from. Nodes of the pipeline file itself are not in it.
type sources map[*yaml.Node]*origin

// pos returns the position of n.
func (s sources) pos(n *yaml.Node) Pos { return Pos{Line: n.Line, Col: n.Column, src: s[n]} }

// mark records that every node under n comes from o.
func (s sources) mark(n *yaml.Node, o *origin) {
	s[n] = o
	for _, c := range n.Content {
		s.mark(c, o)
	}
}

// clone deep-copies n (aliases resolved), recording o as the origin of
// every copied node.
func (s sources) clone(n *yaml.Node, o *origin) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	c := *n
	c.Content = nil
	c.Anchor = ""
	for _, k := range n.Content {
		c.Content = append(c.Content, s.clone(k, o))
	}
	s[&c] = o
	return &c
}
