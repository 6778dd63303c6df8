package split

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/sluicehq/sluice/stage"
	"github.com/sluicehq/sluice/stages/split/internal/scan"
	"github.com/sluicehq/sluice/stages/split/internal/xmlsplit"
)

// Handoff is the exact state of a scan of one file at a place between
// records: the place (the first record, or for XML the first markup
// outside records, at or after a range's end), its line, how many records
// came before, and what the rest of the file's scan needs from before it
// (the open XML elements, their namespace declarations and the DOCTYPE's
// entities; the CSV header). The zero Handoff is the start of a file. A
// Handoff encodes to JSON (a few hundred bytes), so that the ranges of one
// file can be split on other machines: see SplitRange.
type Handoff struct {
	h handoff
}

// Offset is the byte offset of the place in the file.
func (h Handoff) Offset() int64 { return h.h.at.Offset }

// EOF reports whether the scan reached the end of the file: no range
// after it has records.
func (h Handoff) EOF() bool { return h.h.eof }

// Records is how many records the file has before the place.
func (h Handoff) Records() int64 { return h.h.ord }

type handoffJSON struct {
	Offset  int64             `json:"offset"`
	Line    int64             `json:"line"`
	LastNL  int64             `json:"last_nl"`
	Records int64             `json:"records"`
	EOF     bool              `json:"eof,omitempty"`
	XML     *xmlsplit.Context `json:"xml,omitempty"`
	Header  []string          `json:"header,omitempty"`
}

// MarshalJSON encodes the handoff.
func (h Handoff) MarshalJSON() ([]byte, error) {
	j := handoffJSON{Offset: h.h.at.Offset, Line: h.h.at.Line, LastNL: h.h.at.LastNL, Records: h.h.ord, EOF: h.h.eof, XML: h.h.xml}
	if h.h.hdr != nil {
		j.Header = h.h.hdr.Names
	}
	return json.Marshal(j)
}

// UnmarshalJSON decodes what MarshalJSON encoded.
func (h *Handoff) UnmarshalJSON(b []byte) error {
	var j handoffJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	h.h = handoff{eof: j.EOF, at: scan.Origin{Offset: j.Offset, Line: j.Line, LastNL: j.LastNL}, ord: j.Records, xml: j.XML}
	if j.Header != nil {
		h.h.hdr = stage.NewHeader(j.Header)
	}
	return nil
}

// SplitRange splits, exactly, the records of the file at path that start
// between from's place and end: from the file's start when from is the
// zero Handoff, and to the end of the file when end is 0. It emits them to
// out with the positions, ordinals and errors a scan of the whole file
// gives, and returns the handoff at end, from which the next range's
// SplitRange goes on. Chained from the zero Handoff over any cuts of a
// file, the calls emit exactly what Process emits for the whole file.
//
// It is the entry point for executors that split one file's ranges
// elsewhere (a worker on another machine, given the handoff as JSON).
// Within one process, Partition does better: it splits every range at once
// and only checks each against the handoff before it. The file must be
// uncompressed; SplitRange reads it from from's place on, up to the first
// record at or after end, so a range costs its own bytes and the rest of
// the record that crosses its end.
func (s *Stage) SplitRange(ctx context.Context, path string, from Handoff, end int64, out stage.Emitter) (Handoff, error) {
	if from.h.eof {
		return from, nil
	}
	if end != 0 && from.h.at.Offset >= end {
		return from, nil
	}
	start := from.h == (handoff{})
	if !start && s.format == formatXML && from.h.xml == nil {
		return Handoff{}, fmt.Errorf("split %s: the handoff at byte %d has no XML context: it was not made by an XML split", path, from.h.at.Offset)
	}
	size := 256 << 10
	if end != 0 {
		size = int(min(int64(size), max(4<<10, 2*(end-from.h.at.Offset))))
	}
	h, err := s.scanRange(ctx, path, from.h, start, end, size, nil, out)
	return Handoff{h}, err
}
