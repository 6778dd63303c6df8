package count

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"slices"
	"sort"

	"github.com/sourcegraph/conc/pool"
)

// The workers' counters are merged only as the totals are written: each
// counter's entries are sorted (all counters at once, a large one cut into
// pieces so that every core has a share), and the sorted runs are merged
// in key order, adding up the counts of a key that several workers
// counted. Nothing is looked up in a hash table at the end of the run, and
// a large output is cut into pieces that are merged and formatted on every
// core (see cut).

// item is an entry of a sorted run: the first 16 bytes of its key as two
// integers, compared before the key itself is read in the arena (far fewer
// cache misses when sorting a million keys), and the entry's offset.
type item struct{ hi, lo, off uint64 }

func makeItem(c *counter, off uint64) item {
	var b [16]byte
	copy(b[:], c.keyAt(off))
	return item{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:]), off}
}

// compareItems orders entry x of counter cx and entry y of counter cy by
// key.
func compareItems(cx *counter, x item, cy *counter, y item) int {
	if x.hi != y.hi {
		return cmp.Compare(x.hi, y.hi)
	}
	if x.lo != y.lo {
		return cmp.Compare(x.lo, y.lo)
	}
	return bytes.Compare(cx.keyAt(x.off), cy.keyAt(y.off))
}

// sortedRun is part of one counter's entries, sorted by key.
type sortedRun struct {
	c     *counter
	items []item
}

// minRun is the fewest entries a piece of a counter is sorted as on its
// own goroutine: below it, one goroutine sorts the counter. (A variable,
// as is pieceEntries, so that tests reach the parallel paths with small
// inputs.)
var minRun = 1 << 15

// sortRuns returns the entries of cs as sorted runs, sorted on up to procs
// goroutines at once. A counter is cut into pieces when it is large next
// to the total, so that the work is shared evenly.
func sortRuns(cs []*counter, procs int) []sortedRun {
	total := 0
	for _, c := range cs {
		total += c.len()
	}
	piece := max(minRun, (total+procs-1)/max(procs, 1))
	var runs []sortedRun
	for _, c := range cs {
		items := make([]item, 0, c.len())
		for off := uint64(0); off < uint64(len(c.arena)); off = c.next(off) {
			items = append(items, makeItem(c, off))
		}
		for len(items) > 0 {
			n := len(items)
			if n >= piece+piece/2 {
				n = piece
			}
			runs = append(runs, sortedRun{c: c, items: items[:n:n]})
			items = items[n:]
		}
	}
	sortRun := func(r sortedRun) {
		slices.SortFunc(r.items, func(x, y item) int { return compareItems(r.c, x, r.c, y) })
	}
	if len(runs) == 1 || procs <= 1 || total < minRun {
		for _, r := range runs {
			sortRun(r)
		}
		return runs
	}
	p := pool.New().WithMaxGoroutines(procs)
	for _, r := range runs {
		p.Go(func() { sortRun(r) })
	}
	p.Wait()
	return runs
}

// merger walks sorted runs in key order, yielding each distinct key once
// with the sum of its counts. Runs of distinct counters may share keys;
// the runs of one counter never do.
type merger struct {
	runs []sortedRun
	heap []int // the runs not yet exhausted, a binary min-heap by first key
}

func newMerger(runs []sortedRun) *merger {
	m := &merger{runs: runs}
	for i, r := range runs {
		if len(r.items) > 0 {
			m.heap = append(m.heap, i)
		}
	}
	for i := len(m.heap)/2 - 1; i >= 0; i-- {
		m.down(i)
	}
	return m
}

// next returns the next key's counter and entry (whose key is the key),
// the key's total count, and false once every run is exhausted.
func (m *merger) next() (c *counter, off uint64, n int64, ok bool) {
	if len(m.heap) == 0 {
		return nil, 0, 0, false
	}
	r := &m.runs[m.heap[0]]
	c, it := r.c, r.items[0]
	n = c.countAt(it.off)
	m.advance()
	for len(m.heap) > 0 {
		h := &m.runs[m.heap[0]]
		if compareItems(h.c, h.items[0], c, it) != 0 {
			break
		}
		n += h.c.countAt(h.items[0].off)
		m.advance()
	}
	return c, it.off, n, true
}

// mergeRuns calls f with every distinct key of runs in key order and its
// total count, until f fails or ctx is cancelled.
func mergeRuns(ctx context.Context, runs []sortedRun, f func(key []byte, n int64) error) error {
	m := newMerger(runs)
	for i := 0; ; i++ {
		if i%checkEvery == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		c, off, n, ok := m.next()
		if !ok {
			return nil
		}
		if err := f(c.keyAt(off), n); err != nil {
			return err
		}
	}
}

// advance drops the first entry of the run at the top of the heap.
func (m *merger) advance() {
	r := &m.runs[m.heap[0]]
	r.items = r.items[1:]
	if len(r.items) == 0 {
		last := len(m.heap) - 1
		m.heap[0] = m.heap[last]
		m.heap = m.heap[:last]
	}
	if len(m.heap) > 0 {
		m.down(0)
	}
}

func (m *merger) less(i, j int) bool {
	a, b := &m.runs[m.heap[i]], &m.runs[m.heap[j]]
	return compareItems(a.c, a.items[0], b.c, b.items[0]) < 0
}

func (m *merger) down(i int) {
	for {
		l := 2*i + 1
		if l >= len(m.heap) {
			return
		}
		if r := l + 1; r < len(m.heap) && m.less(r, l) {
			l = r
		}
		if !m.less(l, i) {
			return
		}
		m.heap[i], m.heap[l] = m.heap[l], m.heap[i]
		i = l
	}
}

// entries returns the number of entries left in runs.
func entries(runs []sortedRun) int {
	n := 0
	for _, r := range runs {
		n += len(r.items)
	}
	return n
}

// cut divides sorted runs into about parts pieces that merge
// independently and follow each other in key order: piece i holds, from
// every run, the entries whose keys lie between bound i-1 (included) and
// bound i (excluded), the bounds being keys taken at even steps of the
// largest run. Every key thus falls in exactly one piece, with all of its
// counts. Empty pieces are left out.
func cut(runs []sortedRun, parts int) [][]sortedRun {
	if parts <= 1 || len(runs) == 0 {
		return [][]sortedRun{runs}
	}
	largest := 0
	for i, r := range runs {
		if len(r.items) > len(runs[largest].items) {
			largest = i
		}
	}
	lr := runs[largest]
	start := make([]int, len(runs))
	var pieces [][]sortedRun
	for p := 1; p <= parts; p++ {
		end := make([]int, len(runs))
		for i, r := range runs {
			if p == parts {
				end[i] = len(r.items)
				continue
			}
			bound := lr.items[p*len(lr.items)/parts]
			end[i] = start[i] + sort.Search(len(r.items)-start[i], func(k int) bool {
				return compareItems(r.c, r.items[start[i]+k], lr.c, bound) >= 0
			})
		}
		var piece []sortedRun
		for i, r := range runs {
			if end[i] > start[i] {
				piece = append(piece, sortedRun{c: r.c, items: r.items[start[i]:end[i]]})
			}
		}
		if len(piece) > 0 {
			pieces = append(pieces, piece)
		}
		start = end
	}
	return pieces
}
