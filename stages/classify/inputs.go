package classify

import (
	"strings"

	"github.com/sluicehq/sluice/stage"
)

// InputPaths implements stage.InputPather: the plugin's source directory,
// or its executable when given as a path (a bare name is looked up on
// PATH when the plugin starts, and is not checked here).
func (p *Plugin) InputPaths() []stage.InputPath {
	var out []stage.InputPath
	if p.cfg.Source != "" {
		out = append(out, stage.InputPath{Option: "plugin.source", Path: p.cfg.Source})
	}
	if len(p.cfg.Command) > 0 && strings.ContainsRune(p.cfg.Command[0], '/') {
		out = append(out, stage.InputPath{Option: "plugin.command[0]", Path: p.cfg.Command[0]})
	}
	return out
}

var _ stage.InputPather = (*Plugin)(nil)
