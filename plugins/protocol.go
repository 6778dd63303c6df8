package plugins

import (
	"slices"
	"sync"

	"github.com/sluicehq/sluice/sdk/protocol"
	"github.com/sluicehq/sluice/stage"
)

// This file adapts the engine's records to the sdk module's protocol
// package, which knows nothing of core: the engine depends on the sdk
// module, never the reverse.

// encode builds the batch seq of records. Records of one file share their
// *stage.Header and so its Names slice, which protocol.Encode sends once per
// batch. The conversion goes through a pooled slice (protocol.Encode keeps
// no reference to it), so it costs no allocation once warm; no record data
// is copied.
func encode(seq uint64, records []stage.Record) *protocol.Batch {
	sp, _ := recordSlices.Get().(*[]protocol.Record)
	if sp == nil {
		sp = new([]protocol.Record)
	}
	out := slices.Grow((*sp)[:0], len(records))[:len(records)]
	for i := range records {
		r := &records[i]
		p := &out[i]
		p.Kind = kindOf(r.Type)
		p.Data = r.Data
		p.Header = nil
		if r.Header != nil {
			p.Header = r.Header.Names
		}
		p.Fields = r.Fields
		p.File = r.Source.File
		p.Offset = r.Source.Offset
		p.Line = r.Source.Line
		p.Ordinal = r.Source.Ordinal
		p.Category = r.Category
		p.Labels = r.Labels
	}
	b := protocol.Encode(seq, out)
	clear(out) // keep no record's data alive from the pool
	*sp = out[:0]
	recordSlices.Put(sp)
	return b
}

// recordSlices holds the conversion slices of encode.
var recordSlices sync.Pool

// kindOf is the wire kind of records of type t; types a plugin never
// classifies (files) are sent as unspecified.
func kindOf(t stage.Type) protocol.Kind {
	switch t {
	case stage.XML:
		return protocol.XML
	case stage.CSV:
		return protocol.CSV
	case stage.Line:
		return protocol.Line
	case stage.JSON:
		return protocol.JSON
	}
	return protocol.KindUnspecified
}

// accepted is the set of record types a plugin that described kinds
// accepts: every record type when it named none.
func accepted(kinds []protocol.Kind) stage.Type {
	var t stage.Type
	for _, k := range kinds {
		switch k {
		case protocol.XML:
			t |= stage.XML
		case protocol.CSV:
			t |= stage.CSV
		case protocol.Line:
			t |= stage.Line
		case protocol.JSON:
			t |= stage.JSON
		}
	}
	if t == stage.None {
		return stage.Records
	}
	return t
}
