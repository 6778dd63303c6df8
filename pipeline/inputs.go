package pipeline

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/sluicehq/sluice/stage"
	"gopkg.in/yaml.v3"
)

// inputRef is an InputPath with the position of its option.
type inputRef struct {
	stage.InputPath
	at Pos
}

// noteInputs records the input paths of a built stage, placed at their
// options (at `with:` when the option was not written, a default).
func (pl *planner) noteInputs(n *Node, sc *StageConfig, st stage.Stage, nodes map[string]*yaml.Node) {
	ip, ok := st.(stage.InputPather)
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
