package stage

import (
	"context"
)

// Checker is implemented by stages that can check more of their options
// than Build may, by looking at the outside world (a classifier plugin
// asks its plugin for its config schema). `sluice validate` calls it
// through Graph.Check; a run does not.
//
// Check returns the problems found, each made with OptionError at the
// option at fault where there is one, and a note when it could not check
// everything (say why, and what would let it), or "".
type Checker interface {
	Check(ctx context.Context) (note string, err error)
}
