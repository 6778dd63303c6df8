package stage

// StatsReporter is an optional capability of a stage that has run-time
// numbers of its own beyond the runner's ledger, such as a plugin stage's
// restarts and in-flight batches. The runner finds it by type assertion and
// shows the numbers in the live display, the end-of-run summary, the run
// report and the Prometheus metrics.
//
// Stats is called from observer goroutines (the progress display, a metrics
// scrape) while the stage runs, from the moment every stage's Setup has
// returned, and once more after Teardown for the report, which must then
// still carry the final values. It must be safe for concurrent use, must
// not block, and should cost no more than a few atomic loads or one short
// lock: it may be called several times a second. It should return the same
// names, in the same order, on every call.
type StatsReporter interface {
	Stats() []Stat
}

// StatKind says how a Stat's value behaves over a run.
type StatKind uint8

const (
	// StatGauge is a value that goes up and down (batches in flight now).
	StatGauge StatKind = iota
	// StatCounter is a value that only grows during a run (restarts so
	// far). Prometheus exposes it with a _total suffix.
	StatCounter
)

// String returns "gauge" or "counter".
func (k StatKind) String() string {
	if k == StatCounter {
		return "counter"
	}
	return "gauge"
}

// Stat is one number a StatsReporter reports.
type Stat struct {
	// Name is lower snake_case ([a-z][a-z0-9_]*), without a unit suffix
	// such as _total; Prometheus exposes it as sluice_NAME (plus _total
	// for a counter) with a stage label. Use the Stat* names below for the
	// numbers they describe, so that every plugin stage reports alike.
	Name string
	// Help is one sentence saying what the number counts.
	Help  string
	Kind  StatKind
	Value float64
}

// Well-known stat names. Classifier plugin stages report both.
const (
	// StatPluginRestarts counts plugin instances replaced after a crash or
	// a hung call, during the run so far (a counter).
	StatPluginRestarts = "plugin_restarts"
	// StatPluginInFlight is the number of batches sent to plugin instances
	// and not answered yet (a gauge).
	StatPluginInFlight = "plugin_inflight_batches"
	// StatPluginPeakRSS is the peak resident set size, in bytes, of the
	// largest process of the stage's plugin instances stopped so far (a
	// gauge; 0 until one has, and outside Linux). The report's
	// PeakChildRSS is the largest over the stages.
	StatPluginPeakRSS = "plugin_peak_rss_bytes"
)

// ValidStatName reports whether name can be a Stat's name: lower
// snake_case, starting with a letter, at most 64 bytes. Stats with other
// names are left out of the metrics.
func ValidStatName(name string) bool {
	if name == "" || len(name) > 64 || name[0] < 'a' || name[0] > 'z' {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}
