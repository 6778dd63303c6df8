package engine_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/engine"
	"github.com/sluicehq/sluice/pipeline"
	"github.com/sluicehq/sluice/stage"
)

func load(t *testing.T, w *testWorld, src string) *pipeline.Graph {
	t.Helper()
	g, err := pipeline.Load("p.yaml", []byte(src), w.reg)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func data(rs []stage.Record) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = string(r.Data)
	}
	return out
}

func TestRunFanOutFanIn(t *testing.T) {
	w := newWorld()
	g := load(t, w, `
name: fan
batch_size: 7
queue: 2
stages:
  a: {use: gen, with: {count: 1000, prefix: a}}
  b: {use: gen, with: {count: 500, prefix: b}}
  m: {use: map, from: [a, b], workers: 4}
  all: {use: sink, from: m, with: {name: all}}
  n: {use: count, from: m, workers: 3, with: {name: n}}
  raw: {use: sink, from: a, with: {name: raw}}
`)
	rep, err := engine.Run(context.Background(), g, engine.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	all := w.sinks["all"]
	if got := len(all.records); got != 1500 {
		t.Fatalf("sink got %d records, want 1500", got)
	}
	seen := map[string]bool{}
	for _, r := range all.records {
		if r.Category != "seen" {
			t.Fatalf("record %s not processed by map", r.Data)
		}
		seen[string(r.Data)] = true
	}
	if len(seen) != 1500 {
		t.Fatalf("%d distinct records, want 1500 (duplicates or losses)", len(seen))
	}
	if got := *w.totals["n"]; got != 1500 {
		t.Fatalf("count merged %d, want 1500", got)
	}
	if got := len(w.sinks["raw"].records); got != 1000 {
		t.Fatalf("fan-out branch got %d, want 1000", got)
	}
	for _, s := range w.sinks {
		if !s.finished || !s.committed || s.aborted || !s.tornDown {
			t.Fatalf("sink lifecycle: finished=%v committed=%v aborted=%v tornDown=%v", s.finished, s.committed, s.aborted, s.tornDown)
		}
	}
	if err := rep.Check(); err != nil {
		t.Fatal(err)
	}
	byName := map[string]engine.StageReport{}
	for _, s := range rep.Stages {
		byName[s.Name] = s
	}
	if m := byName["m"]; m.In != 1500 || m.Out != 1500 || m.Processed != 1500 {
		t.Fatalf("ledger of m: %+v", m)
	}
}

func TestRunOrderedKeepsOrder(t *testing.T) {
	w := newWorld()
	g := load(t, w, `
batch_size: 3
stages:
  a: {use: gen, with: {count: 300}}
  m: {use: map, from: a, workers: 4, ordered: true, with: {sleep: 200us}}
  s: {use: sink, from: m, workers: 1, with: {name: s}}
`)
	if _, err := engine.Run(context.Background(), g, engine.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	got := data(w.sinks["s"].records)
	for i, d := range got {
		if want := "r" + strconv.Itoa(i+1); d != want {
			t.Fatalf("record %d is %s, want %s: order not kept", i, d, want)
		}
	}
	if len(got) != 300 {
		t.Fatalf("got %d records", len(got))
	}
}

func TestRunFailReportsRecordAndAborts(t *testing.T) {
	w := newWorld()
	g := load(t, w, `
stages:
  a: {use: gen, with: {count: 5000}}
  m: {use: map, from: a, workers: 2, with: {fail_on: r1234}}
  s: {use: sink, from: m, with: {name: s}}
`)
	rep, err := engine.Run(context.Background(), g, engine.RunOptions{})
	var re *engine.RecordError
	if !errors.As(err, &re) {
		t.Fatalf("got %v, want a RecordError", err)
	}
	want := `stage "m": r.txt:1234 (record 1234, byte 12340): bad record "r1234"`
	if err.Error() != want {
		t.Fatalf("got  %q\nwant %q", err, want)
	}
	s := w.sinks["s"]
	if s.committed || !s.aborted || !s.tornDown {
		t.Fatalf("failed run: committed=%v aborted=%v tornDown=%v", s.committed, s.aborted, s.tornDown)
	}
	if rep == nil || rep.Stages[1].Errored != 1 {
		t.Fatalf("report: %+v", rep)
	}
}

func TestRunSkipAndDeadLetter(t *testing.T) {
	dir := t.TempDir()
	dl := filepath.Join(dir, "dl", "m.jsonl")
	w := newWorld()
	g := load(t, w, `
stages:
  a: {use: gen, with: {count: 100}}
  m: {use: map, from: a, workers: 3, on_error: dead_letter, dead_letter: `+dl+`, with: {fail_on: r7}}
  k: {use: map, from: m, on_error: skip, with: {fail_on: r9}}
  s: {use: sink, from: k, with: {name: s}}
`)
	rep, err := engine.Run(context.Background(), g, engine.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := len(w.sinks["s"].records); got != 98 {
		t.Fatalf("sink got %d, want 98", got)
	}
	m, k := rep.Stages[1], rep.Stages[2]
	if m.DeadLettered != 1 || m.Processed != 99 || m.DeadLetterFile != dl || k.Skipped != 1 || k.Processed != 98 {
		t.Fatalf("ledger: m=%+v k=%+v", m, k)
	}
	f, err := os.Open(dl)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	var lines []map[string]any
	for sc.Scan() {
		var v map[string]any
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, v)
	}
	if len(lines) != 1 || lines[0]["record"] != "r7" || lines[0]["stage"] != "m" ||
		lines[0]["error"] != `bad record "r7"` || lines[0]["line"] != float64(7) {
		t.Fatalf("dead letters: %v", lines)
	}
}

func TestRunFatalIgnoresPolicy(t *testing.T) {
	w := newWorld()
	g := load(t, w, `
stages:
  a: {use: gen, with: {count: 50}}
  m: {use: map, from: a, on_error: skip, with: {fatal_on: r20}}
  s: {use: sink, from: m}
`)
	_, err := engine.Run(context.Background(), g, engine.RunOptions{})
	if err == nil || !strings.Contains(err.Error(), "disk on fire") || !strings.HasPrefix(err.Error(), `stage "m"`) {
		t.Fatalf("got %v, want the fatal error naming the stage", err)
	}
}

func TestRunPanicBecomesError(t *testing.T) {
	w := newWorld()
	g := load(t, w, `
stages:
  a: {use: gen, with: {count: 50}}
  m: {use: map, from: a, workers: 2, with: {panic_on: r3}}
  s: {use: sink, from: m, with: {name: s}}
`)
	_, err := engine.Run(context.Background(), g, engine.RunOptions{})
	if err == nil || !strings.Contains(err.Error(), `stage "m": panic: mapper exploded`) {
		t.Fatalf("got %v", err)
	}
	if s := w.sinks["s"]; s.committed || !s.aborted {
		t.Fatal("outputs committed after a panic")
	}
}

func TestRunCancelled(t *testing.T) {
	w := newWorld()
	g := load(t, w, `
stages:
  a: {use: gen, with: {count: 100000000}}
  m: {use: map, from: a, workers: 2}
  s: {use: sink, from: m, with: {name: s}}
`)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	done := make(chan error, 1)
	go func() { _, err := engine.Run(ctx, g, engine.RunOptions{}); done <- err }()
	select {
	case err := <-done:
		if !errors.Is(err, stage.ErrInterrupted) {
			t.Fatalf("got %v, want ErrInterrupted", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not stop after cancellation")
	}
	if s := w.sinks["s"]; s.committed || !s.aborted || !s.tornDown {
		t.Fatalf("cancelled run: committed=%v aborted=%v tornDown=%v", s.committed, s.aborted, s.tornDown)
	}
}

func TestRunSingleWorkerKeepsOrderWithoutOrdered(t *testing.T) {
	w := newWorld()
	g := load(t, w, `
batch_size: 4
stages:
  a: {use: gen, with: {count: 103}}
  m: {use: map, from: a, workers: 1}
  s: {use: sink, from: m, workers: 1, with: {name: s}}
`)
	if _, err := engine.Run(context.Background(), g, engine.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	got := data(w.sinks["s"].records)
	sorted := append([]string(nil), got...)
	sort.SliceStable(sorted, func(i, j int) bool {
		a, _ := strconv.Atoi(sorted[i][1:])
		b, _ := strconv.Atoi(sorted[j][1:])
		return a < b
	})
	if strings.Join(got, ",") != strings.Join(sorted, ",") || len(got) != 103 {
		t.Fatalf("order: %v", got)
	}
}

func TestGraphRendering(t *testing.T) {
	w := newWorld()
	g := load(t, w, `
name: draw
stages:
  a: {use: gen}
  m: {use: map, from: a, workers: 3, ordered: true, on_error: skip}
  s: {use: sink, from: [m, a]}
`)
	dot := g.DOT()
	for _, want := range []string{`digraph "draw"`, `"m" [label="m\nmap ×3 ordered\non_error: skip"]`, `"a" -> "m" [label="line"]`, `"a" -> "s"`, `"m" -> "s"`} {
		if !strings.Contains(dot, want) {
			t.Errorf("DOT lacks %s:\n%s", want, dot)
		}
	}
	mm := g.Mermaid()
	for _, want := range []string{"flowchart LR", `s1["m<br/>map ×3 ordered<br/>on_error: skip"]`, `s0 -->|"line"| s1`, `s1 -->|"line"| s2`, `s0 -->|"line"| s2`} {
		if !strings.Contains(mm, want) {
			t.Errorf("Mermaid lacks %s:\n%s", want, mm)
		}
	}
}

// TestOrderedStreamsWithBoundedMemory runs an ordered stage whose tasks
// each emit 50,000 records into a slow sink: order must be kept, and the
// stage must never get more than a few queues' worth ahead of the sink
// (a task's output is streamed, not held until the task returns).
func TestOrderedStreamsWithBoundedMemory(t *testing.T) {
	w := newWorld()
	var (
		received, maxGap int64
		last             string
		lastOrd          int64
		orderErr         error
	)
	w.reg.Register(stage.Define("probe", "Checks order and lag.", nil,
		func() *sinkOptions { return &sinkOptions{} },
		func(*sinkOptions) (stage.Stage, error) {
			return probe(func(r *stage.Record) {
				received++
				if gap := w.emitted.Load() - received; gap > maxGap {
					maxGap = gap
				}
				f := string(r.Data)
				switch {
				case f == last && r.Source.Ordinal == lastOrd+1, f > last && r.Source.Ordinal == 1:
				default:
					if orderErr == nil {
						orderErr = fmt.Errorf("record %s #%d after %s #%d", f, r.Source.Ordinal, last, lastOrd)
					}
				}
				last, lastOrd = f, r.Source.Ordinal
				if received%5000 == 0 {
					time.Sleep(2 * time.Millisecond) // a slow consumer
				}
			}), nil
		}))
	g := load(t, w, `
batch_size: 10
queue: 2
stages:
  a: {use: gen, with: {count: 4}}
  x: {use: expand, from: a, workers: 4, ordered: true, with: {count: 50000}}
  s: {use: probe, from: x}
`)
	if _, err := engine.Run(context.Background(), g, engine.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	if orderErr != nil {
		t.Fatal(orderErr)
	}
	if received != 200000 {
		t.Fatalf("received %d records, want 200000", received)
	}
	// Four tasks' queues of 2 batches, their emitters' batch, the sink's
	// queue: a few hundred records. Holding a task's output would be 50,000.
	if maxGap > 1000 {
		t.Fatalf("the ordered stage ran %d records ahead of its consumer: output is held, not streamed", maxGap)
	}
	t.Logf("largest lead over the consumer: %d records", maxGap)
}

// probe is a one-worker sink calling f for every record.
type probe func(r *stage.Record)

func (p probe) Signature() stage.Signature {
	return stage.Signature{In: stage.Records, Terminal: true, MaxWorkers: 1}
}

func (p probe) Process(ctx context.Context, r *stage.Record, out stage.Emitter) error {
	p(r)
	return nil
}

// TestRunRecycledBatchesReachEveryConsumerIntact checks the runner's batch
// recycling (see "Lifetime of records and batches" on stage.Stage): a batch
// goes back to its producer's pool only when its last consumer is done.
// Many batches of 3 records fan out to consumers of every kind (Processor,
// ordered Processor, BatchProcessor, Aggregator) that run at different
// speeds; each checks every record's content when it gets it and again
// after a pause, while it still holds it, so a batch recycled under a slow
// consumer shows as a record that changed (and, with -race, as a race).
// Every consumer must then have seen every record exactly once, intact.
func TestRunRecycledBatchesReachEveryConsumerIntact(t *testing.T) {
	const n = 20000
	w := newWorld()
	checkers := map[string]*checker{}
	newChecker := func(o *checkerOptions) *checker {
		w.mu.Lock()
		defer w.mu.Unlock()
		c := &checker{opts: *o, seen: make([]atomic.Int32, n+1)}
		checkers[o.Name] = c
		return c
	}
	w.reg.Register(stage.Define("check", "Checks records one at a time.", nil,
		func() *checkerOptions { return &checkerOptions{} },
		func(o *checkerOptions) (stage.Stage, error) { return newChecker(o), nil }))
	w.reg.Register(stage.Define("checkbatch", "Checks records a batch at a time.", nil,
		func() *checkerOptions { return &checkerOptions{} },
		func(o *checkerOptions) (stage.Stage, error) { return batchChecker{newChecker(o)}, nil }))
	w.reg.Register(stage.Define("checkacc", "Checks records kept in accumulators.", nil,
		func() *checkerOptions { return &checkerOptions{} },
		func(o *checkerOptions) (stage.Stage, error) { return accChecker{newChecker(o)}, nil }))
	g := load(t, w, fmt.Sprintf(`
batch_size: 3
queue: 2
stages:
  src:     {use: gen, with: {count: %d, prefix: r}}
  raw:     {use: check, from: src, workers: 2, with: {name: raw, unmarked: true, pause: 30us, every: 11}}
  mid:     {use: map, from: src, workers: 3}
  fast:    {use: check, from: mid, workers: 2, with: {name: fast}}
  slow:    {use: check, from: mid, workers: 3, with: {name: slow, pause: 100us, every: 5}}
  ordered: {use: check, from: mid, workers: 3, ordered: true, with: {name: ordered, pause: 20us, every: 2}}
  batch:   {use: checkbatch, from: mid, workers: 2, with: {name: batch, pause: 50us}}
  acc:     {use: checkacc, from: mid, workers: 2, with: {name: acc, pause: 10us, every: 3}}
  after:   {use: check, from: ordered, workers: 1, with: {name: after, pause: 10us, every: 13}}
`, n))
	rep, err := engine.Run(context.Background(), g, engine.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := rep.Check(); err != nil {
		t.Fatal(err)
	}
	if len(checkers) != 7 {
		t.Fatalf("%d checkers built, want 7", len(checkers))
	}
	for name, c := range checkers {
		if bad := c.bad.Load(); bad != nil {
			t.Errorf("%s: %s", name, *bad)
			continue
		}
		for ord := 1; ord <= n; ord++ {
			if k := c.seen[ord].Load(); k != 1 {
				t.Errorf("%s: saw record %d %d times, want once", name, ord, k)
				break
			}
		}
	}
}

type checkerOptions struct {
	Name     string         `yaml:"name" doc:"Key in the test's map."`
	Unmarked bool           `yaml:"unmarked" doc:"Records come straight from gen, without map's category."`
	Pause    stage.Duration `yaml:"pause" doc:"How long to hold a record before checking it again."`
	Every    int            `yaml:"every" doc:"Pause on every n-th record (default every one)."`
}

// checker checks that every record it gets is the one gen made for its
// ordinal (marked by map unless unmarked), also after holding it for a
// while, and counts how often it saw each ordinal. It passes records on,
// so that a stage after it checks the batches it fills.
type checker struct {
	opts checkerOptions
	seen []atomic.Int32 // by ordinal
	bad  atomic.Pointer[string]
}

func (c *checker) Signature() stage.Signature {
	return stage.Signature{In: stage.Records, Passthrough: true, Terminal: true}
}

func (c *checker) Process(ctx context.Context, r *stage.Record, out stage.Emitter) error {
	if c.hold(r) {
		c.seen[r.Source.Ordinal].Add(1)
	}
	return out.Emit(r)
}

// hold checks r, and on every n-th ordinal pauses and checks it again.
func (c *checker) hold(r *stage.Record) bool {
	if !c.intact(r, "on arrival") {
		return false
	}
	if c.opts.Pause > 0 && r.Source.Ordinal%int64(max(c.opts.Every, 1)) == 0 {
		time.Sleep(time.Duration(c.opts.Pause))
		return c.intact(r, "after a pause")
	}
	return true
}

func (c *checker) intact(r *stage.Record, when string) bool {
	ord := r.Source.Ordinal
	cat := "seen"
	if c.opts.Unmarked {
		cat = ""
	}
	if ord >= 1 && int(ord) < len(c.seen) && r.Type == stage.Line && string(r.Data) == "r"+strconv.FormatInt(ord, 10) &&
		r.Source.File == "r.txt" && r.Source.Line == ord && r.Source.Offset == ord*10 && r.Category == cat {
		return true
	}
	msg := fmt.Sprintf("%s: record %+v (data %q, category %q) is not the record gen made", when, r.Source, r.Data, r.Category)
	c.bad.CompareAndSwap(nil, &msg)
	return false
}

// batchChecker checks a whole batch on arrival, holds it, and checks it
// again.
type batchChecker struct{ c *checker }

func (b batchChecker) Signature() stage.Signature { return b.c.Signature() }

func (b batchChecker) ProcessBatch(ctx context.Context, records []stage.Record, out stage.Emitter) error {
	for i := range records {
		b.c.intact(&records[i], "on arrival")
	}
	time.Sleep(time.Duration(b.c.opts.Pause))
	for i := range records {
		if b.c.intact(&records[i], "after a pause") {
			b.c.seen[records[i].Source.Ordinal].Add(1)
		}
	}
	return nil
}

// accChecker's accumulators keep copies of the records (values, as the
// contract asks) until Finish, which checks them again.
type accChecker struct{ c *checker }

type checkAcc struct {
	c    *checker
	kept []stage.Record
}

func (a accChecker) Signature() stage.Signature        { return a.c.Signature() }
func (a accChecker) NewAccumulator() stage.Accumulator { return &checkAcc{c: a.c} }

func (a accChecker) Finish(ctx context.Context, acc stage.Accumulator, out stage.Emitter) error {
	kept := acc.(*checkAcc).kept
	for i := range kept {
		if a.c.intact(&kept[i], "kept until the end") {
			a.c.seen[kept[i].Source.Ordinal].Add(1)
		}
	}
	return nil
}

func (a *checkAcc) Add(ctx context.Context, r *stage.Record) error {
	a.c.hold(r)
	a.kept = append(a.kept, *r)
	return nil
}

func (a *checkAcc) Merge(o stage.Accumulator) error {
	a.kept = append(a.kept, o.(*checkAcc).kept...)
	return nil
}

var (
	_ stage.Processor      = (*checker)(nil)
	_ stage.BatchProcessor = batchChecker{}
	_ stage.Aggregator     = accChecker{}
)
