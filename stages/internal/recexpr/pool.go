package recexpr

import (
	"sync"

	"github.com/sluicehq/sluice/stage"
)

// Pool keeps Evaluators for a stage's concurrent workers, so that each
// call of Process takes one without allocating. The zero value is ready
// to use; it is safe for concurrent use.
type Pool struct{ p sync.Pool }

// Get returns an Evaluator reset to r.
func (p *Pool) Get(r *stage.Record) *Evaluator {
	e, _ := p.p.Get().(*Evaluator)
	if e == nil {
		e = NewEvaluator()
	}
	e.Reset(r)
	return e
}

// Put drops e's reference to its record and returns e to the pool.
func (p *Pool) Put(e *Evaluator) {
	e.Release()
	p.p.Put(e)
}
