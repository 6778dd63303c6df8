package core

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"gopkg.in/yaml.v3"
)

// InputPather is implemented by stages that read paths named in their
// options (read's path, a classifier plugin's source). Plan records them,
// and Graph.CheckInputs checks that they exist; `sluice validate` calls it.
type InputPather interface {
	InputPaths() []InputPath
}

// InputPath is a path a stage reads, with the option that names it.
type InputPath struct {
	// Option is the option's dotted path under `with:` ("path",
	// "plugin.source"), used to place an error at its value.
	Option string
	// Path is the value, relative to the working directory as every path
	// under `with:` is.
	Path string
}

// inputRef is an InputPath with the position of its option.
type inputRef struct {
	InputPath
	at Pos
}

// noteInputs records the input paths of a built stage, placed at their
// options (at `with:` when the option was not written, a default).
func (pl *planner) noteInputs(n *Node, sc *StageConfig, st Stage, nodes map[string]*yaml.Node) {
	ip, ok := st.(InputPather)
	if !ok {
		return
	}
	for _, p := range ip.InputPaths() {
		if p.Path == "" {
			continue
		}
		at := sc.fieldPos["with"]
		if yn, ok := nodes[p.Option]; ok {
			at = pl.cfg.src.pos(yn)
		}
		n.inputs = append(n.inputs, inputRef{p, at})
	}
}

// CheckInputs checks that every input path of the graph's stages exists,
// and returns an ErrorList with one error per missing or unreadable path
// at its option's position, or nil. Plan does not check this, so a
// pipeline meant for another machine can be planned here; the check costs
// one stat per path.
func (g *Graph) CheckInputs() error {
	var errs ErrorList
	wd, _ := os.Getwd()
	for _, n := range g.Nodes {
		for _, in := range n.inputs {
			_, err := os.Stat(in.Path)
			if err == nil {
				continue
			}
			msg := fmt.Sprintf("%s: %s: %v", in.Option, in.Path, errors.Unwrap(err))
			if !filepath.IsAbs(in.Path) {
				msg += " (relative to the working directory, " + wd + ")"
			}
			errs.Add(newError(g.File, in.at, n.Name, msg))
		}
	}
	errs.Sort()
	return errs.Err()
}
