package classify

import (
	"context"

	"github.com/sluicehq/sluice/plugins"
	"github.com/sluicehq/sluice/stage"
)

// Check implements stage.Checker for `sluice validate`: it starts the
// plugin once, only for Describe, when its binary is there (a command
// that exists, or a source already built), and checks plugin.config
// against the config schema the plugin describes: unknown keys (with a
// "did you mean"), types, required keys. When it cannot check, it says
// why in its note.
func (p *Plugin) Check(ctx context.Context) (string, error) {
	return plugins.Check(ctx, p.cfg, nil)
}

var _ stage.Checker = (*Plugin)(nil)
