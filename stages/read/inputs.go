package read

import "github.com/sluicehq/sluice/core"

// InputPaths implements core.InputPather: the file or directory read, so
// that sluice validate can say it is missing before a run.
func (s *Stage) InputPaths() []core.InputPath {
	return []core.InputPath{{Option: "path", Path: s.opts.Path}}
}

var _ core.InputPather = (*Stage)(nil)
