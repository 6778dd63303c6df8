package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/sluicehq/sluice/engine"
	"github.com/sluicehq/sluice/pipeline"
	"github.com/sluicehq/sluice/stage"
)

// gateSource emits per records, then waits for the next gate, until the
// gates run out: a test can look at the run between gates.
type gateSource struct {
	per   int
	gates []chan struct{}
}

func (g *gateSource) Signature() stage.Signature { return stage.Signature{Out: stage.Line} }

func (g *gateSource) Read(ctx context.Context, out stage.Emitter) error {
	n := 0
	for i := 0; ; i++ {
		for range g.per {
			n++
			r := stage.Record{Type: stage.Line, Data: []byte(strconv.Itoa(n)), Source: stage.Position{File: "gate", Ordinal: int64(n)}}
			if err := out.Emit(&r); err != nil {
				return err
			}
		}
		if i == len(g.gates) {
			return nil
		}
		select {
		case <-g.gates[i]:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// fakePlugin passes records on and reports plugin stats, as the
// classifier plugin stage does.
type fakePlugin struct{ restarts, inflight atomic.Int64 }

func (p *fakePlugin) Signature() stage.Signature {
	return stage.Signature{In: stage.Records, Passthrough: true}
}

func (p *fakePlugin) Process(ctx context.Context, r *stage.Record, out stage.Emitter) error {
	return out.Emit(r)
}

func (p *fakePlugin) Stats() []stage.Stat {
	return []stage.Stat{
		{Name: stage.StatPluginRestarts, Help: "Plugin instances replaced.", Kind: stage.StatCounter, Value: float64(p.restarts.Load())},
		{Name: stage.StatPluginInFlight, Help: "Batches in flight.", Kind: stage.StatGauge, Value: float64(p.inflight.Load())},
		{Name: stage.StatPluginPeakRSS, Help: "Peak memory of the largest plugin process.", Kind: stage.StatGauge, Value: 20 << 20},
	}
}

type nullSink struct{}

func (nullSink) Signature() stage.Signature {
	return stage.Signature{In: stage.Records, Terminal: true}
}
func (nullSink) Process(ctx context.Context, r *stage.Record, out stage.Emitter) error {
	return nil
}

var (
	_ stage.Source        = (*gateSource)(nil)
	_ stage.Processor     = (*fakePlugin)(nil)
	_ stage.StatsReporter = (*fakePlugin)(nil)
)

type noOptions struct{}

func scrape(t *testing.T, addr string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s", resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return mfs
}

// value returns the value of the sample of name whose labels include
// labels (name=value pairs), and whether there is one.
func value(mfs map[string]*dto.MetricFamily, name string, labels ...string) (float64, bool) {
	mf, ok := mfs[name]
	if !ok {
		return 0, false
	}
next:
	for _, m := range mf.Metric {
		for i := 0; i+1 < len(labels); i += 2 {
			found := false
			for _, lp := range m.Label {
				if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		}
	}
	return 0, false
}

// documentedMetrics returns the sluice_ metrics that docs/metrics.md lists
// in its table.
func documentedMetrics(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("../../docs/metrics.md")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range regexp.MustCompile("(?m)^\\| `(sluice_[a-z_]+)` \\|").FindAllStringSubmatch(string(b), -1) {
		names = append(names, m[1])
	}
	if len(names) < 10 {
		t.Fatalf("docs/metrics.md lists %d metrics: the table's format changed?", len(names))
	}
	return names
}

// TestMetricsDuringRun scrapes /metrics from a real run, held at two
// points by a gated source: the counters must grow between the scrapes,
// and the sluice_ metrics served must be those docs/metrics.md lists.
func TestMetricsDuringRun(t *testing.T) {
	src := &gateSource{per: 1000, gates: []chan struct{}{make(chan struct{}), make(chan struct{})}}
	plug := &fakePlugin{}
	reg := stage.NewRegistry()
	reg.Register(stage.Define("gate", "Gated source.", nil, func() *noOptions { return &noOptions{} },
		func(*noOptions) (stage.Stage, error) { return src, nil }))
	reg.Register(stage.Define("plugin", "Fake plugin stage.", nil, func() *noOptions { return &noOptions{} },
		func(*noOptions) (stage.Stage, error) { return plug, nil }))
	reg.Register(stage.Define("null", "Discards records.", nil, func() *noOptions { return &noOptions{} },
		func(*noOptions) (stage.Stage, error) { return nullSink{}, nil }))
	g, err := pipeline.Load("watch.yaml", []byte(`name: metered
batch_size: 100
stages:
  src: {use: gate}
  classify: {use: plugin, from: src, workers: 2}
  sink: {use: null, from: classify}
`), reg)
	if err != nil {
		t.Fatal(err)
	}
	mon := &engine.Monitor{}
	srv, err := serveMetrics("127.0.0.1:0", mon, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.close(context.Background())

	if mfs := scrape(t, srv.addr); len(mfs["sluice_run_info"].GetMetric()) != 0 {
		t.Error("sluice_run_info before the run started")
	}
	resp, err := http.Get("http://" + srv.addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "ok\n" {
		t.Errorf("/healthz: %s %q", resp.Status, body)
	}

	done := make(chan error, 1)
	go func() {
		_, err := engine.Run(context.Background(), g, engine.RunOptions{Monitor: mon})
		done <- err
	}()
	// waitIn waits until the sink has received n records: the source is
	// then held at its gate.
	waitIn := func(n int64) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			s := mon.Snapshot()
			if len(s.Stages) == 3 && s.Stages[2].In == n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("the sink never received %d records: %+v", n, s)
			}
			time.Sleep(time.Millisecond)
		}
	}

	waitIn(1000)
	plug.restarts.Store(1)
	plug.inflight.Store(3)
	first := scrape(t, srv.addr)
	checks := []struct {
		name   string
		labels []string
		want   float64
	}{
		{"sluice_run_info", []string{"pipeline", "metered", "file", "watch.yaml"}, 1},
		{"sluice_run_phase", []string{"phase", "running"}, 1},
		{"sluice_run_phase", []string{"phase", "done"}, 0},
		{"sluice_stage_info", []string{"stage", "classify", "kind", "plugin"}, 1},
		{"sluice_stage_workers", []string{"stage", "classify"}, 2},
		{"sluice_stage_records_out_total", []string{"stage", "src"}, 1000},
		{"sluice_stage_records_in_total", []string{"stage", "sink"}, 1000},
		{"sluice_stage_errors_total", []string{"stage", "sink", "outcome", "skipped"}, 0},
		{"sluice_stage_queue_capacity_batches", []string{"stage", "sink"}, 8},
		{"sluice_stage_batch_duration_seconds", []string{"stage", "sink"}, 10},
		{"sluice_plugin_restarts_total", []string{"stage", "classify"}, 1},
		{"sluice_plugin_inflight_batches", []string{"stage", "classify"}, 3},
		{"sluice_plugin_peak_rss_bytes", []string{"stage", "classify"}, 20 << 20},
	}
	for _, c := range checks {
		if got, ok := value(first, c.name, c.labels...); !ok || got != c.want {
			t.Errorf("first scrape: %s%v = %v (present %v), want %v", c.name, c.labels, got, ok, c.want)
		}
	}

	close(src.gates[0])
	waitIn(2000)
	plug.restarts.Store(2)
	second := scrape(t, srv.addr)
	for _, c := range []struct {
		name   string
		labels []string
	}{
		{"sluice_stage_records_in_total", []string{"stage", "sink"}},
		{"sluice_stage_records_out_total", []string{"stage", "classify"}},
		{"sluice_stage_batch_duration_seconds", []string{"stage", "classify"}},
		{"sluice_plugin_restarts_total", []string{"stage", "classify"}},
	} {
		a, _ := value(first, c.name, c.labels...)
		b, _ := value(second, c.name, c.labels...)
		if b <= a {
			t.Errorf("%s%v did not increase between scrapes: %v then %v", c.name, c.labels, a, b)
		}
	}

	var served []string
	for name := range second {
		if strings.HasPrefix(name, "sluice_") {
			served = append(served, name)
		}
	}
	sort.Strings(served)
	documented := documentedMetrics(t)
	sort.Strings(documented)
	if strings.Join(served, "\n") != strings.Join(documented, "\n") {
		t.Errorf("metrics served and documented in docs/metrics.md differ\nserved:     %v\ndocumented: %v", served, documented)
	}
	for _, name := range []string{"process_resident_memory_bytes", "process_cpu_seconds_total", "go_goroutines"} {
		if _, ok := second[name]; !ok {
			t.Errorf("no %s: the process and Go collectors are missing", name)
		}
	}

	close(src.gates[1])
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	last := scrape(t, srv.addr)
	if v, _ := value(last, "sluice_run_phase", "phase", "done"); v != 1 {
		t.Error("sluice_run_phase{phase=done} is not 1 after the run")
	}
	if v, _ := value(last, "sluice_stage_records_in_total", "stage", "sink"); v != 3000 {
		t.Errorf("sink received %v records in all, want 3000", v)
	}
}

// TestMetricsFlag checks --metrics-addr end to end: it serves where asked
// and says where, and a port in use fails before the run with a fix.
func TestMetricsFlag(t *testing.T) {
	dir, _ := watchWorkspace(t, 1, 100)
	res := runSluice(t, dir, "run", "--progress", "none", "--metrics-addr", "127.0.0.1:0")
	if res.code != 0 || !regexp.MustCompile(`msg="serving metrics" url=http://127\.0\.0\.1:\d+/metrics`).MatchString(res.stderr) {
		t.Fatalf("exit %d; want 0 and a log line saying where metrics are served:\n%s", res.code, res.stderr)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	res = runSluice(t, dir, "run", "--metrics-addr", ln.Addr().String())
	if res.code != exitFailed || !strings.Contains(res.stderr, "--metrics-addr "+ln.Addr().String()) ||
		!strings.Contains(res.stderr, "address already in use") || strings.Contains(res.stderr, "pipeline watched") {
		t.Fatalf("port in use: exit %d, want %d with a clear error and no run:\n%s", res.code, exitFailed, res.stderr)
	}
}
