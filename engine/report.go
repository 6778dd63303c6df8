package engine

import (
	"errors"
	"fmt"
	"github.com/sluicehq/sluice/pipeline"
	"github.com/sluicehq/sluice/stage"
	"strings"
	"time"
)

// ReportVersion is the version of the Report's JSON form, its
// "report_version". It changes only when a key is removed or changes
// meaning; keys may be added within a version. The form is documented by
// the JSON Schema docs/report.schema.json.
const ReportVersion = 1

// Run statuses, as Report.Status gives them.
const (
	StatusOK          = "ok"
	StatusFailed      = "failed"
	StatusInterrupted = "interrupted"
)

// Report is the ledger of a run: per stage, how many records came in, went
// out, and what became of each. On a successful run the numbers add up, and
// Check verifies it. Its JSON form (encoding/json) is the run report that
// `sluice run --report` writes, with the stable keys of its tags.
type Report struct {
	Version  int    `json:"report_version"`
	Pipeline string `json:"pipeline"`
	File     string `json:"file"`
	// RunID names the run: the UTC time it started and random digits. A
	// failed run's dead letters and its commit journal carry it.
	RunID    string        `json:"run_id"`
	Status   string        `json:"status"`          // StatusOK, StatusFailed or StatusInterrupted
	Error    string        `json:"error,omitempty"` // Err's text
	Started  time.Time     `json:"started"`
	Duration time.Duration `json:"duration_ns"`
	// Setup is the part of Duration spent setting stages up (listing
	// files, starting plugins) before records flowed.
	Setup time.Duration `json:"setup_ns"`
	// InputBytes is the total input size known up front (from sources that
	// implement Sizer: the size on disk of their files), or 0.
	InputBytes int64 `json:"input_bytes"`
	// ReadBytes is the input consumed, in the same unit: for each source,
	// the most that the source or any of its direct consumers reported in
	// Counters.BytesIn (so a fan-out of the same files counts once). On a
	// successful run it equals InputBytes, unless a file failed under
	// on_error skip or dead_letter before its end.
	ReadBytes int64 `json:"read_bytes"`
	// PeakRSS is the peak resident set size of the sluice process
	// (getrusage's RUSAGE_SELF ru_maxrss), and PeakChildRSS that of the
	// largest plugin process (the largest StatPluginPeakRSS of the stages:
	// a classifier plugin, a process it started, or the guard running
	// them; not the go command building a plugin), in bytes. Both are 0
	// where the system does not say (PeakChildRSS is known on Linux only);
	// PeakChildRSS is 0 without plugins.
	PeakRSS      int64 `json:"peak_rss_bytes"`
	PeakChildRSS int64 `json:"peak_child_rss_bytes"`
	// Recovered lists the commits of earlier runs, killed while
	// committing, that this run finished or undid before it started.
	Recovered []Recovery    `json:"recovered,omitempty"`
	Totals    Totals        `json:"totals"`
	Stages    []StageReport `json:"stages"`
	// Err is the run's error, nil on success.
	Err error `json:"-"`
}

// Totals sum a run's ledger over its stages.
type Totals struct {
	// Records is the number of records made from input files: what the
	// stages that take File records (splitters) emitted.
	Records int64 `json:"records"`
	// Filtered, Skipped, DeadLettered, Errored, Cancelled and Dropped sum
	// the stages' columns.
	Filtered     int64 `json:"filtered"`
	Skipped      int64 `json:"skipped"`
	DeadLettered int64 `json:"dead_lettered"`
	Errored      int64 `json:"errored"`
	Cancelled    int64 `json:"cancelled"`
	Dropped      int64 `json:"dropped"`
	// OutputFiles, OutputRecords and OutputBytes sum the stages' Outputs:
	// OutputRecords adds up each output's rows, so a record written to
	// two outputs counts twice.
	OutputFiles   int   `json:"output_files"`
	OutputRecords int64 `json:"output_records"`
	OutputBytes   int64 `json:"output_bytes"`
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
	// (its own error failed the run), Cancelled (another record's or a
	// stage's error failed the run before it was finished) or Dropped (the
	// run was interrupted before it was finished). Filtered counts the
	// processed records a filter dropped on purpose (Drop).
	In           int64 `json:"in"`
	Out          int64 `json:"out"`
	Processed    int64 `json:"processed"`
	Filtered     int64 `json:"filtered"`
	Skipped      int64 `json:"skipped"`
	DeadLettered int64 `json:"dead_lettered"`
	Errored      int64 `json:"errored"`
	Cancelled    int64 `json:"cancelled"`
	Dropped      int64 `json:"dropped"`
	// MadeRejected counts the records among Skipped, DeadLettered and
	// Errored that the stage made rather than received: a splitter's
	// malformed rows. The received records are In = Processed + Skipped +
	// DeadLettered + Errored + Dropped - MadeRejected.
	MadeRejected int64 `json:"made_rejected,omitempty"`
	// Files counts the File records the stage took up: the input files a
	// splitter read.
	Files int64 `json:"files"`
	// BytesIn is the input consumed by sources and splitters, in bytes on
	// disk (compressed bytes, for compressed files).
	BytesIn int64 `json:"bytes_in"`
	// Busy is the time the stage's workers spent processing, summed; with
	// the run's duration and Workers it gives how busy the stage was.
	Busy time.Duration `json:"busy_ns"`
	// Batches counts the batches the stage's workers processed.
	Batches int64 `json:"batches"`
	// RecordsPerSecond is records over the time records flowed
	// (Report.Running: setup left out): In, or for a stage that takes
	// files (a splitter) the records it made, Out, since files are not
	// records.
	RecordsPerSecond float64 `json:"records_per_second"`
	// Stats are the stage's own numbers, for stages that implement
	// StatsReporter (a plugin stage's restarts).
	Stats Stats `json:"stats,omitempty"`
	// Warnings are the first MaxWarnings warnings of the stage (see
	// Env.Warnings), and WarningCount counts them all.
	Warnings     []string `json:"warnings,omitempty"`
	WarningCount int64    `json:"warning_count,omitempty"`
	// DeadLetterFile is where rejected records went, if any did: the
	// stage's dead_letter path when the run succeeded, that path +
	// ".failed-" + RunID when it did not (see FailedInfix).
	DeadLetterFile string         `json:"dead_letter_file,omitempty"`
	Outputs        []stage.Output `json:"outputs,omitempty"`
}

// ledger returns the stage's report from its counters as they are now,
// without Stats, Batches, RecordsPerSecond and Outputs.
func (sr *stageRun) ledger() StageReport {
	n := sr.node
	st := StageReport{
		Name: n.Name, Kind: n.Kind, Workers: n.Workers,
		In: sr.c.In.Load(), Out: sr.c.Out.Load(), Processed: sr.c.Processed.Load(), Filtered: sr.c.Filtered.Load(),
		Skipped: sr.c.Skipped.Load(), DeadLettered: sr.c.DeadLettered.Load(),
		Errored: sr.c.Errored.Load(), Cancelled: sr.c.Cancelled.Load(), Dropped: sr.c.Dropped.Load(), BytesIn: sr.c.BytesIn.Load(),
		MadeRejected: sr.c.MadeRejected.Load(),
		Busy:         time.Duration(sr.busy.Load()), Files: sr.files.Load(),
	}
	for _, in := range n.Inputs {
		st.Inputs = append(st.Inputs, in.Name)
	}
	st.DeadLetterFile = sr.dl.file()
	st.Warnings, st.WarningCount = sr.warn.List()
	return st
}

// inputBytes sums the sizes that sources implementing Sizer know.
func (r *runner) inputBytes() int64 {
	var total int64
	for _, sr := range r.stages {
		if s, ok := sr.node.Stage.(stage.Sizer); ok {
			total += s.TotalBytes()
		}
	}
	return total
}

// Running is the part of Duration after setup, when records flowed: what
// rates are measured over, so that a plugin's first build or a slow start
// does not make a run look slow.
func (r *Report) Running() time.Duration {
	if r.Setup >= r.Duration {
		return r.Duration
	}
	return r.Duration - r.Setup
}

func (r *runner) fill(rep *Report, runErr error) {
	rep.Version = ReportVersion
	if t := r.running.Load(); t != 0 {
		rep.Setup = time.Duration(t - r.started.UnixNano())
	} else {
		rep.Setup = rep.Duration // setup failed, or the run was stopped during it
	}
	rep.InputBytes = r.inputBytes()
	rep.ReadBytes = r.readBytes(rep.InputBytes)
	rep.PeakRSS = peakRSS()
	rep.Recovered = r.recovered
	t := &rep.Totals
	for _, sr := range r.stages {
		n := sr.node
		st := sr.ledger()
		st.Batches = int64(sr.lat.snapshot().Count)
		st.RecordsPerSecond = recordRate(n, st, rep.Running())
		st.Stats = sr.stats()
		if v, ok := st.Stats.Get(stage.StatPluginPeakRSS); ok {
			rep.PeakChildRSS = max(rep.PeakChildRSS, int64(v))
		}
		if o, ok := n.Stage.(stage.Outputter); ok && runErr == nil {
			st.Outputs = o.Outputs()
		}
		if n.In == stage.File && n.Out&stage.Records != 0 {
			t.Records += st.Out
		}
		t.Filtered += st.Filtered
		t.Skipped += st.Skipped
		t.DeadLettered += st.DeadLettered
		t.Errored += st.Errored
		t.Cancelled += st.Cancelled
		t.Dropped += st.Dropped
		for _, o := range st.Outputs {
			t.OutputFiles++
			t.OutputRecords += o.Records
			t.OutputBytes += o.Bytes
		}
		rep.Stages = append(rep.Stages, st)
	}
}

// setErr records the run's outcome.
func (rep *Report) setErr(err error) {
	rep.Err = err
	switch {
	case err == nil:
		rep.Status = StatusOK
	case errors.Is(err, stage.ErrInterrupted):
		rep.Status, rep.Error = StatusInterrupted, err.Error()
	default:
		rep.Status, rep.Error = StatusFailed, err.Error()
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
		if sum := s.Processed + s.Skipped + s.DeadLettered + s.Errored + s.Cancelled + s.Dropped - s.MadeRejected; sum != s.In {
			errs = append(errs, fmt.Errorf("ledger: stage %q received %d records but accounts for %d (processed %d, skipped %d, dead-lettered %d, errored %d, cancelled %d, dropped %d)",
				s.Name, s.In, sum, s.Processed, s.Skipped, s.DeadLettered, s.Errored, s.Cancelled, s.Dropped))
		}
		if s.Filtered > s.Processed {
			errs = append(errs, fmt.Errorf("ledger: stage %q filtered %d records but processed %d", s.Name, s.Filtered, s.Processed))
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

// recordRate is a stage's records per second over d: the records it
// received, or, for a stage that takes files (a splitter), those it made.
func recordRate(n *pipeline.Node, st StageReport, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	records := st.In
	if n.In == stage.File {
		records = st.Out
	}
	return float64(records) / d.Seconds()
}
