// Package stages holds Sluice's built-in stage kinds, one folder each
// (read, split, filter, map, classify, count, write), and the one explicit list that
// registers them.
//
// A program that embeds Sluice adds its own kinds with sluice.WithKinds;
// tests build registries of their own.
package stages

import (
	"github.com/sluicehq/sluice/stage"
	"github.com/sluicehq/sluice/stages/classify"
	"github.com/sluicehq/sluice/stages/count"
	"github.com/sluicehq/sluice/stages/filter"
	"github.com/sluicehq/sluice/stages/mapper"
	"github.com/sluicehq/sluice/stages/read"
	"github.com/sluicehq/sluice/stages/split"
	"github.com/sluicehq/sluice/stages/write"
)

// Register adds every built-in stage kind to r.
func Register(r *stage.Registry) {
	r.Register(read.Kind())
	r.Register(split.Kind())
	r.Register(filter.Kind())
	r.Register(mapper.Kind())
	r.Register(classify.Kind())
	r.Register(count.Kind())
	r.Register(write.Kind())
}

// Registry returns a new registry holding the built-in kinds.
func Registry() *stage.Registry {
	r := stage.NewRegistry()
	Register(r)
	return r
}
