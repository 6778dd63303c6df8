package count

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"unsafe"

	"github.com/sluicehq/sluice/sdk/xmlview"
	"github.com/sluicehq/sluice/stage"
	"github.com/sluicehq/sluice/stages/internal/recexpr"
)

// accumulator is one worker's counts. Keys are tuples of strings encoded
// as one byte string (see appendPart).
type accumulator struct {
	s      *Stage
	ev     *recexpr.Evaluator
	groups counter   // key tuple → records
	attrs  attrTally // key tuple, element, attribute → value → occurrences
	elems  *elemCache
	buf    []byte    // the key being built; reused
	aggs   aggTable  // per group, the aggregates' states
	vals   aggValues // the current record's aggregate values; reused

	merged []*accumulator // merged into this one (Merge), counted apart
}

// Add counts one record. Every expression and the XML parse run before
// anything is counted, so a record that fails adds nothing.
func (a *accumulator) Add(ctx context.Context, r *stage.Record) error {
	a.ev.Reset(r)
	defer a.ev.Release()
	a.buf = a.buf[:0]
	for _, p := range a.s.by {
		v, err := a.ev.String(p)
		if err != nil {
			return err
		}
		a.buf = appendPart(a.buf, v)
	}
	if !a.s.attributes {
		if len(a.s.aggs) == 0 {
			a.groups.add(a.buf, 1)
			return nil
		}
		if err := evaluate(a.ev, a.s.aggs, r, &a.vals); err != nil {
			return err
		}
		a.groups.add(a.buf, 1)
		return add(a.s.aggs, a.aggs.group(a.buf, len(a.s.aggs)), &a.vals, a.buf, a.s.names)
	}
	t, err := a.ev.Elements("attributes")
	if err != nil {
		return err
	}
	a.groups.add(a.buf, 1)
	a.addTree(len(a.buf), t)
	return nil
}

// addTree counts every attribute of every element of t under the key
// prefix a.buf[:prefix]. It allocates nothing for keys already counted.
func (a *accumulator) addTree(prefix int, t *xmlview.Tree) {
	for i := range t.Len() {
		n := t.NumAttrs(i)
		if n == 0 {
			continue
		}
		name := t.Name(i)
		e := &a.elems[elemSlot(name)]
		hit := e.local == name.Local && e.space == name.Space && e.by == string(a.buf[:prefix])
		if !hit {
			e.space, e.local, e.by = strings.Clone(name.Space), strings.Clone(name.Local), string(a.buf[:prefix])
			e.attrs = e.attrs[:0]
		}
		elem := -1 // a.buf holds the element's key prefix once elem >= 0
		for j := range n {
			at := t.Attr(i, j)
			var vals *counter
			if j < len(e.attrs) && e.attrs[j].local == at.Name.Local && e.attrs[j].space == at.Name.Space {
				vals = e.attrs[j].vals
			} else {
				if a.s.filter.counts(name, at.Name) {
					if elem < 0 {
						a.buf = appendName(a.buf[:prefix], name)
						elem = len(a.buf)
					}
					a.buf = appendName(a.buf[:elem], at.Name)
					vals = a.attrs.values(a.buf)
				}
				ae := attrEntry{space: strings.Clone(at.Name.Space), local: strings.Clone(at.Name.Local), vals: vals}
				if j < len(e.attrs) {
					e.attrs[j] = ae
				} else {
					e.attrs = append(e.attrs, ae)
				}
			}
			if vals != nil { // nil: left out by exclude or only
				vals.add(bytesOf(at.Value), 1)
			}
		}
	}
	a.buf = a.buf[:prefix]
}

// elemCache remembers, for recently seen element names, the value counters
// of their attributes in the order they came, so that records shaped
// alike are counted without building and hashing a key prefix per
// attribute: a name comparison replaces the lookup. It is direct-mapped by
// a cheap hash of the element's name; every entry is checked in full
// before use.
type elemCache [256]struct {
	space, local, by string // copies, never the record's memory
	attrs            []attrEntry
}

type attrEntry struct {
	space, local string
	vals         *counter // nil for an attribute left out (exclude, only)
}

func elemSlot(n xmlview.Name) int {
	h := uint32(2166136261) ^ uint32(len(n.Space)) // FNV-1a over the local name
	for i := 0; i < len(n.Local); i++ {
		h = (h ^ uint32(n.Local[i])) * 16777619
	}
	return int(h % uint32(len(elemCache{})))
}

// Merge takes other's counts into a. It only keeps other: the counters
// are merged as they are written (Finish), in key order, with no lookups
// (merge.go). other must not be used afterwards.
func (a *accumulator) Merge(other stage.Accumulator) error {
	o, ok := other.(*accumulator)
	if !ok || o.s != a.s {
		return fmt.Errorf("count: cannot merge %T into an accumulator of another stage", other)
	}
	if o == a || slices.Contains(a.merged, o) {
		return fmt.Errorf("count: accumulator merged twice")
	}
	a.merged = append(a.merged, o)
	a.merged = append(a.merged, o.merged...)
	o.merged = nil
	return nil
}

// attrTally are the attribute counts: for each key prefix (the by keys,
// the element and the attribute, encoded), the counts of its values. Two
// levels keep the values of one attribute together: the few values of
// low-cardinality attributes (type, lang, role) stay in small tables that
// stay in the CPU's caches, apart from the millions of record ids, and a
// value is stored without its prefix.
type attrTally struct {
	prefixes counter    // prefix → index in vals, held as the count
	vals     []*counter // value → occurrences, per prefix
}

// values returns the value counter of prefix, making it if needed.
func (ac *attrTally) values(prefix []byte) *counter {
	off, found := ac.prefixes.find(prefix)
	if !found {
		ac.prefixes.addAt(off, int64(len(ac.vals)))
		ac.vals = append(ac.vals, &counter{})
	}
	return ac.vals[ac.prefixes.countAt(off)]
}

// distinct returns the number of distinct (prefix, value) keys.
func (ac *attrTally) distinct() int {
	n := 0
	for _, v := range ac.vals {
		n += v.len()
	}
	return n
}

// memory returns the bytes the counts hold.
func (ac *attrTally) memory() int {
	n := ac.prefixes.memory() + 8*cap(ac.vals)
	for _, v := range ac.vals {
		n += v.memory()
	}
	return n
}

// bytesOf returns s's bytes without copying them, for reading only (hashing
// and comparing a value, or copying it into a counter).
func bytesOf(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// appendName appends a name in Clark notation as one part.
func appendName(b []byte, n xmlview.Name) []byte {
	if n.Space != "" {
		b = append(b, '{')
		b = appendPartBytes(b, n.Space)
		b = append(b, '}')
	}
	return appendPart(b, n.Local)
}

// appendPartBytes appends s escaped as in a part, without terminating the
// part.
func appendPartBytes(b []byte, s string) []byte {
	b = appendPart(b, s)
	return b[:len(b)-2]
}
