package plugins

import "math/bits"

// This file holds the pool's retry decisions as pure functions of counts:
// what to do with a part of a batch after its instance crashed or timed
// out, what hang isolation does after a round, and how restarts are
// counted against plugin.max_restarts. Pool.attempt, Pool.isolateHang,
// Pool.replace and Pool.settle carry them out; retry_test.go checks them
// with tables, without processes.

// tries is what attempt knows about one part of a batch: its size, how
// deep in bisection it is, and how its sends failed so far.
type tries struct {
	size     int // records in the part
	depth    int // 0 for the batch as given, one more per split
	failures int // failed sends that were exclusive
	shared   int // failed sends that shared their instance
}

// exclusive reports whether the next send goes alone on its instance: a
// part split off by bisection, or one that failed before, is sent alone, so
// that a crash is its own doing.
func (t tries) exclusive() bool { return t.depth > 0 || t.failures > 0 || t.shared > 0 }

// action is what attempt does after a failed send.
type action int

const (
	retry   action = iota // send the part again as it is (alone, from now on)
	isolate               // it timed out with several records: find the hung ones (isolateHang)
	poison                // a single record failed twice, once at least alone: it is poison
	bisect                // split the part in two and attempt each half
)

func (a action) String() string {
	return [...]string{"retry", "isolate", "poison", "bisect"}[a]
}

// afterFailure decides what to do after a send of t's part failed (by a
// timeout when timedOut, else a crash), and returns t with the failure
// counted. A shared send that fails may have been a bystander of another
// batch's crash, so it is retried alone first; a part is bisected, and a
// single record called poison, only after two failures of which one at
// least was exclusive (a part split off by bisection: two exclusive ones).
// A timeout of several records is isolated instead of bisected, so that a
// hung record costs 2 timeouts rather than one per level of bisection.
func afterFailure(t tries, timedOut bool) (action, tries) {
	if timedOut && t.size > 1 {
		return isolate, t
	}
	if !t.exclusive() {
		t.shared++
		return retry, t
	}
	t.failures++
	switch {
	case t.size == 1 && t.failures+t.shared >= 2:
		return poison, t
	case t.size == 1 || (t.depth == 0 && t.failures+t.shared < 2):
		return retry, t
	}
	return bisect, t
}

// hangRound is what isolateHang does after one round of one-record sends
// (fanOut): poison is the index of the record that hung (-1 for none),
// todo the indexes to send in the next round, bisect those to hand to
// attempt instead (a crash: any record in flight may have caused it).
type hangRound struct {
	poison int
	todo   []int
	bisect []int
}

// afterFanOut decides the next round of hang isolation from a fanOut's
// outcome: the indexes sent and not answered (waiting, in the order sent)
// and those not sent (unsent), and whether the instance failed and by a
// timeout. Records are sent in order to a plugin that answers in order or
// concurrently, so on a timeout the first record waiting is the one that
// hung (for the second time: its batch timed out before) and the others
// are sent again. An instance that died idle (nothing waiting) is no one's
// fault.
func afterFanOut(waiting, unsent []int, failed, timedOut bool) hangRound {
	switch {
	case !failed || len(waiting) == 0:
		return hangRound{poison: -1, todo: unsent}
	case !timedOut:
		return hangRound{poison: -1, bisect: append(waiting[:len(waiting):len(waiting)], unsent...)}
	}
	return hangRound{poison: waiting[0], todo: append(waiting[1:len(waiting):len(waiting)], unsent...)}
}

// lineage is the history of one batch as given to runBatch, across its
// retries and bisection. Its fields are guarded by Pool.mu.
type lineage struct {
	size      int
	failures  int  // failed attempts, of the batch or its parts
	bisecting bool // it failed twice and is being bisected
	charged   int  // restarts attributed to it and counted against the budget
	held      int  // restarts attributed to it during bisection, not counted yet
	succeeded int  // records classified during bisection
	poisons   int  // records isolated as poison
}

// canHold reports whether one more restart may be held aside rather than
// counted: during bisection, up to what isolating the poison records found
// so far, and one more, can cost (a restart per level of bisection, twice).
func (l *lineage) canHold() bool {
	if l == nil || !l.bisecting {
		return false
	}
	depth := bits.Len(uint(l.size))
	if l.succeeded == 0 {
		return l.held < depth+1
	}
	return l.held < (l.poisons+1)*(2*depth+2)
}

// blame returns the batch a restart is attributed to, among lin (the one
// whose call saw the failure, nil for none) and the batches in flight on
// the instance (suspects): one being bisected, else the one that failed
// most.
func blame(lin *lineage, suspects []*lineage) *lineage {
	for _, s := range suspects {
		if s != nil && (lin == nil || s.bisecting && !lin.bisecting || s.bisecting == lin.bisecting && s.failures > lin.failures) {
			lin = s
		}
	}
	return lin
}

// budget is plugin.max_restarts and the restarts counted against it.
type budget struct {
	max     int // plugin.max_restarts
	charged int // restarts counted
}

// over reports whether the restarts counted exceed plugin.max_restarts.
func (b *budget) over() bool { return b.charged > b.max }

// charge counts one restart blamed on lin (nil for none): it is held aside
// on lin while lin can hold it (see canHold), counted otherwise. It reports
// whether the budget is used up.
func (b *budget) charge(lin *lineage) (over bool) {
	if lin.canHold() {
		lin.held++
		return false
	}
	b.charged++
	if lin != nil {
		lin.charged++
	}
	return b.over()
}

// settle resolves the restarts lin held aside once its batch is done (ok
// when it succeeded): when bisection isolated poison records among records
// the plugin classified, they are forgiven, with the two that started the
// bisection; otherwise they are counted. It reports whether counting them
// used the budget up.
func (b *budget) settle(lin *lineage, ok bool) (over bool) {
	if ok && lin.poisons > 0 && lin.succeeded > 0 {
		b.charged = max(b.charged-min(lin.charged, 2), 0)
		return false
	}
	if lin.held == 0 {
		return false
	}
	b.charged += lin.held
	return b.over()
}
