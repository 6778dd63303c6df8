package pipeline

import (
	"reflect"

	"gopkg.in/yaml.v3"

	"github.com/sluicehq/sluice/internal/yamlnode"
	"github.com/sluicehq/sluice/stage"
)

var pairsType = reflect.TypeOf(stage.Pairs(nil))

// pairs decodes a mapping of scalars into v, a Pairs.
func (d *optionDecoder) pairs(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.fail(n, "%s: expected a mapping of names to values, got %s", path, yamlnode.Describe(n))
		return
	}
	ps := make(stage.Pairs, 0, len(n.Content)/2)
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		p := join(path, k.Value)
		d.nodes[p] = val
		switch {
		case seen[k.Value]:
			d.fail(k, "%s: %q is given twice", path, k.Value)
			continue
		case val.Kind != yaml.ScalarNode:
			d.fail(val, "%s: expected a string, got %s", p, yamlnode.Describe(val))
			continue
		}
		seen[k.Value] = true
		ps = append(ps, stage.Pair{Key: k.Value, Value: val.Value})
	}
	v.Set(reflect.ValueOf(ps))
}
