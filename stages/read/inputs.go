package read

import (
	"github.com/sluicehq/sluice/stage"
)

// InputPaths implements stage.InputPather: the file or directory read, so
// that sluice validate can say it is missing before a run.
func (s *Stage) InputPaths() []stage.InputPath {
	return []stage.InputPath{{Option: "path", Path: s.opts.Path}}
}

var _ stage.InputPather = (*Stage)(nil)
