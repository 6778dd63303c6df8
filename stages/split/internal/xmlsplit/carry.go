package xmlsplit

import (
	"slices"
	"unicode/utf8"
)

// CarryAll is the size, in bytes, of the namespace declarations in scope
// from a record's ancestors up to which every one of them is added to the
// record's start tag. Above it a record carries only the default
// namespace's declaration and those of the prefixes it uses: a prefix
// followed by ':' anywhere in the record (element and attribute names,
// attribute values such as xsi:type="p:t", text), character references
// decoded. So a document declaring 50,000 namespaces on its root does not
// copy them into each of its records, while every name and QName in a
// record keeps its meaning. A query naming a prefix the record does not
// use finds nothing there (name the namespace as {uri}local instead).
const CarryAll = 4 << 10

// pushNS adds d, declared on an open element outside records, to the
// scope, and indexes it.
func (s *Splitter) pushNS(d nsDecl) {
	if s.nsIdx == nil {
		s.nsIdx = map[string]int{}
	}
	d.shadow = -1
	if j, ok := s.nsIdx[d.prefix]; ok {
		d.shadow = j
		s.nsBytes -= len(s.ns[j].attr)
	}
	s.ns = append(s.ns, d)
	s.nsIdx[d.prefix] = len(s.ns) - 1
	s.nsBytes += len(d.attr)
	s.nsGen++
}

// truncNS drops the declarations from index n on, restoring those they
// hid.
func (s *Splitter) truncNS(n int) {
	for i := len(s.ns) - 1; i >= n; i-- {
		d := &s.ns[i]
		s.nsBytes -= len(d.attr)
		if d.shadow >= 0 {
			s.nsIdx[d.prefix] = d.shadow
			s.nsBytes += len(s.ns[d.shadow].attr)
		} else {
			delete(s.nsIdx, d.prefix)
		}
	}
	total := len(s.ns)
	for len(s.frames) > 0 && total > n {
		total -= len(s.frames[len(s.frames)-1])
		s.frames = s.frames[:len(s.frames)-1]
	}
	s.ns = s.ns[:n]
	s.nsGen++
}

// sealFrame records the last k declarations pushed (those of one element)
// as a frame: a copy that Contexts share, never modified, so that a
// snapshot of the scope costs its depth, not its size.
func (s *Splitter) sealFrame(k int) {
	if k > 0 {
		s.frames = append(s.frames, slices.Clone(s.ns[len(s.ns)-k:]))
	}
}

// setNS replaces the scope by that of frames (a range scan resuming), and
// indexes it.
func (s *Splitter) setNS(frames [][]nsDecl) {
	s.ns, s.nsIdx, s.nsBytes = s.ns[:0], nil, 0
	for _, f := range frames {
		for _, d := range f {
			s.pushNS(d)
		}
	}
	s.frames = slices.Clone(frames)
}

// flatNS returns the declarations of frames in order.
func flatNS(frames [][]nsDecl) []nsDecl {
	var out []nsDecl
	for _, f := range frames {
		out = append(out, f...)
	}
	return out
}

// framesOf groups declarations in order into frames, one per depth.
func framesOf(ns []nsDecl) [][]nsDecl {
	var out [][]nsDecl
	for i := 0; i < len(ns); {
		j := i + 1
		for j < len(ns) && ns[j].depth == ns[i].depth {
			j++
		}
		out = append(out, ns[i:j:j])
		i = j
	}
	return out
}

// ownDecl reports whether the record's start tag declares prefix itself.
func (s *Splitter) ownDecl(prefix string) bool {
	if s.own != nil {
		_, ok := s.own[prefix]
		return ok
	}
	for _, td := range s.tagDecls {
		if td.prefix == prefix {
			return true
		}
	}
	return false
}

// indexOwn prepares ownDecl for the record starting: a set when its start
// tag has many declarations.
func (s *Splitter) indexOwn() {
	s.own = nil
	if len(s.tagDecls) > 8 {
		s.own = make(map[string]struct{}, len(s.tagDecls))
		for _, td := range s.tagDecls {
			s.own[td.prefix] = struct{}{}
		}
	}
}

// insertion returns the declarations to add to a record's start tag when
// the scope holds at most CarryAll bytes of them: those in scope from
// ancestors, innermost winning for a prefix, minus the prefixes the record
// declares itself, in document order. Larger scopes are handled by
// carryUsed once the record is read; insertion then returns nil.
func (s *Splitter) insertion() []byte {
	s.indexOwn()
	s.carryUsed = s.nsBytes > CarryAll
	if s.carryUsed {
		return nil
	}
	if len(s.tagDecls) == 0 && s.insGen == s.nsGen && s.insCache != nil {
		return s.insCache
	}
	s.picked = s.picked[:0]
	for prefix, i := range s.nsIdx {
		if !s.ownDecl(prefix) {
			s.picked = append(s.picked, i)
		}
	}
	out := s.render()
	if len(s.tagDecls) == 0 {
		s.insCache, s.insGen = out, s.nsGen
	}
	return out
}

// render returns the declarations s.picked indexes, in document order.
func (s *Splitter) render() []byte {
	slices.Sort(s.picked)
	out := []byte{}
	for _, i := range s.picked {
		out = append(out, s.ns[i].attr...)
	}
	return out
}

// usedInsertion returns the declarations to add to the start tag of a record
// whose bytes (entities expanded, no declaration added) are body, when the
// scope is larger than CarryAll: the default namespace's, and those of the
// prefixes body uses. Its cost is one pass over body.
func (s *Splitter) usedInsertion(body []byte) []byte {
	s.picked = s.picked[:0]
	s.pickGen++
	if len(s.nsUsed) < len(s.ns) {
		s.nsUsed = make([]uint32, len(s.ns)+len(s.ns)/4)
	}
	pick := func(prefix []byte) {
		i, ok := s.nsIdx[string(prefix)]
		if ok && s.nsUsed[i] != s.pickGen && !s.ownDecl(string(prefix)) {
			s.nsUsed[i] = s.pickGen
			s.picked = append(s.picked, i)
		}
	}
	pick(nil)
	prefixes(body, &s.run, pick)
	return s.render()
}

// prefixes calls visit with every run of name characters that a ':'
// follows in b, the text of a record: the prefixes its names and QName
// values may use. Character references are decoded (&#112;&#58;t is p:t);
// run is scratch space.
func prefixes(b []byte, run *[]byte, visit func([]byte)) {
	start := 0   // of the run in b, when *run is not in use
	dec := false // the run holds a decoded reference: it is in *run
	for i := 0; i < len(b); {
		c := b[i]
		switch {
		case c == ':':
			if dec {
				visit(*run)
			} else if start < i {
				visit(b[start:i])
			}
			dec, start = false, i+1
			i++
		case nameTab[c]&nameByte != 0:
			if dec {
				*run = append(*run, c)
			}
			i++
		case c == '&' && i+1 < len(b) && b[i+1] == '#':
			end, _, msg := parseRef(b, i)
			if msg != "" {
				dec, start = false, i+1
				i++
				continue
			}
			r := charRef(b[i+2 : end-1])
			switch {
			case r == ':':
				if dec {
					visit(*run)
				} else if start < i {
					visit(b[start:i])
				}
				dec, start = false, end
			case r >= 0x80 || nameTab[r]&nameByte != 0:
				if !dec {
					*run = append((*run)[:0], b[start:i]...)
					dec = true
				}
				*run = utf8.AppendRune(*run, r)
			default:
				dec, start = false, end
			}
			i = end
		default:
			dec, start = false, i+1
			i++
		}
	}
}

// expanded returns the record rec (at stream offset base) with its entity
// edits applied, in scratch space.
func (s *Splitter) expanded(rec []byte, base int64) []byte {
	out := s.body[:0]
	at := 0
	for _, e := range s.edits {
		o := int(e.off - base)
		out = append(out, rec[at:o]...)
		out = append(out, e.exp...)
		at = o + e.n
	}
	s.body = append(out, rec[at:]...)
	return s.body
}
