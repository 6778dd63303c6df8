package plugins

import (
	"github.com/sluicehq/sluice/stage"
)

// OptionSchema implements stage.OptionSchema: "auto" or a number of 1 or
// more, as UnmarshalYAML accepts.
func (Instances) OptionSchema() map[string]any {
	return map[string]any{"anyOf": []any{
		map[string]any{"const": "auto"},
		map[string]any{"type": "integer", "minimum": 1},
	}}
}

var _ stage.OptionSchema = Instances(0)
