package xmlview

import (
	"hash/maphash"
	"math/bits"
)

// The per-element work of a start tag must stay linear in the record's
// size whatever its shape: a record of 100,000 attributes, or 50,000
// namespace declarations with as many prefixed names, is read in
// milliseconds. Small elements and scopes (nearly all of them) keep a
// plain scan, cheaper than hashing; above the thresholds below, a hash
// index takes over.
const (
	// smallAttrs is the number of attributes of one element up to which
	// repeated attributes are found by comparing each with the previous.
	smallAttrs = 16
	// smallScope is the number of namespace declarations in scope up to
	// which a prefix is looked up by scanning them.
	smallScope = 16
)

// nsIndex maps each prefix in scope to its innermost binding in Parser.ns,
// once the scope outgrows smallScope.
type nsIndex struct {
	on bool
	m  map[string]int32
}

// reset empties the index for a new record. A map grown by a hostile
// record is dropped rather than kept (clearing it costs its size).
func (x *nsIndex) reset() {
	x.on = false
	if len(x.m) > 1024 {
		x.m = nil
	} else {
		clear(x.m)
	}
}

// pushNS appends b to the scope, keeping the index when it is on (and
// turning it on when the scope outgrows smallScope).
func (p *Parser) pushNS(b binding) {
	b.shadow = -1
	x := &p.nsIdx
	if !x.on && len(p.ns) >= smallScope {
		if x.m == nil {
			x.m = make(map[string]int32, 2*smallScope)
		}
		for i := range p.ns {
			p.indexBinding(int32(i))
		}
		x.on = true
	}
	p.ns = append(p.ns, b)
	if x.on {
		p.indexBinding(int32(len(p.ns) - 1))
	}
}

// indexBinding makes p.ns[i] the innermost binding of its prefix.
func (p *Parser) indexBinding(i int32) {
	b := &p.ns[i]
	if j, ok := p.nsIdx.m[b.prefix]; ok {
		b.shadow = j
	} else {
		b.shadow = -1
	}
	p.nsIdx.m[b.prefix] = i
}

// popNS drops the bindings from index n on (an element closed), restoring
// the ones they shadowed.
func (p *Parser) popNS(n int) {
	if p.nsIdx.on {
		for i := len(p.ns) - 1; i >= n; i-- {
			b := &p.ns[i]
			if b.shadow >= 0 {
				p.nsIdx.m[b.prefix] = b.shadow
			} else {
				delete(p.nsIdx.m, b.prefix)
			}
		}
	}
	p.ns = p.ns[:n]
}

// lookupNS returns the URI bound to prefix in the current scope.
func (p *Parser) lookupNS(prefix string) (span, bool) {
	if p.nsIdx.on {
		p.work++
		if i, ok := p.nsIdx.m[prefix]; ok {
			return p.ns[i].uriSpan, true
		}
		return span{}, false
	}
	for i := len(p.ns) - 1; i >= 0; i-- {
		p.work++
		if p.ns[i].prefix == prefix {
			return p.ns[i].uriSpan, true
		}
	}
	return span{}, false
}

// repeated reports whether the attribute an is already among the
// element's attributes t.attrs[attr0:]; n is the number of its attributes
// (declarations excluded), which picks the method: comparisons with each
// previous attribute for small elements, else an open-addressing table of
// the element's attributes, hashed by name, built as they come
// (about 50 ns an attribute).
func (p *Parser) repeated(an nameSpan, attr0, n int) bool {
	t := &p.tree
	if n <= smallAttrs {
		for _, prev := range t.attrs[attr0:] {
			p.work++
			if p.sameName(prev.name, an) {
				return true
			}
		}
		return false
	}
	x := &p.attrSet
	if len(t.attrs) == attr0 {
		// The element's first attribute: an empty table, at most half full.
		size := 1 << bits.Len(uint(2*n))
		if cap(x.slots) < size {
			x.slots = make([]int32, size)
		} else {
			x.slots = x.slots[:size]
			clear(x.slots)
		}
		if x.seed == (maphash.Seed{}) {
			x.seed = maphash.MakeSeed()
		}
	}
	mask := uint64(len(x.slots) - 1)
	// Both parts of the name are hashed: a:x, b:x, c:x... must not collide.
	h := maphash.String(x.seed, p.str(an.local)) ^ bits.RotateLeft64(maphash.String(x.seed, p.str(an.space)), 31)
	for i := h & mask; ; i = (i + 1) & mask {
		p.work++
		j := x.slots[i]
		if j == 0 {
			x.slots[i] = int32(len(t.attrs)) + 1 // the index an will have
			return false
		}
		if p.sameName(t.attrs[j-1].name, an) {
			return true
		}
	}
}

// sameName reports whether two resolved names are equal.
func (p *Parser) sameName(a, b nameSpan) bool {
	return a.local.n == b.local.n && (a.space == b.space || p.str(a.space) == p.str(b.space)) && p.str(a.local) == p.str(b.local)
}

// attrSet is the table of repeated: slots hold index+1 in Tree.attrs, 0
// when empty.
type attrSet struct {
	slots []int32
	seed  maphash.Seed
}

// reset drops a table grown by a hostile record.
func (x *attrSet) reset() {
	if cap(x.slots) > 1<<16 {
		x.slots = nil
	}
}
