package plugins

import (
	"log/slog"
	"strings"
	"testing"
)

// TestCrashReportIsOneRecord crashes the test plugin with a Go panic: its
// stack trace is one log record (the panic as its message, the trace
// capped, the panic's file:line), not a record per line, and the record's
// error names the line and says what to do, without gRPC's jargon.
func TestCrashReportIsOneRecord(t *testing.T) {
	cfg := testConfig(1, "", nil)
	p, sink := startPool(t, cfg)
	recs := records(4, map[int]string{2: "POISON"})
	got, err := p.Classify(t.Context(), recs)
	if err != nil {
		t.Fatalf("Classify: %v", err)
	}
	checkResults(t, "", recs, got, map[int]error{2: ErrPoisonRecord})
	msg := got[2].Err.Error()
	if m := contains(msg, "panic: poison record", "at testplugin/main.go:", "on_error: dead_letter"); m != "" {
		t.Errorf("poison error %q: %s", msg, m)
	}
	if strings.Contains(msg, "rpc error") || strings.Contains(msg, "code = ") {
		t.Errorf("poison error %q speaks gRPC", msg)
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	crashes := 0
	for _, r := range sink.records {
		switch {
		case strings.HasPrefix(r.Msg, "panic: poison record"):
			crashes++
			if r.Level != slog.LevelWarn || !strings.Contains(r.Attrs["trace"], "goroutine ") || !strings.HasPrefix(r.Attrs["at"], "testplugin/main.go:") {
				t.Errorf("crash record: %v %q %v", r.Level, r.Msg, r.Attrs)
			}
			if n := strings.Count(r.Attrs["trace"], "\n") + 1; n > crashLines {
				t.Errorf("crash record has %d lines of trace, more than %d", n, crashLines)
			}
		case strings.HasPrefix(r.Msg, "goroutine ") || strings.HasPrefix(r.Msg, "\t"):
			t.Errorf("a stack trace line logged on its own: %q", r.Msg)
		}
	}
	// The record crashed the plugin at least twice: once in its batch,
	// once alone (more while bisecting).
	if crashes < 2 {
		t.Errorf("%d crash records, want one per crash (at least 2)", crashes)
	}
}

// TestCrashSiteAndHead checks, on a fatal signal's report, that error
// messages show its head (not the register dump that ends it) and that
// the crash site skips the runtime's and the sdk's frames.
func TestCrashSiteAndHead(t *testing.T) {
	report := []string{
		"panic: boom [recovered, repanicked]",
		"",
		"goroutine 7 [running]:",
		"panic({0x1, 0x2})",
		"\t/usr/lib/go/src/runtime/panic.go:783 +0x132",
		"github.com/sluicehq/sluice/sdk.(*server).classify.func1()",
		"\t/src/sluice/sdk/serve.go:240 +0x45",
		"main.(*classifier).Classify(0x0)",
		"\t/home/me/plug/main.go:97 +0x1b4",
		"created by google.golang.org/grpc.(*Server).serveStreams",
		"\t/go/grpc/server.go:1107 +0x11d",
		"",
		"goroutine 1 [select]:",
		"main.other()",
		"\t/home/me/plug/other.go:5 +0x1",
	}
	if got := crashSite(report); got != "plug/main.go:97" {
		t.Errorf("crashSite = %q, want plug/main.go:97", got)
	}
	o := newOutputLog(slog.New(&logSink{}))
	for _, l := range []string{"starting", "SIGSEGV: segmentation violation", "PC=0x4011 m=0 sigcode=1", "", "goroutine 0 [idle]:"} {
		o.line("stderr", []byte(l))
	}
	for range 40 {
		o.line("stderr", []byte("rax    0x0"))
	}
	o.flush()
	tail := o.Tail()
	if len(tail) == 0 || tail[0] != "SIGSEGV: segmentation violation" || len(tail) > crashHead {
		t.Errorf("Tail = %q, want the report's head", tail)
	}
}
