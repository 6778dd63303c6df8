package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sluicehq/sluice/engine"
	stagepkg "github.com/sluicehq/sluice/stage"
)

// runCollector exposes a run's Monitor as Prometheus metrics. It reads a
// snapshot at each scrape, so it costs the run nothing between scrapes.
// docs/metrics.md lists the metrics; a test keeps the two in step.
//
// It is an unchecked collector (Describe sends nothing): the stats that
// stages report (StatsReporter) are only known once the run is set up.
type runCollector struct {
	mon *engine.Monitor

	runInfo, phase, inputSize, inputRead              *prometheus.Desc
	stageInfo, workers, recIn, recOut, filtered, errs *prometheus.Desc
	cancelled, dropped, bytesIn                       *prometheus.Desc
	busy, queued, queueCap, batches                   *prometheus.Desc

	mu    sync.Mutex
	stats map[string]*prometheus.Desc // by Prometheus name
}

func newRunCollector(mon *engine.Monitor) *runCollector {
	stage := []string{"stage"}
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, nil)
	}
	return &runCollector{
		mon:       mon,
		runInfo:   d("sluice_run_info", "The pipeline being run: always 1, with the pipeline's name and file as labels.", "pipeline", "file"),
		phase:     d("sluice_run_phase", "1 for the phase the run is in (setup, running, committing, done), 0 for the others.", "phase"),
		inputSize: d("sluice_input_size_bytes", "Size on disk of the input files, known once the sources are set up."),
		inputRead: d("sluice_input_read_bytes_total", "Input bytes consumed so far, on disk (compressed bytes for compressed files)."),
		stageInfo: d("sluice_stage_info", "A stage of the pipeline: always 1, with its kind as a label.", "stage", "kind"),
		workers:   d("sluice_stage_workers", "Workers the stage runs on.", stage...),
		recIn:     d("sluice_stage_records_in_total", "Records the stage received.", stage...),
		recOut:    d("sluice_stage_records_out_total", "Records the stage emitted.", stage...),
		errs:      d("sluice_stage_errors_total", "Records the stage could not process, by what became of them: skipped, dead_lettered, or errored (failed the run).", "stage", "outcome"),
		filtered:  d("sluice_stage_records_filtered_total", "Records the stage processed and dropped on purpose (a filter's drops).", stage...),
		cancelled: d("sluice_stage_records_cancelled_total", "Records the stage received but did not finish because another record's error, or a stage's, failed the run.", stage...),
		dropped:   d("sluice_stage_records_dropped_total", "Records the stage received but did not finish because the run was interrupted.", stage...),
		bytesIn:   d("sluice_stage_bytes_in_total", "Input bytes the stage consumed (sources and splitters), on disk.", stage...),
		busy:      d("sluice_stage_busy_seconds_total", "Time the stage's workers spent processing, summed over workers; its rate over sluice_stage_workers is how busy the stage is.", stage...),
		queued:    d("sluice_stage_queue_batches", "Batches waiting in the stage's input queue; a queue that stays full marks the bottleneck.", stage...),
		queueCap:  d("sluice_stage_queue_capacity_batches", "Capacity of the stage's input queue, in batches.", stage...),
		batches:   d("sluice_stage_batch_duration_seconds", "Time the stage's workers took over each batch.", stage...),
		stats:     map[string]*prometheus.Desc{},
	}
}

func (c *runCollector) Describe(chan<- *prometheus.Desc) {}

func (c *runCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.mon.Snapshot()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	if s.Phase == engine.PhaseIdle {
		return // nothing to say before the run is attached
	}
	gauge(c.runInfo, 1, s.Pipeline, s.PipelineFile)
	for _, p := range []engine.Phase{engine.PhaseSetup, engine.PhaseRunning, engine.PhaseCommitting, engine.PhaseDone} {
		v := 0.0
		if p == s.Phase {
			v = 1
		}
		gauge(c.phase, v, p.String())
	}
	gauge(c.inputSize, float64(s.TotalBytes))
	counter(c.inputRead, float64(s.ReadBytes))
	for _, st := range s.Stages {
		name := st.Name
		gauge(c.stageInfo, 1, name, st.Kind)
		gauge(c.workers, float64(st.Workers), name)
		counter(c.recIn, float64(st.In), name)
		counter(c.recOut, float64(st.Out), name)
		counter(c.filtered, float64(st.Filtered), name)
		counter(c.errs, float64(st.Skipped), name, "skipped")
		counter(c.errs, float64(st.DeadLettered), name, "dead_lettered")
		counter(c.errs, float64(st.Errored), name, "errored")
		counter(c.cancelled, float64(st.Cancelled), name)
		counter(c.dropped, float64(st.Dropped), name)
		counter(c.bytesIn, float64(st.BytesIn), name)
		counter(c.busy, st.Busy.Seconds(), name)
		if st.QueueCap > 0 {
			gauge(c.queued, float64(st.Queued), name)
			gauge(c.queueCap, float64(st.QueueCap), name)
			ch <- histogram(c.batches, st.Latency, name)
		}
		for _, stat := range st.Stats {
			d := c.statDesc(stat)
			if d == nil {
				continue
			}
			if stat.Kind == stagepkg.StatCounter {
				counter(d, stat.Value, name)
			} else {
				gauge(d, stat.Value, name)
			}
		}
	}
}

// statDesc returns the description of a stage's stat as a metric:
// sluice_NAME, with _total for a counter. The first help text seen for a
// name is kept; a stat with an invalid name, or whose name another stat
// of another kind took, is left out.
func (c *runCollector) statDesc(st stagepkg.Stat) *prometheus.Desc {
	if !stagepkg.ValidStatName(st.Name) {
		return nil
	}
	name := "sluice_" + st.Name
	if st.Kind == stagepkg.StatCounter {
		name += "_total"
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if d, ok := c.stats[name]; ok {
		return d
	}
	help := st.Help
	if help == "" {
		help = "Reported by the stage: " + st.Name + "."
	}
	d := prometheus.NewDesc(name, help, []string{"stage"}, nil)
	c.stats[name] = d
	return d
}

// histogram converts a batch latency histogram to Prometheus' cumulative
// form, in seconds.
func histogram(d *prometheus.Desc, h engine.Histogram, labels ...string) prometheus.Metric {
	buckets := make(map[float64]uint64, len(h.Bounds))
	var cum uint64
	for i, b := range h.Bounds {
		cum += h.Counts[i]
		buckets[b.Seconds()] = cum
	}
	return prometheus.MustNewConstHistogram(d, h.Count, h.Sum.Seconds(), buckets, labels...)
}

// metricsServer serves /metrics and /healthz during a run.
type metricsServer struct {
	srv  *http.Server
	addr string // the address bound, with the port chosen when :0 was asked
	done chan struct{}
}

// serveMetrics binds addr at once, so that a port in use fails the command
// before the run starts, and serves in the background until close. The
// registry holds the run's metrics and the process and Go runtime
// collectors of the official client.
func serveMetrics(addr string, mon *engine.Monitor, log *slog.Logger) (*metricsServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--metrics-addr %s: %w (choose another address, e.g. --metrics-addr 127.0.0.1:9091)", addr, err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(newRunCollector(mon),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewGoCollector())
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(log.Handler(), slog.LevelError),
		ErrorHandling: promhttp.ContinueOnError,
	}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
	m := &metricsServer{
		srv:  &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)},
		addr: ln.Addr().String(),
		done: make(chan struct{}),
	}
	go func() {
		defer close(m.done)
		if err := m.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics server stopped", "addr", m.addr, "error", err)
		}
	}()
	log.Info("serving metrics", "url", "http://"+m.addr+"/metrics")
	return m, nil
}

// close stops the server, letting a scrape under way finish for a moment.
func (m *metricsServer) close(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := m.srv.Shutdown(ctx); err != nil {
		m.srv.Close()
	}
	<-m.done
}
