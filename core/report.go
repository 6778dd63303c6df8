package core

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Report is the ledger of a run: per stage, how many records came in, went
// out, and what became of each. On a successful run the numbers add up, and
// Check verifies it.
type Report struct {
	Pipeline string        `json:"pipeline"`
	File     string        `json:"file"`
	Started  time.Time     `json:"started"`
	Duration time.Duration `json:"duration_ns"`
	// InputBytes is the total input size known up front (from sources that
	// implement Sizer), or 0.
	InputBytes int64         `json:"input_bytes"`
	Stages     []StageReport `json:"stages"`
	// Err is the run's error, nil on success.
	Err error `json:"-"`
}

// StageReport is one stage's ledger.
type StageReport struct {
	Name    string `json:"name"`
	Kind    string `json:"kind"`
	Workers int    `json:"workers"`
	// Inputs names the stages this one reads.
	Inputs []string `json:"inputs,omitempty"`
	// In counts records received; Out records emitted. Every record
	// received is exactly one of Processed, Skipped, DeadLettered, Errored
	// or Dropped (received while the run was stopping).
	In           int64 `json:"in"`
	Out          int64 `json:"out"`
	Processed    int64 `json:"processed"`
	Skipped      int64 `json:"skipped"`
	DeadLettered int64 `json:"dead_lettered"`
	Errored      int64 `json:"errored"`
	Dropped      int64 `json:"dropped"`
	// BytesIn is the input consumed by sources and splitters.
	BytesIn int64 `json:"bytes_in"`
	// Busy is the time the stage's workers spent processing, summed.
	Busy time.Duration `json:"busy_ns"`
	// DeadLetterFile is where rejected records went, if any did.
	DeadLetterFile string   `json:"dead_letter_file,omitempty"`
	Outputs        []Output `json:"outputs,omitempty"`
}

func (r *runner) fill(rep *Report, runErr error) {
	for _, sr := range r.stages {
		n := sr.node
		if s, ok := n.Stage.(Sizer); ok {
			rep.InputBytes += s.TotalBytes()
		}
		st := StageReport{
			Name: n.Name, Kind: n.Kind, Workers: n.Workers,
			In: sr.c.In.Load(), Out: sr.c.Out.Load(), Processed: sr.c.Processed.Load(),
			Skipped: sr.c.Skipped.Load(), DeadLettered: sr.c.DeadLettered.Load(),
			Errored: sr.c.Errored.Load(), Dropped: sr.c.Dropped.Load(), BytesIn: sr.c.BytesIn.Load(),
			Busy: time.Duration(sr.busy.Load()),
		}
		for _, in := range n.Inputs {
			st.Inputs = append(st.Inputs, in.Name)
		}
		if sr.dl != nil && sr.dl.count() > 0 {
			st.DeadLetterFile = sr.dl.path
		}
		if o, ok := n.Stage.(Outputter); ok && runErr == nil {
			st.Outputs = o.Outputs()
		}
		rep.Stages = append(rep.Stages, st)
	}
}

// Check verifies that the ledger adds up: for every stage, each received
// record is accounted for exactly once; and for every edge, what a stage
// received is what its inputs emitted. It is meaningful for runs that
// succeeded (a failed run stops with batches in flight).
func (rep *Report) Check() error {
	var errs []error
	out := map[string]int64{}
	for _, s := range rep.Stages {
		out[s.Name] = s.Out
	}
	for _, s := range rep.Stages {
		if sum := s.Processed + s.Skipped + s.DeadLettered + s.Errored + s.Dropped; sum != s.In {
			errs = append(errs, fmt.Errorf("ledger: stage %q received %d records but accounts for %d (processed %d, skipped %d, dead-lettered %d, errored %d, dropped %d)",
				s.Name, s.In, sum, s.Processed, s.Skipped, s.DeadLettered, s.Errored, s.Dropped))
		}
		if len(s.Inputs) > 0 {
			var sent int64
			for _, in := range s.Inputs {
				sent += out[in]
			}
			if sent != s.In {
				errs = append(errs, fmt.Errorf("ledger: stage %q received %d records but its inputs (%s) emitted %d",
					s.Name, s.In, strings.Join(s.Inputs, ", "), sent))
			}
		}
	}
	return errors.Join(errs...)
}
