package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// measurement is what one run of a command cost.
type measurement struct {
	Wall time.Duration
	// CPU is user + system time of the process and of every descendant it
	// waited for (a Python pool's workers included).
	CPU time.Duration
	// PeakMem is the most memory the process tree held at once, in bytes:
	// the larger of the root's own peak RSS (VmHWM, kept by the kernel, read
	// at every sample) and the largest sum, over the tree, of each process's
	// PSS (RSS with shared pages divided among the processes sharing them,
	// so that forked workers are not counted twice) sampled every
	// sampleEvery. (The rusage maxrss of a child is not used: Linux carries
	// the parent's peak over into it at exec.)
	PeakMem int64
	// Stderr holds the command's last lines of standard error.
	Stderr string
}

const sampleEvery = 50 * time.Millisecond

// measure runs cmd to completion and measures it. A run that fails is an
// error carrying the end of its standard error.
func measure(ctx context.Context, cmd *exec.Cmd) (measurement, error) {
	var m measurement
	var stderr tail
	cmd.Stderr = &stderr
	if cmd.Stdout == nil {
		cmd.Stdout = &stderr
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return m, fmt.Errorf("start %s: %w", cmd.Path, err)
	}
	done := make(chan struct{})
	peak := make(chan int64, 1)
	go func() {
		var most int64
		t := time.NewTicker(sampleEvery)
		defer t.Stop()
		for {
			most = max(most, treeMemory(cmd.Process.Pid), highWater(cmd.Process.Pid))
			select {
			case <-done:
				peak <- most
				return
			case <-t.C:
			}
		}
	}()
	err := cmd.Wait()
	m.Wall = time.Since(start)
	close(done)
	m.PeakMem = <-peak
	m.Stderr = stderr.String()
	if st := cmd.ProcessState; st != nil {
		m.CPU = st.UserTime() + st.SystemTime()
	}
	if err != nil {
		if ctx.Err() != nil {
			return m, ctx.Err()
		}
		return m, fmt.Errorf("%s: %w\n%s", strings.Join(cmd.Args, " "), err, m.Stderr)
	}
	return m, nil
}

// treeMemory returns the summed PSS (or RSS where PSS is not available) of
// pid and its descendants, in bytes; 0 when pid has gone.
func treeMemory(pid int) int64 {
	var total int64
	for _, p := range descendants(pid, 0) {
		total += processMemory(p)
	}
	return total
}

// highWater returns the peak RSS of process pid (VmHWM in
// /proc/PID/status), in bytes; 0 when it is not known.
func highWater(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// descendants returns pid and every process below it, through
// /proc/PID/task/TID/children.
func descendants(pid, depth int) []int {
	out := []int{pid}
	if depth > 16 {
		return out
	}
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, f := range tasks {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, field := range strings.Fields(string(b)) {
			if c, err := strconv.Atoi(field); err == nil {
				out = append(out, descendants(c, depth+1)...)
			}
		}
	}
	return out
}

// processMemory returns one process's PSS from /proc/PID/smaps_rollup, or
// its RSS from /proc/PID/statm, in bytes.
func processMemory(pid int) int64 {
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid)); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "Pss:"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
				return kb * 1024
			}
		}
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/statm", pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

// tail keeps the last 4 KiB written to it.
type tail struct{ b []byte }

func (t *tail) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > 8<<10 {
		t.b = append(t.b[:0], t.b[len(t.b)-4<<10:]...)
	}
	return len(p), nil
}

func (t *tail) String() string { return string(t.b) }

// median returns the run with the median wall time (the lower middle one
// for an even number of runs).
func median(runs []measurement) measurement {
	s := append([]measurement(nil), runs...)
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j].Wall < s[j-1].Wall; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return s[(len(s)-1)/2]
}
