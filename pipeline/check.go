package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/sluicehq/sluice/stage"
	"gopkg.in/yaml.v3"
)

// Check calls Check on every stage that implements Checker, one after the
// other, and returns their notes and problems, each an *Error placed in
// the pipeline file: a problem made with OptionError at the key of its
// option, a note or another problem at the stage's `with:`. The problems
// come back as an ErrorList, or nil when there are none.
func (g *Graph) Check(ctx context.Context) (notes []*Error, err error) {
	var errs ErrorList
	for _, n := range g.Nodes {
		c, ok := n.Stage.(stage.Checker)
		if !ok {
			continue
		}
		note, err := c.Check(ctx)
		if note != "" {
			notes = append(notes, newError(g.File, n.optionAt(""), n.Name, note))
		}
		if err == nil {
			continue
		}
		list := []error{err}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			list = j.Unwrap()
		}
		for _, e := range list {
			var oe interface{ OptionPath() string }
			at := n.optionAt("")
			if errors.As(e, &oe) {
				at = n.optionAt(oe.OptionPath())
			}
			errs.Add(newError(g.File, at, n.Name, e.Error()))
		}
	}
	errs.Sort()
	return notes, errs.Err()
}

// setupError is the error of a stage whose Setup failed with err. When
// err wraps an OptionError (a plugin's Init naming the config key at
// fault), it starts with that option's position in the pipeline file.
func (g *Graph) SetupError(n *Node, err error) error {
	var oe interface{ OptionPath() string }
	if errors.As(err, &oe) && n.optionPos != nil {
		if e := newError(g.File, n.optionAt(oe.OptionPath()), "", ""); e.Line > 0 {
			return fmt.Errorf("%s:%d:%d: stage %q: setup: %w", e.File, e.Line, e.Col, n.Name, err)
		}
	}
	return fmt.Errorf("stage %q: setup: %w", n.Name, err)
}

// optionKeys returns where each decoded option of a stage is: the key
// that names it, or its value for a list item; with "" or an option that
// was not written (a default), the nearest written parent, or the stage's
// `with:`.
func (pl *planner) optionKeys(sc *StageConfig, nodes map[string]*yaml.Node) func(path string) Pos {
	return func(path string) Pos {
		for p := path; p != ""; {
			i := strings.LastIndexAny(p, ".[")
			parent, key := "", p
			if i >= 0 {
				parent, key = p[:i], p[i+1:]
			}
			if pn, ok := nodes[parent]; ok && pn.Kind == yaml.MappingNode {
				for j := 0; j+1 < len(pn.Content); j += 2 {
					if pn.Content[j].Value == key {
						return pl.cfg.src.pos(pn.Content[j])
					}
				}
			}
			if yn, ok := nodes[p]; ok {
				return pl.cfg.src.pos(yn)
			}
			p = parent
		}
		if at := sc.fieldPos["with"]; at.Line != 0 {
			return at
		}
		return sc.usePos
	}
}

// optionAt returns the position of the option at path (see optionKeys).
func (n *Node) optionAt(path string) Pos {
	if n.optionPos == nil {
		return Pos{}
	}
	return n.optionPos(path)
}
