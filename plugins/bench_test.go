package plugins

import (
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sluicehq/sluice/stage"
)

// cpuTime returns the CPU time (user and system) used so far by this
// process and by the given processes.
func cpuTime(b *testing.B, pids []int) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	total := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	for _, pid := range pids {
		stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			b.Skipf("no /proc: %v", err)
		}
		s := string(stat)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
		utime, _ := strconv.ParseInt(fields[11], 10, 64)
		stime, _ := strconv.ParseInt(fields[12], 10, 64)
		total += time.Duration(utime+stime) * time.Second / 100 // USER_HZ
	}
	return total
}

func benchRecords(n int) []stage.Record { return benchRecordsOf(n, 90) }

// benchRecordsOf returns n line records of about size bytes each.
func benchRecordsOf(n, size int) []stage.Record {
	recs := make([]stage.Record, n)
	for i := range recs {
		recs[i] = stage.Record{
			Type:   stage.Line,
			Data:   []byte(strings.Repeat("x", size) + strconv.Itoa(i)),
			Source: stage.Position{File: "bench.txt", Offset: int64(i) * 100, Line: int64(i + 1), Ordinal: int64(i + 1)},
		}
	}
	return recs
}

// BenchmarkPool measures what classifying through a plugin costs per record,
// with a classifier that does nothing, at the default batching (1024
// records, 2 in flight) and 2 instances, fed by 4 workers, for records of
// 100 bytes and of about 1 KB (W1's). cpu-µs/record counts the CPU time of
// the host and of the plugin processes.
func BenchmarkPool(b *testing.B) {
	for _, size := range []int{90, 910} {
		b.Run(strconv.Itoa(size+10)+"B", func(b *testing.B) {
			benchPool(b, testConfig(2, "", map[string]any{"trivial": true}), benchRecordsOf(1024, size))
		})
	}
}

// benchPool classifies recs through a pool started from cfg, from 4
// workers at once, and reports the CPU time (host and plugins) and the
// wall time per record.
func benchPool(b *testing.B, cfg *Config, recs []stage.Record) {
	p, err := Start(b.Context(), cfg, "bench", nil)
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close(b.Context())
	const workers = 4
	perCall := len(recs)
	pids := p.PIDs()
	b.ResetTimer()
	start := cpuTime(b, pids)
	var wg sync.WaitGroup
	var next sync.Mutex
	left := b.N
	for range workers {
		wg.Go(func() {
			for {
				next.Lock()
				if left <= 0 {
					next.Unlock()
					return
				}
				left--
				next.Unlock()
				if _, err := p.Classify(b.Context(), recs); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	used := cpuTime(b, pids) - start
	n := float64(b.N) * float64(perCall)
	b.ReportMetric(float64(used.Microseconds())/n, "cpu-µs/record")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/record")
}

// BenchmarkInProcess is the same trivial classification as a function call,
// for comparison with BenchmarkPool.
func BenchmarkInProcess(b *testing.B) {
	recs := benchRecords(1024)
	classify := func(recs []stage.Record) []Result {
		out := make([]Result, len(recs))
		for i := range out {
			out[i].Category = "t"
		}
		return out
	}
	start := cpuTime(b, nil)
	for b.Loop() {
		_ = classify(recs)
	}
	used := cpuTime(b, nil) - start
	n := float64(b.N) * 1024
	b.ReportMetric(float64(used.Microseconds())/n, "cpu-µs/record")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/record")
}
