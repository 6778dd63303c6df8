package plugins

import (
	"fmt"
	"math/bits"
	"slices"
	"strings"
	"testing"
)

func TestAfterFailure(t *testing.T) {
	tests := []struct {
		name     string
		in       tries
		timedOut bool
		want     action
		out      tries // the counts afterwards
	}{
		{"batch crashed sharing its instance: a bystander perhaps", tries{size: 8}, false, retry, tries{size: 8, shared: 1}},
		{"single record crashed sharing: retried alone", tries{size: 1}, false, retry, tries{size: 1, shared: 1}},
		{"batch crashed alone after a shared crash: bisected", tries{size: 8, shared: 1}, false, bisect, tries{size: 8, shared: 1, failures: 1}},
		{"single record crashed alone after a shared crash: poison", tries{size: 1, shared: 1}, false, poison, tries{size: 1, shared: 1, failures: 1}},
		{"half split off crashed alone: bisected at once", tries{size: 4, depth: 1}, false, bisect, tries{size: 4, depth: 1, failures: 1}},
		{"single record split off crashed once: sent again", tries{size: 1, depth: 3}, false, retry, tries{size: 1, depth: 3, failures: 1}},
		{"single record split off crashed twice: poison", tries{size: 1, depth: 3, failures: 1}, false, poison, tries{size: 1, depth: 3, failures: 2}},
		{"batch timed out: hang isolation, counts unchanged", tries{size: 8}, true, isolate, tries{size: 8}},
		{"half timed out: hang isolation", tries{size: 3, depth: 2, failures: 1}, true, isolate, tries{size: 3, depth: 2, failures: 1}},
		{"single record timed out sharing: retried alone", tries{size: 1}, true, retry, tries{size: 1, shared: 1}},
		{"single record timed out twice: poison", tries{size: 1, depth: 1, failures: 1}, true, poison, tries{size: 1, depth: 1, failures: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, out := afterFailure(tt.in, tt.timedOut)
			if got != tt.want || out != tt.out {
				t.Errorf("afterFailure(%+v, %v) = %v, %+v; want %v, %+v", tt.in, tt.timedOut, got, out, tt.want, tt.out)
			}
		})
	}
}

func TestAfterFailureNeverBlamesOneSharedFailure(t *testing.T) {
	// Whatever the part, its first failure while sharing an instance is
	// retried: it may have been another batch's crash.
	for size := 1; size <= 5; size++ {
		for _, timedOut := range []bool{false, true} {
			got, _ := afterFailure(tries{size: size}, timedOut)
			if got == poison || got == bisect {
				t.Errorf("size %d, timed out %v: %v after one shared failure", size, timedOut, got)
			}
		}
	}
}

func TestAfterFanOut(t *testing.T) {
	tests := []struct {
		name              string
		waiting, unsent   []int
		failed, timedOut  bool
		poison            int
		todo, bisectThese []int
	}{
		{"all answered", nil, nil, false, false, -1, nil, nil},
		{"instance died idle: the rest is sent again", nil, []int{5, 6}, true, false, -1, []int{5, 6}, nil},
		{"timeout: the first waiting hung", []int{2, 3}, []int{4, 5}, true, true, 2, []int{3, 4, 5}, nil},
		{"timeout with one waiting", []int{7}, nil, true, true, 7, nil, nil},
		{"crash: any record in flight may be it", []int{2, 3}, []int{4}, true, false, -1, nil, []int{2, 3, 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			waiting := slices.Clone(tt.waiting)
			got := afterFanOut(waiting, tt.unsent, tt.failed, tt.timedOut)
			if got.poison != tt.poison || !slices.Equal(got.todo, tt.todo) || !slices.Equal(got.bisect, tt.bisectThese) {
				t.Errorf("got %+v; want poison %d, todo %v, bisect %v", got, tt.poison, tt.todo, tt.bisectThese)
			}
			if !slices.Equal(waiting, tt.waiting) {
				t.Errorf("waiting changed to %v", waiting)
			}
		})
	}
}

func TestBudget(t *testing.T) {
	t.Run("restarts outside bisection are counted", func(t *testing.T) {
		b := budget{max: 2}
		lin := &lineage{size: 8}
		if b.charge(lin) || b.charge(nil) || !b.charge(lin) {
			t.Fatalf("the third restart should use up max_restarts 2: %+v", b)
		}
		if lin.charged != 2 || lin.held != 0 {
			t.Errorf("lineage %+v", lin)
		}
	})
	t.Run("restarts during bisection are held, then forgiven with the first two", func(t *testing.T) {
		b := budget{max: 2}
		lin := &lineage{size: 8}
		b.charge(lin)
		b.charge(lin)
		lin.bisecting = true
		for range 4 { // depth 4 + 1 may be held before any record succeeded
			if b.charge(lin) {
				t.Fatalf("held restart counted: %+v %+v", b, lin)
			}
		}
		if lin.held != 4 || b.charged != 2 {
			t.Fatalf("budget %+v, lineage %+v", b, lin)
		}
		lin.poisons, lin.succeeded = 1, 7
		if b.settle(lin, true) || b.charged != 0 {
			t.Errorf("settled: budget %+v", b)
		}
	})
	t.Run("held restarts are counted when nothing succeeded", func(t *testing.T) {
		b := budget{max: 2}
		lin := &lineage{size: 2, bisecting: true, poisons: 2}
		for lin.canHold() {
			b.charge(lin)
		}
		if !b.settle(lin, true) || b.charged != lin.held {
			t.Errorf("budget %+v, lineage %+v: want the held restarts counted and over", b, lin)
		}
	})
	t.Run("bisection holds at most its depth plus one before a success", func(t *testing.T) {
		lin := &lineage{size: 1000, bisecting: true}
		n := 0
		for ; lin.canHold(); n++ {
			lin.held++
		}
		if n != 11 { // bits.Len(1000) = 10, plus one
			t.Errorf("held %d", n)
		}
	})
}

func TestBlame(t *testing.T) {
	plain := &lineage{failures: 1}
	tried := &lineage{failures: 3}
	bisecting := &lineage{bisecting: true}
	tests := []struct {
		lin      *lineage
		suspects []*lineage
		want     *lineage
	}{
		{plain, nil, plain},
		{nil, nil, nil},
		{nil, []*lineage{nil, plain}, plain},
		{plain, []*lineage{tried}, tried},
		{tried, []*lineage{plain}, tried},
		{tried, []*lineage{bisecting, plain}, bisecting},
		{bisecting, []*lineage{tried}, bisecting},
	}
	for i, tt := range tests {
		if got := blame(tt.lin, tt.suspects); got != tt.want {
			t.Errorf("%d: blame = %+v, want %+v", i, got, tt.want)
		}
	}
}

// simRecord is how a simulated plugin treats a record.
type simRecord byte

const (
	simOK    simRecord = '.'
	simCrash simRecord = 'c' // the plugin crashes on it
	simHang  simRecord = 'h' // the plugin hangs on it
)

// simRun carries out the pool's decisions (attempt, isolateHang, replace,
// settle) for one batch sent to a plugin that answers in order,
// plugin.in_flight inFlight, with no other batch in flight. It returns
// each record's outcome ('.' answered, 'p' poison), the timeouts and
// crashes it cost, and the budget afterwards.
func simRun(batch string, inFlight, maxRestarts int) (outcome string, timeouts, crashes int, b budget, over bool) {
	out := []byte(batch)
	lin := &lineage{size: len(batch)}
	b = budget{max: maxRestarts}
	fail := func(r simRecord) {
		if r == simHang {
			timeouts++
		} else {
			crashes++
		}
		lin.failures++
		over = b.charge(blame(lin, nil)) || over
	}
	firstBad := func(idx []int) int {
		return slices.IndexFunc(idx, func(i int) bool { return simRecord(batch[i]) != simOK })
	}
	var attempt func(idx []int, depth int)
	isolateHang := func(idx []int, depth int) {
		lin.bisecting = true
		for todo := idx; len(todo) > 0; {
			k := firstBad(todo)
			if k < 0 {
				for _, i := range todo {
					out[i] = '.'
				}
				lin.succeeded += len(todo)
				return
			}
			for _, i := range todo[:k] {
				out[i] = '.'
			}
			lin.succeeded += k
			sent := min(k+inFlight, len(todo))
			fail(simRecord(batch[todo[k]]))
			next := afterFanOut(todo[k:sent], todo[sent:], true, simRecord(batch[todo[k]]) == simHang)
			if next.bisect != nil {
				attempt(next.bisect, depth+1)
				return
			}
			if next.poison >= 0 {
				out[next.poison] = 'p'
				lin.poisons++
			}
			todo = next.todo
		}
	}
	attempt = func(idx []int, depth int) {
		t := tries{size: len(idx), depth: depth}
		for {
			k := firstBad(idx)
			if k < 0 {
				for _, i := range idx {
					out[i] = '.'
				}
				if lin.bisecting {
					lin.succeeded += len(idx)
				}
				return
			}
			bad := simRecord(batch[idx[k]])
			// In order, the first bad record decides: a crash, or a hang.
			fail(bad)
			var next action
			switch next, t = afterFailure(t, bad == simHang); next {
			case isolate:
				isolateHang(idx, depth)
				return
			case poison:
				out[idx[0]] = 'p'
				lin.poisons++
				return
			case bisect:
				lin.bisecting = true
				mid := len(idx) / 2
				attempt(idx[:mid], depth+1)
				attempt(idx[mid:], depth+1)
				return
			}
		}
	}
	all := make([]int, len(batch))
	for i := range all {
		all[i] = i
	}
	attempt(all, 0)
	over = b.settle(lin, true) || over
	return string(out), timeouts, crashes, b, over
}

func TestSimulatedBatches(t *testing.T) {
	tests := []struct {
		batch             string
		inFlight          int
		outcome           string
		timeouts, crashes int
		charged           int // after settling
	}{
		// A hung record costs 2 timeouts (its batch's and its own), each
		// further one in the batch one more (see isolateHang and
		// TestHangCost, which runs the same with a real plugin).
		{"...h....", 2, "...p....", 2, 0, 0},
		{".h..h...", 2, ".p..p...", 3, 0, 0},
		{".h..h...", 1, ".p..p...", 3, 0, 0},
		{"hhhh", 2, "pppp", 5, 0, 5}, // nothing classified: counted
		// A lone record: the first timeout may be a bystander's, so it
		// is sent again alone; nothing else was classified, so its
		// restarts are not forgiven.
		{"h", 2, "p", 2, 0, 2},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/in_flight_%d", tt.batch, tt.inFlight), func(t *testing.T) {
			outcome, timeouts, crashes, b, _ := simRun(tt.batch, tt.inFlight, 100)
			if outcome != tt.outcome || timeouts != tt.timeouts || crashes != tt.crashes || b.charged != tt.charged {
				t.Errorf("outcome %q, %d timeouts, %d crashes, %d restarts counted; want %q, %d, %d, %d",
					outcome, timeouts, crashes, b.charged, tt.outcome, tt.timeouts, tt.crashes, tt.charged)
			}
		})
	}
}

func TestSimulatedPoisonIsFoundAndForgiven(t *testing.T) {
	// A record that crashes the plugin, anywhere in a batch of any size,
	// is isolated by bisection, every other record is classified, and
	// the restarts it cost are not counted: a run with max_restarts 2 (the
	// two failures of the whole batch that start the bisection) goes on.
	for size := 1; size <= 40; size++ {
		for at := range size {
			batch := []byte(strings.Repeat(".", size))
			batch[at] = byte(simCrash)
			want := []byte(strings.Repeat(".", size))
			want[at] = 'p'
			outcome, timeouts, crashes, b, over := simRun(string(batch), 2, 2)
			if outcome != string(want) || timeouts != 0 || over || (size > 1 && b.charged != 0) {
				t.Fatalf("%s: outcome %q, %d timeouts, %d crashes, budget %+v, over %v", batch, outcome, timeouts, crashes, b, over)
			}
			// Bisection costs at most two crashes per level, and two
			// for the whole batch.
			if limit := 2*bits.Len(uint(size)) + 2; crashes > limit {
				t.Errorf("%s: %d crashes, more than %d", batch, crashes, limit)
			}
		}
	}
}

func TestSimulatedPluginFailingOnEverything(t *testing.T) {
	// A plugin that crashes on every record uses the budget up: the
	// held restarts are counted when nothing was classified.
	_, _, crashes, b, over := simRun(strings.Repeat("c", 16), 2, 5)
	if !over || b.charged <= 5 {
		t.Errorf("%d crashes, budget %+v, over %v: want max_restarts used up", crashes, b, over)
	}
}
