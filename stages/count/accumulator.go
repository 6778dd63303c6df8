package count

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/sluicehq/sluice/core"
	"github.com/sluicehq/sluice/stages/internal/recexpr"
	"github.com/sluicehq/sluice/stages/internal/xmlview"
)

// accumulator is one worker's counts. Keys are tuples of strings encoded
// in one string, each part preceded by its length as a uvarint, so that
// any bytes may appear in a part and a tuple is one map key.
type accumulator struct {
	s      *Stage
	ev     *recexpr.Evaluator
	groups counter // key tuple → records
	attrs  counter // key tuple, element, attribute, value → occurrences
	buf    []byte  // the key being built; reused
}

// Add counts one record. Every expression and the XML parse run before
// anything is counted, so a record that fails adds nothing.
func (a *accumulator) Add(ctx context.Context, r *core.Record) error {
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
		a.groups.add(a.buf, 1)
		return nil
	}
	t, err := a.ev.Tree("attributes")
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
		e := t.Element(i)
		if len(e.Attrs) == 0 {
			continue
		}
		a.buf = appendName(a.buf[:prefix], e.Name)
		elem := len(a.buf)
		for _, at := range e.Attrs {
			a.buf = appendName(a.buf[:elem], at.Name)
			a.buf = appendPart(a.buf, at.Value)
			a.attrs.add(a.buf, 1)
		}
	}
	a.buf = a.buf[:prefix]
}

// Merge adds other's counts to a's.
func (a *accumulator) Merge(other core.Accumulator) error {
	o, ok := other.(*accumulator)
	if !ok || o.s != a.s {
		return fmt.Errorf("count: cannot merge %T into an accumulator of another stage", other)
	}
	a.groups.merge(&o.groups)
	a.attrs.merge(&o.attrs)
	return nil
}

// counter maps encoded keys to counts. A key already present is counted
// without allocating: the lookup m[string(b)] does not copy b, and the
// count lives in a slice rather than in the map, so no map assignment
// (which would copy the key) is needed either.
type counter struct {
	index  map[string]int
	counts []int64
}

func newCounter() counter { return counter{index: map[string]int{}} }

func (c *counter) add(key []byte, n int64) {
	if i, ok := c.index[string(key)]; ok {
		c.counts[i] += n
		return
	}
	c.index[string(key)] = len(c.counts)
	c.counts = append(c.counts, n)
}

// addString is add for a key that is already a string (no copy is made).
func (c *counter) addString(key string, n int64) {
	if i, ok := c.index[key]; ok {
		c.counts[i] += n
		return
	}
	c.index[key] = len(c.counts)
	c.counts = append(c.counts, n)
}

func (c *counter) merge(o *counter) {
	for k, i := range o.index {
		c.addString(k, o.counts[i])
	}
}

func appendPart(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// appendName appends a name in Clark notation as one part.
func appendName(b []byte, n xmlview.Name) []byte {
	size := len(n.Local)
	if n.Space != "" {
		size += len(n.Space) + 2
	}
	b = binary.AppendUvarint(b, uint64(size))
	return n.AppendClark(b)
}

// splitParts decodes an encoded key into dst (which must have room for
// every part); the parts share the key's memory.
func splitParts(key string, dst []string) []string {
	dst = dst[:0]
	for len(key) > 0 {
		n, w := uvarint(key)
		key = key[w:]
		dst = append(dst, key[:n])
		key = key[n:]
	}
	return dst
}

// uvarint decodes a length written by binary.AppendUvarint.
func uvarint(s string) (n uint64, width int) {
	var shift uint
	for i := 0; i < len(s); i++ {
		b := s[i]
		if b < 0x80 {
			return n | uint64(b)<<shift, i + 1
		}
		n |= uint64(b&0x7f) << shift
		shift += 7
	}
	panic("count: truncated key") // keys are only made by appendPart
}
