package xmlsplit

import (
	"bytes"
	"cmp"
	"encoding/json"
	"io"
	"slices"
	"strings"

	"github.com/sluicehq/sluice/stages/split/internal/scan"
)

// Range makes a Splitter scan one byte range of a document rather than the
// whole of it, so that several Splitters can split one file at once.
//
// The Splitter's reader starts at Origin.Offset of the file, which is the
// '<' of a piece of markup outside records, with Context in force there
// (the open elements, their namespace declarations and the DOCTYPE's
// entities); with Context nil it starts at the beginning of the document
// and Origin is ignored. It emits the records that start before End and stops at the
// first markup outside records at or after End (or at the end of the
// document when End is 0); Stop then says where and in which context the
// next range's scan takes over. Run from an exact origin, a sequence of
// such scans emits exactly the records, positions and errors of one scan
// of the whole file.
//
// A Speculative scan starts from a guess instead: its reader starts at a
// cut, it skips to the first '<', takes Context as a guess of the open
// elements, and ignores end tags that do not match them (the cut may fall
// inside a record). It records, at every markup outside records, where it
// was and in which context (Syncs). Once the scan before it has stopped at
// an exact position, Verify tells whether the speculative scan passed
// through that position in the same state, in which case its records from
// there on are exactly those of an exact scan.
type Range struct {
	Origin      scan.Origin
	Context     *Context
	End         int64
	Speculative bool
}

// Context is the state of a document scan between two pieces of markup
// outside records: what a scan of the rest of the file needs from before.
// It is immutable once made.
type Context struct {
	names     []byte
	ends      []int
	ns        [][]nsDecl // the frames of the scope, shared and immutable
	pathDepth int
	seenRoot  bool
	ents      *entities
}

// Equal reports whether c and d are the same state, entities included.
func (c *Context) Equal(d *Context) bool {
	if c == d {
		return true
	}
	if c == nil || d == nil {
		return false
	}
	return bytes.Equal(c.names, d.names) && slices.Equal(c.ends, d.ends) && c.pathDepth == d.pathDepth &&
		c.seenRoot == d.seenRoot && c.ents.equal(d.ents) && slices.EqualFunc(flatNS(c.ns), flatNS(d.ns), func(a, b nsDecl) bool {
		return a.depth == b.depth && a.prefix == b.prefix && a.uri == b.uri && bytes.Equal(a.attr, b.attr)
	})
}

// Sync is a place a speculative scan passed through: the '<' of markup
// outside records, its line counted from the scan's origin, and the
// context the scan had there.
type Sync struct {
	Offset  int64
	Line    int64
	Context *Context
}

// Context returns the scan's current context. Between records (after Next
// returned a record, or before the first call) that is the context of the
// record's ancestors.
func (s *Splitter) Context() *Context {
	if s.ctx != nil && s.ctxGen == s.snapGen {
		return s.ctx
	}
	c := &Context{
		names:     slices.Clone(s.names),
		ends:      slices.Clone(s.ends),
		ns:        slices.Clone(s.frames),
		pathDepth: s.pathDepth,
		seenRoot:  s.seenRoot,
		ents:      s.ents,
	}
	s.ctx, s.snapGen = c, s.ctxGen
	return c
}

// Stop returns where a range scan stopped (the first markup outside
// records at or after Range.End) with the context there, once Next has
// returned io.EOF for that reason; ok is false otherwise (the end of the
// document, or not a range scan).
func (s *Splitter) Stop() (at scan.Origin, ctx *Context, ok bool) {
	return s.stopAt, s.stopCtx, s.stopped
}

// Verify reports whether a speculative scan passed through the markup at
// at.Offset in context ctx, and did nothing there or later that an exact
// scan would not (ignore an end tag, stop at an error); when it did, its
// records from at.Offset on are exact once their lines are moved by
// lineDelta. The scan must have ended (Next returned io.EOF).
func (s *Splitter) Verify(at scan.Origin, ctx *Context) (lineDelta int64, ok bool) {
	if s.err != io.EOF {
		return 0, false
	}
	return s.passed(at, ctx)
}

// Confirm is Verify for a speculative scan still under way: at must be at
// or before the start of the record Next returned last. If the scan passed
// through at in context ctx without ignoring an end tag since, Confirm
// makes the rest of the scan exact (strict about end tags, with columns
// counted from at.LastNL when no line end has been met yet) and returns
// what its lines are to be moved by. Errors it returns later are exact
// but for that move.
func (s *Splitter) Confirm(at scan.Origin, ctx *Context) (lineDelta int64, ok bool) {
	if s.err != nil {
		return 0, false
	}
	if lineDelta, ok = s.passed(at, ctx); ok {
		s.spec, s.syncs = false, nil
		s.w.AssumeLastNL(at.LastNL)
	}
	return lineDelta, ok
}

// passed reports whether the speculative scan passed through the markup
// at at.Offset in context ctx and ignored no end tag from there on, and by
// how much its lines are to be moved.
func (s *Splitter) passed(at scan.Origin, ctx *Context) (lineDelta int64, ok bool) {
	if s.lenient >= at.Offset {
		return 0, false
	}
	i, found := slices.BinarySearchFunc(s.syncs, at.Offset, func(y Sync, off int64) int { return cmp.Compare(y.Offset, off) })
	if !found || !s.syncs[i].Context.Equal(ctx) {
		return 0, false
	}
	return at.Line - s.syncs[i].Line, true
}

// resume sets a new Splitter up for a range scan.
func (s *Splitter) resume(r *Range) {
	s.rng = r
	s.lenient = -1
	c := r.Context
	if c == nil {
		return // the first range: the document's start, prolog included
	}
	s.started = true
	s.w.Resume(r.Origin)
	s.spec, s.skipText = r.Speculative, r.Speculative
	s.names = slices.Clone(c.names)
	s.ends = slices.Clone(c.ends)
	s.setNS(c.ns)
	s.pathDepth = c.pathDepth
	s.seenRoot = c.seenRoot
	if c.ents != nil {
		s.ents = c.ents.clone(s.max)
	}
}

// atStop reports whether markup at buffer index lt is where a range scan
// stops, and if so records the stop.
func (s *Splitter) atStop(lt int) bool {
	off := s.w.Base + int64(lt)
	if s.rng.End == 0 || off < s.rng.End {
		if s.spec {
			s.syncs = append(s.syncs, Sync{Offset: off, Line: s.w.Line(off), Context: s.Context()})
		}
		return false
	}
	s.stopped = true
	s.stopAt = s.w.Origin(off)
	s.stopCtx = s.Context()
	return true
}

// equal reports whether t and u hold the same declarations.
func (t *entities) equal(u *entities) bool {
	if t == u {
		return true
	}
	if t == nil || u == nil || t.parsed != u.parsed || t.external != u.external || len(t.m) != len(u.m) || !t.equalDTD(u) {
		return false
	}
	for k, e := range t.m {
		f := u.m[k]
		if f == nil || !bytes.Equal(e.value, f.value) || e.external != f.external || e.bad != f.bad {
			return false
		}
	}
	return true
}

// clone returns a copy of t with the same declarations and no cached
// expansions, for a splitter of its own (expansions are cached in place).
func (t *entities) clone(max int) *entities {
	c := &entities{parsed: t.parsed, external: t.external, max: max, m: make(map[string]*entity, len(t.m)),
		atts: t.atts, peRefs: t.peRefs, skipUndeclared: t.skipUndeclared}
	for k, e := range t.m {
		c.m[k] = &entity{name: e.name, value: e.value, external: e.external, bad: e.bad}
	}
	return c
}

// contextJSON is the encoded form of a Context.
type contextJSON struct {
	Names     []string     `json:"names,omitempty"`
	NS        []nsJSON     `json:"ns,omitempty"`
	PathDepth int          `json:"path_depth,omitempty"`
	SeenRoot  bool         `json:"seen_root,omitempty"`
	Entities  *entriesJSON `json:"entities,omitempty"`
}

type nsJSON struct {
	Depth  int    `json:"depth"`
	Prefix string `json:"prefix,omitempty"`
	URI    string `json:"uri"`
	Attr   string `json:"attr"`
}

type entriesJSON struct {
	Parsed   bool         `json:"parsed,omitempty"`
	External bool         `json:"external,omitempty"`
	Decls    []entityJSON `json:"decls,omitempty"`
	dtdJSON
}

type entityJSON struct {
	Name     string `json:"name"`
	Value    string `json:"value"`
	External bool   `json:"external,omitempty"`
	Bad      string `json:"bad,omitempty"`
}

// MarshalJSON encodes the context, so that a range's scan can run on
// another machine.
func (c *Context) MarshalJSON() ([]byte, error) {
	j := contextJSON{PathDepth: c.pathDepth, SeenRoot: c.seenRoot}
	start := 0
	for _, e := range c.ends {
		j.Names = append(j.Names, string(c.names[start:e]))
		start = e
	}
	for _, d := range flatNS(c.ns) {
		j.NS = append(j.NS, nsJSON{Depth: d.depth, Prefix: d.prefix, URI: d.uri, Attr: string(d.attr)})
	}
	if t := c.ents; t != nil {
		j.Entities = &entriesJSON{Parsed: t.parsed, External: t.external}
		for _, e := range t.m {
			j.Entities.Decls = append(j.Entities.Decls, entityJSON{Name: e.name, Value: string(e.value), External: e.external, Bad: e.bad})
		}
		slices.SortFunc(j.Entities.Decls, func(a, b entityJSON) int { return strings.Compare(a.Name, b.Name) })
		j.Entities.dtdJSON = t.dtdJSON()
	}
	return json.Marshal(j)
}

// UnmarshalJSON decodes what MarshalJSON encoded. (The bound on entity
// expansion is the resuming Splitter's max_record_bytes.)
func (c *Context) UnmarshalJSON(b []byte) error {
	var j contextJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*c = Context{pathDepth: j.PathDepth, seenRoot: j.SeenRoot}
	for _, n := range j.Names {
		c.names = append(c.names, n...)
		c.ends = append(c.ends, len(c.names))
	}
	var ns []nsDecl
	for _, d := range j.NS {
		ns = append(ns, nsDecl{depth: d.Depth, prefix: d.Prefix, uri: d.URI, attr: []byte(d.Attr)})
	}
	c.ns = framesOf(ns)
	if e := j.Entities; e != nil {
		c.ents = &entities{parsed: e.Parsed, external: e.External, m: map[string]*entity{}}
		c.ents.setDTD(e.dtdJSON)
		for _, d := range e.Decls {
			c.ents.m[d.Name] = &entity{name: d.Name, value: []byte(d.Value), external: d.External, bad: d.Bad}
		}
	}
	return nil
}
