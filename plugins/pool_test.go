package plugins

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sluicehq/sluice/stage"
)

// records returns n line records whose data is "rec-<i>", with the given
// data substituted at the given indexes.
func records(n int, special map[int]string) []stage.Record {
	out := make([]stage.Record, n)
	for i := range out {
		data := "rec-" + strconv.Itoa(i)
		if s, ok := special[i]; ok {
			data = s
		}
		out[i] = stage.Record{
			Type:   stage.Line,
			Data:   []byte(data),
			Source: stage.Position{File: "in.txt", Offset: int64(i * 10), Line: int64(i + 1), Ordinal: int64(i + 1)},
		}
	}
	return out
}

// want is what the test plugin answers for a record it classifies.
func want(prefix string, r stage.Record) Result {
	labels := map[string]string{
		"kind":    strings.ToLower(r.Type.String()),
		"file":    r.Source.File,
		"offset":  strconv.FormatInt(r.Source.Offset, 10),
		"line":    strconv.FormatInt(r.Source.Line, 10),
		"ordinal": strconv.FormatInt(r.Source.Ordinal, 10),
		"prev":    r.Category,
	}
	if r.Header != nil {
		for i, name := range r.Header.Names {
			labels["field."+name] = r.Fields[i]
		}
	}
	for k, v := range r.Labels {
		labels["label."+k] = v
	}
	return Result{Category: prefix + strings.ToUpper(string(r.Data)), Labels: labels}
}

// checkResults compares results with what the test plugin answers, except
// at the indexes in errs, where it expects an error matching the target (any
// error for a nil target).
func checkResults(t *testing.T, prefix string, recs []stage.Record, got []Result, errs map[int]error) {
	t.Helper()
	if len(got) != len(recs) {
		t.Errorf("got %d results for %d records", len(got), len(recs))
		return
	}
	for i, r := range recs {
		if target, ok := errs[i]; ok {
			if got[i].Err == nil || target != nil && !errors.Is(got[i].Err, target) {
				t.Errorf("record %d: got error %v, want %v", i, got[i].Err, target)
			}
			continue
		}
		if got[i].Err != nil {
			t.Errorf("record %d (%q): unexpected error %v", i, r.Data, got[i].Err)
			continue
		}
		if diff := cmp.Diff(want(prefix, r), got[i]); diff != "" {
			t.Errorf("record %d (%q): (-want +got)\n%s", i, r.Data, diff)
		}
	}
}

func TestClassify(t *testing.T) {
	for _, tls := range []bool{true, false} {
		for _, shared := range []bool{true, false} {
			t.Run(fmt.Sprintf("tls %v shared memory %v", tls, shared), func(t *testing.T) { testClassify(t, tls, shared) })
		}
	}
}

// testClassify classifies records of every kind through a pool, with the
// Go plugin's connection under TLS (the default) or not (plugin.tls), and
// the records in shared memory (the default) or not (plugin.shared_memory).
func testClassify(t *testing.T, tls, shared bool) {
	cfg := testConfig(2, "", map[string]any{"prefix": "x:"})
	cfg.BatchSize = 7
	cfg.BatchBytes = 1024 // small slots of shared memory, so that a record can outgrow them
	cfg.TLS = &tls
	cfg.SharedMemory = shared
	p, _ := startPool(t, cfg)
	huge := strings.Repeat("h", sharedSlotBytes(cfg)+1)
	hdr := stage.NewHeader([]string{"id", "name"})
	csv := []stage.Record{
		{Type: stage.CSV, Data: []byte("1,ada"), Header: hdr, Fields: []string{"1", "ada"}, Source: stage.Position{File: "a.csv", Offset: 8, Line: 2, Ordinal: 1}},
		{Type: stage.CSV, Data: []byte("2,bob"), Header: hdr, Fields: []string{"2", "bob"}, Source: stage.Position{File: "a.csv", Offset: 14, Line: 3, Ordinal: 2}, Category: "old", Labels: map[string]string{"k": "v"}},
	}
	xml := []stage.Record{{Type: stage.XML, Data: []byte(`<record id="r1"/>`), Source: stage.Position{File: "b.xml"}}}
	mixed := append(append(records(30, nil), csv...), xml...)

	tests := []struct {
		name string
		recs []stage.Record
		errs map[int]error
	}{
		{"empty", nil, nil},
		{"one", records(1, nil), nil},
		{"several batches", records(50, nil), nil},
		{"kinds, headers, positions and labels", mixed, nil},
		{"rejected records", records(20, map[int]string{3: "REJECT me", 15: "REJECT"}), map[int]error{3: nil, 15: nil}},
		{"a record larger than a slot of shared memory", records(9, map[int]string{4: huge}), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := p.Classify(t.Context(), tt.recs)
			if err != nil {
				t.Fatalf("Classify: %v", err)
			}
			checkResults(t, "x:", tt.recs, got, tt.errs)
			for i := range tt.errs {
				if msg := contains(got[i].Err.Error(), `plugin "testplugin"`, "cannot classify"); msg != "" {
					t.Errorf("record %d: error %q: %s", i, got[i].Err, msg)
				}
			}
		})
	}
	if n := p.Restarts(); n != 0 {
		t.Errorf("Restarts() = %d, want 0", n)
	}
	// The huge record went over the socket in any case; the rest went
	// through shared memory where there is some.
	viaShared, viaSocket := p.sentShared.Load(), p.sentSocket.Load()
	if viaSocket == 0 {
		t.Errorf("no batch went over the socket")
	}
	if wantShared := shared && runtime.GOOS == "linux"; (viaShared > 0) != wantShared {
		t.Errorf("%d batches went through shared memory (and %d over the socket); want some: %v", viaShared, viaSocket, wantShared)
	}
	d := p.Description()
	if d.Name != "testplugin" || d.Version != "0.0.1" || d.Accepts != stage.Records || d.SDK == "" {
		t.Errorf("Description() = %+v", d)
	}
}

// TestPluginWithoutSharedMemory checks that a plugin that does not map the
// shared memory (an older sdk's) gets every batch over the socket.
func TestPluginWithoutSharedMemory(t *testing.T) {
	p, _ := startPool(t, testConfig(2, "no-shared-memory", map[string]any{"prefix": "x:"}))
	recs := records(3000, nil)
	got, err := p.Classify(t.Context(), recs)
	if err != nil {
		t.Fatal(err)
	}
	checkResults(t, "x:", recs, got, nil)
	if shared, socket := p.sentShared.Load(), p.sentSocket.Load(); shared != 0 || socket == 0 {
		t.Errorf("%d batches went through shared memory and %d over the socket; want all over the socket", shared, socket)
	}
	for _, inst := range p.insts {
		if inst != nil && inst.shm != nil {
			t.Errorf("instance %d keeps shared memory the plugin does not use", inst.slot)
		}
	}
}

func TestBatchError(t *testing.T) {
	p, _ := startPool(t, testConfig(1, "", map[string]any{"batch_error": "index not loaded"}))
	got, err := p.Classify(t.Context(), records(3, nil))
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range got {
		if r.Err == nil || !strings.Contains(r.Err.Error(), "index not loaded") {
			t.Errorf("record %d: got %+v, want the batch's error", i, r)
		}
	}
}

func TestStderrIsLogged(t *testing.T) {
	cfg := testConfig(1, "", map[string]any{"chatty": true})
	p, sink := startPool(t, cfg)
	for _, line := range []string{"hello through os.Stdout", "hello through file descriptor 1", "hello through the log package"} {
		// os.Stdout is forwarded over gRPC, so its lines may lag a little.
		if _, ok := sink.await(2*time.Second, func(r logRecord) bool {
			return strings.Contains(r.Msg, line) && r.Attrs["plugin"] == "testplugin"
		}); !ok {
			t.Errorf("the plugin's output %q was not logged", line)
		}
	}
	if _, ok := sink.find(func(r logRecord) bool {
		return strings.Contains(r.Msg, "testplugin: instance 0 of 1 ready for stage labelled") &&
			r.Attrs["plugin"] == "testplugin" && r.Attrs["stage"] == "labelled" && r.Attrs["stream"] == "stderr"
	}); !ok {
		t.Errorf("the plugin's stderr line was not logged with plugin, stage and stream")
	}
	if err := p.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, ok := sink.find(func(r logRecord) bool { return strings.Contains(r.Msg, "testplugin: shutdown called") }); !ok {
		t.Errorf("Close did not call the plugin's Shutdown (its stderr line is missing)")
	}
	if _, err := p.Classify(t.Context(), records(1, nil)); !errors.Is(err, ErrClosed) {
		t.Errorf("Classify after Close: got %v, want ErrClosed", err)
	}
}

func TestPoisonRecord(t *testing.T) {
	tests := []struct {
		name   string
		n      int
		poison []int
	}{
		{"middle", 64, []int{37}},
		{"first", 64, []int{0}},
		{"last", 64, []int{63}},
		{"alone", 1, []int{0}},
		{"two in one batch", 64, []int{5, 50}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(2, "", nil)
			cfg.MaxRestarts = 2
			p, _ := startPool(t, cfg)
			special, errs := map[int]string{}, map[int]error{}
			for _, i := range tt.poison {
				special[i] = fmt.Sprintf("POISON-%d", i)
				errs[i] = ErrPoisonRecord
			}
			recs := records(tt.n, special)
			got, err := p.Classify(t.Context(), recs)
			if err != nil {
				t.Fatalf("Classify: %v", err)
			}
			checkResults(t, "", recs, got, errs)
			for _, i := range tt.poison {
				if msg := contains(got[i].Err.Error(), `plugin "testplugin"`, "crashed", "panic: poison record"); msg != "" {
					t.Errorf("poison error %q: %s", got[i].Err, msg)
				}
			}
			if p.Restarts() < 2*len(tt.poison) {
				t.Errorf("Restarts() = %d; a poison record costs at least two", p.Restarts())
			}
			// The pool is still usable, and the budget was not used up.
			again, err := p.Classify(t.Context(), records(10, nil))
			if err != nil {
				t.Fatalf("Classify after isolating: %v", err)
			}
			checkResults(t, "", records(10, nil), again, nil)
		})
	}
}

func TestHangingRecord(t *testing.T) {
	cfg := testConfig(1, "", nil)
	cfg.Timeout = stage.Duration(500 * time.Millisecond)
	cfg.BatchSize = 4
	p, _ := startPool(t, cfg)
	recs := records(4, map[int]string{2: "HANG"})
	got, err := p.Classify(t.Context(), recs)
	if err != nil {
		t.Fatalf("Classify: %v", err)
	}
	checkResults(t, "", recs, got, map[int]error{2: ErrPoisonRecord})
	if msg := contains(got[2].Err.Error(), "hung", "500ms"); msg != "" {
		t.Errorf("hang error %q: %s", got[2].Err, msg)
	}
}

// TestHangCost counts the timeouts (each one a restart) that isolating
// hanging records costs in a batch of 32: the batch's own timeout, then one
// per hanging record once the batch's records are sent as one-record
// batches, where the first one not answered is the hanging one, whether
// the plugin answers batches in order (the sdk's default) or several at
// once. Bisection cost 3 + log2(32) = 8 for one.
func TestHangCost(t *testing.T) {
	for _, tc := range []struct {
		name        string
		hang        []int
		concurrency int
		restarts    int
	}{
		{"one", []int{13}, 1, 2},
		{"first", []int{0}, 1, 2},
		{"last", []int{31}, 1, 2},
		{"two", []int{5, 20}, 1, 3},
		{"adjacent", []int{7, 8}, 1, 3},
		{"concurrent", []int{13}, 4, 2},
		{"concurrent two", []int{13, 20}, 4, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(1, "", nil)
			cfg.Env = map[string]string{"TESTPLUGIN_CONCURRENCY": strconv.Itoa(tc.concurrency)}
			cfg.InFlight = 4
			cfg.Timeout = stage.Duration(300 * time.Millisecond)
			cfg.BatchSize = 32
			cfg.MaxRestarts = 2
			p, _ := startPool(t, cfg)
			special, errs := map[int]string{}, map[int]error{}
			for _, i := range tc.hang {
				special[i], errs[i] = "HANG-"+strconv.Itoa(i), ErrPoisonRecord
			}
			recs := records(32, special)
			got, err := p.Classify(t.Context(), recs)
			if err != nil {
				t.Fatalf("Classify: %v", err)
			}
			checkResults(t, "", recs, got, errs)
			if n := p.Restarts(); n != tc.restarts {
				t.Errorf("isolating %d hanging records cost %d timeouts, want %d", len(tc.hang), n, tc.restarts)
			}
			// Answering at once, the plugin answers every record but the
			// hanging ones the first time they are sent alone, and the
			// first hanging one is poison then: the batch, its records,
			// and each further hanging record again.
			if sent := p.sentShared.Load() + p.sentSocket.Load(); tc.concurrency > 1 && sent != int64(1+32+len(tc.hang)-1) {
				t.Errorf("%d batches sent, want %d", sent, 1+32+len(tc.hang)-1)
			}
			// The isolation is forgiven: max_restarts is not used up.
			again, err := p.Classify(t.Context(), records(8, nil))
			if err != nil {
				t.Fatalf("Classify after isolating: %v", err)
			}
			checkResults(t, "", records(8, nil), again, nil)
		})
	}
}

// TestHangThenCrash has a batch with a record that hangs and, after it, one
// that crashes the plugin: the crash happens while the batch's records are
// sent one by one, so the records left are bisected, and each of the two
// is isolated with every other record classified.
func TestHangThenCrash(t *testing.T) {
	cfg := testConfig(1, "", nil)
	cfg.Timeout = stage.Duration(300 * time.Millisecond)
	cfg.BatchSize = 32
	cfg.MaxRestarts = 2
	p, _ := startPool(t, cfg)
	recs := records(32, map[int]string{5: "HANG", 20: "POISON"})
	got, err := p.Classify(t.Context(), recs)
	if err != nil {
		t.Fatalf("Classify: %v", err)
	}
	checkResults(t, "", recs, got, map[int]error{5: ErrPoisonRecord, 20: ErrPoisonRecord})
	if msg := contains(got[5].Err.Error(), "hung"); msg != "" {
		t.Errorf("hang error %q: %s", got[5].Err, msg)
	}
	if msg := contains(got[20].Err.Error(), "crashed"); msg != "" {
		t.Errorf("crash error %q: %s", got[20].Err, msg)
	}
}

// TestHangOnEverything has a plugin slower than plugin.timeout on every
// batch: isolating hanging records must not hold its restarts aside for
// long, so the run fails on max_restarts after a few timeouts.
func TestHangOnEverything(t *testing.T) {
	cfg := testConfig(1, "", map[string]any{"sleep": "2s"})
	cfg.Timeout = stage.Duration(200 * time.Millisecond)
	cfg.BatchSize = 32
	cfg.MaxRestarts = 2
	p, _ := startPool(t, cfg)
	_, err := p.Classify(t.Context(), records(32, nil))
	if !errors.Is(err, ErrTooManyRestarts) {
		t.Fatalf("Classify: got %v, want ErrTooManyRestarts", err)
	}
	if n := p.Restarts(); n > 2+bitsLen(32)+2 {
		t.Errorf("Restarts() = %d before giving up, want a few", n)
	}
}

func TestTooManyRestarts(t *testing.T) {
	cfg := testConfig(1, "", map[string]any{"crash_always": true})
	cfg.MaxRestarts = 2
	p, _ := startPool(t, cfg)
	_, err := p.Classify(t.Context(), records(16, nil))
	if !errors.Is(err, ErrTooManyRestarts) {
		t.Fatalf("Classify: got %v, want ErrTooManyRestarts", err)
	}
	if !stage.IsFatal(err) {
		t.Errorf("the error is not marked core.Fatal")
	}
	if msg := contains(err.Error(), `plugin "testplugin"`, `stage "labelled"`, "max_restarts", "crashing on every batch"); msg != "" {
		t.Errorf("error %q: %s", err, msg)
	}
	// Poison isolation may hold restarts aside, but a plugin that crashes
	// on everything must not get many more than its budget.
	if n := p.Restarts(); n > 2+bitsLen(16)+2 {
		t.Errorf("Restarts() = %d before giving up, want a few", n)
	}
	if _, err := p.Classify(t.Context(), records(1, nil)); !errors.Is(err, ErrTooManyRestarts) {
		t.Errorf("Classify after the budget: got %v, want ErrTooManyRestarts again", err)
	}
}

func bitsLen(n int) int { return len(strconv.FormatInt(int64(n), 2)) }

// TestKilledRepeatedly SIGKILLs a plugin process every 250ms while several
// workers classify, until it has killed 8 times, and checks that every
// result is the one a clean run gives.
func TestKilledRepeatedly(t *testing.T) {
	cfg := testConfig(2, "", map[string]any{"prefix": "k:", "sleep": "5ms"})
	cfg.BatchSize = 25
	cfg.MaxRestarts = 1000
	p, _ := startPool(t, cfg)

	const wantKills = 8
	done := make(chan struct{}) // closed after wantKills kills
	var killer sync.WaitGroup
	kills := 0
	killer.Go(func() {
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for i := 0; kills < wantKills; i++ {
			<-tick.C
			if pids := p.PIDs(); len(pids) > 0 && syscall.Kill(pids[i%len(pids)], syscall.SIGKILL) == nil {
				kills++
			}
		}
		close(done)
	})

	const workers, round = 4, 100
	var wg sync.WaitGroup
	errs := make([]error, workers)
	rounds := make([]int, workers)
	for w := range workers {
		wg.Go(func() {
			for r := 0; ; r++ {
				select {
				case <-done:
					return
				default:
				}
				recs := records(round, nil)
				for i := range recs {
					recs[i].Data = fmt.Appendf(nil, "w%d-r%d-%d", w, r, i)
				}
				got, err := p.Classify(t.Context(), recs)
				if err != nil {
					errs[w] = err
					return
				}
				checkResults(t, "k:", recs, got, nil)
				rounds[w]++
			}
		})
	}
	wg.Wait()
	killer.Wait()
	for w, err := range errs {
		if err != nil {
			t.Errorf("worker %d: %v", w, err)
		}
	}
	if p.Restarts() < wantKills {
		t.Errorf("Restarts() = %d after %d kills", p.Restarts(), kills)
	}
	t.Logf("%d kills, %d restarts, rounds per worker %v", kills, p.Restarts(), rounds)
}

func TestNotAccepted(t *testing.T) {
	cfg := testConfig(1, "", nil)
	cfg.Env = map[string]string{"TESTPLUGIN_ACCEPTS": "csv"}
	p, _ := startPool(t, cfg)
	if got := p.Description().Accepts; got != stage.CSV {
		t.Fatalf("Accepts = %v, want csv", got)
	}
	hdr := stage.NewHeader([]string{"a"})
	recs := []stage.Record{
		{Type: stage.Line, Data: []byte("l")},
		{Type: stage.CSV, Data: []byte("x"), Header: hdr, Fields: []string{"x"}},
		{Type: stage.XML, Data: []byte("<r/>")},
		{Type: stage.CSV, Data: []byte("y"), Header: hdr, Fields: []string{"y"}},
	}
	got, err := p.Classify(t.Context(), recs)
	if err != nil {
		t.Fatal(err)
	}
	checkResults(t, "", recs, got, map[int]error{0: ErrNotAccepted, 2: ErrNotAccepted})
	if msg := contains(got[2].Err.Error(), "accepts csv, not xml"); msg != "" {
		t.Errorf("error %q: %s", got[2].Err, msg)
	}
}

// TestQueuedBatchesDoNotTimeOut sends batches that the plugin answers one
// at a time, each well within the timeout (a tenth of it, so that a loaded
// machine does not make one late), but together over it.
func TestQueuedBatchesDoNotTimeOut(t *testing.T) {
	cfg := testConfig(1, "", map[string]any{"sleep": "100ms"})
	cfg.Timeout = stage.Duration(time.Second)
	cfg.InFlight = 12
	cfg.BatchSize = 1
	p, _ := startPool(t, cfg)
	recs := records(12, nil)
	got, err := p.Classify(t.Context(), recs)
	if err != nil {
		t.Fatal(err)
	}
	checkResults(t, "", recs, got, nil)
	if n := p.Restarts(); n != 0 {
		t.Errorf("Restarts() = %d: a queued batch was taken for a hung one", n)
	}
}

// TestCancelWhileHung cancels a Classify stuck on a hanging plugin, long
// before the plugin's timeout: it returns the context's error at once, and
// Close still stops the plugin.
func TestCancelWhileHung(t *testing.T) {
	cfg := testConfig(1, "", nil)
	cfg.Timeout = stage.Duration(time.Minute)
	p, _ := startPool(t, cfg)
	ctx, cancel := contextWithCancelAfter(t, 200*time.Millisecond)
	defer cancel()
	_, err := p.Classify(ctx, records(3, map[int]string{1: "HANG"}))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Classify: got %v, want context.Canceled", err)
	}
}

// TestPoisonSparesBystanders classifies many batches at once on shared
// instances while one of them holds a poison record: the crashes it causes
// hit the other batches in flight on the same instance, and none of their
// records may be taken for poison.
func TestPoisonSparesBystanders(t *testing.T) {
	cfg := testConfig(2, "", nil)
	cfg.InFlight = 4
	cfg.BatchSize = 8
	cfg.MaxRestarts = 50
	p, _ := startPool(t, cfg)
	for round := 0; round < 5; round++ {
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for w := 0; w < 8; w++ {
			special := map[int]string{}
			if w == 3 {
				special[5] = "POISON"
			}
			recs := records(40, special)
			wg.Add(1)
			go func() {
				defer wg.Done()
				got, err := p.Classify(t.Context(), recs)
				if err != nil {
					errs[w] = err
					return
				}
				for i, r := range got {
					if poisoned := r.Err != nil; poisoned != (special[i] != "") {
						errs[w] = fmt.Errorf("round %d, batch %d, record %d (%s): error %v", round, w, i, recs[i].Data, r.Err)
						return
					}
				}
			}()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
	}
}
