// Package yamlnode describes YAML nodes for error messages, the same way in
// the pipeline loader (package pipeline) and in pipeline tests (pipetest).
package yamlnode

import (
	"strconv"

	"gopkg.in/yaml.v3"
)

// Describe says what n is, for "expected X, got Y" messages: "a mapping",
// "a list", or a scalar's value quoted.
func Describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	return strconv.Quote(n.Value)
}
