package engine

import (
	"encoding/json"
	"github.com/sluicehq/sluice/stage"
	"sort"
	"sync/atomic"
	"time"
)

// Stats is a stage's stats. In JSON it is an object from name to value,
// in the order reported (help and kind are documentation, not data).
type Stats []stage.Stat

// MarshalJSON writes the stats as {"name": value, ...}.
func (s Stats) MarshalJSON() ([]byte, error) {
	b := []byte{'{'}
	for i, st := range s {
		if i > 0 {
			b = append(b, ',')
		}
		name, err := json.Marshal(st.Name)
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(st.Value)
		if err != nil {
			return nil, err
		}
		b = append(append(append(b, name...), ':'), v...)
	}
	return append(b, '}'), nil
}

// UnmarshalJSON reads an object from name to value; names come back
// sorted, with Help and Kind unset.
func (s *Stats) UnmarshalJSON(b []byte) error {
	var m map[string]float64
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	*s = (*s)[:0]
	for name, v := range m {
		*s = append(*s, stage.Stat{Name: name, Value: v})
	}
	sort.Slice(*s, func(i, j int) bool { return (*s)[i].Name < (*s)[j].Name })
	return nil
}

// Get returns the value of the stat called name and whether there is one.
func (s Stats) Get(name string) (float64, bool) {
	for _, st := range s {
		if st.Name == name {
			return st.Value, true
		}
	}
	return 0, false
}

// batchBounds are the upper bounds of the batch latency histogram buckets:
// 100µs to 1 minute in steps of about 2.5×, wide enough for a batch of one
// File record (a whole file split by one worker).
var batchBounds = [...]time.Duration{
	100 * time.Microsecond, 250 * time.Microsecond, 500 * time.Microsecond,
	time.Millisecond, 2500 * time.Microsecond, 5 * time.Millisecond,
	10 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond,
	100 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond,
	time.Second, 2500 * time.Millisecond, 5 * time.Second,
	10 * time.Second, 30 * time.Second, time.Minute,
}

// latency is a stage's batch latency histogram, updated by its workers with
// one atomic add per batch (plus one for the sum).
type latency struct {
	counts [len(batchBounds) + 1]atomic.Uint64 // the last is above the last bound
	sum    atomic.Int64
}

func (h *latency) observe(d time.Duration) {
	i := 0
	for i < len(batchBounds) && d > batchBounds[i] {
		i++
	}
	h.counts[i].Add(1)
	h.sum.Add(int64(d))
}

func (h *latency) snapshot() Histogram {
	out := Histogram{Bounds: batchBounds[:], Counts: make([]uint64, len(h.counts)), Sum: time.Duration(h.sum.Load())}
	for i := range h.counts {
		out.Counts[i] = h.counts[i].Load()
		out.Count += out.Counts[i]
	}
	return out
}

// Histogram is a snapshot of a stage's batch latencies: how long its
// workers spent on each batch (Process over every record of the batch, one
// ProcessBatch call, or Add over every record for an Aggregator).
type Histogram struct {
	// Bounds are the buckets' upper bounds, ascending, from 100µs to one
	// minute. The slice is shared by every Histogram and must not be
	// modified.
	Bounds []time.Duration
	// Counts[i] is the number of batches that took more than Bounds[i-1]
	// and at most Bounds[i]; the last element counts those above every
	// bound. It is not cumulative.
	Counts []uint64
	// Count is the number of batches; Sum their total time.
	Count uint64
	Sum   time.Duration
}
