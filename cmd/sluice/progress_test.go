package main

import (
	"bytes"
	"errors"
	"io"
	"math"
	"testing"
	"time"

	"github.com/sluicehq/sluice/engine"
)

// snap makes a snapshot of a three-stage pipeline (files → split → sink)
// at elapsed time t with the given bytes read and queue fills.
func snap(t time.Duration, read, made int64, splitQueue, sinkQueue int) engine.Snapshot {
	st := func(name, kind string, workers int, in, out int64, queued int, outputs ...string) engine.StageSnapshot {
		s := engine.StageSnapshot{Outputs: outputs, Queued: queued}
		s.Name, s.Kind, s.Workers, s.In, s.Out = name, kind, workers, in, out
		if kind != "read" {
			s.QueueCap = 8
		}
		return s
	}
	split := st("split", "split", 2, 1, made, splitQueue, "sink")
	split.Files = 1
	split.Busy = t // one of two workers busy all along
	sink := st("sink", "write", 1, made, 0, sinkQueue)
	return engine.Snapshot{
		Phase: engine.PhaseRunning, Elapsed: t, TotalBytes: 1000, ReadBytes: read, File: "in.xml",
		Stages: []engine.StageSnapshot{st("files", "read", 1, 0, 1, 0, "split"), split, sink},
	}
}

func TestTrackerRatesAndETA(t *testing.T) {
	var tr tracker
	v := tr.update(snap(0, 0, 0, 0, 0))
	if v.etaOK {
		t.Fatal("ETA known before any rate")
	}
	// 100 bytes and 50 records per second, steadily.
	for i := 1; i <= 50; i++ {
		v = tr.update(snap(time.Duration(i)*200*time.Millisecond, int64(i)*20, int64(i)*10, 8, 0))
	}
	if got := v.bytesPerSec; math.Abs(got-100) > 0.01 {
		t.Errorf("bytes/s = %v, want 100", got)
	}
	if got := v.recordsPerSec; math.Abs(got-50) > 0.01 {
		t.Errorf("records/s = %v, want 50", got)
	}
	if !v.known || v.fraction != 1.0 {
		t.Errorf("fraction = %v (known %v), want 1", v.fraction, v.known)
	}
	// At 1000 bytes of 1000 the input is read: no ETA, the stages drain.
	if v.etaOK {
		t.Errorf("ETA %v with the input read", v.eta)
	}
	v = tr.update(snap(0, 0, 0, 0, 0)) // not newer: ignored for rates
	tr = tracker{}
	for i := 0; i <= 10; i++ {
		v = tr.update(snap(time.Duration(i)*time.Second, int64(i)*50, int64(i)*25, 8, 1))
	}
	// 500 of 1000 bytes at 50 bytes/s: 10s left.
	if !v.etaOK || v.eta != 10*time.Second {
		t.Errorf("ETA = %v (ok %v), want 10s", v.eta, v.etaOK)
	}
	if got := formatETA(v.eta); got != "10s" {
		t.Errorf("formatETA = %q", got)
	}
	if got := v.stages[1].busy; math.Abs(got-0.5) > 0.01 {
		t.Errorf("split busy = %v, want 0.5 (one of two workers)", got)
	}
	if got := v.stages[1].rate; math.Abs(got-25) > 0.01 {
		t.Errorf("split rate = %v, want the 25 records/s it makes", got)
	}
	if v.bottleneck != "split" {
		t.Errorf("bottleneck = %q, want split (its queue is full, the next is not)", v.bottleneck)
	}
}

func TestBottleneck(t *testing.T) {
	tests := []struct {
		name             string
		splitQ, sinkQ    int
		want             string
		doneSink, single bool
	}{
		{"nothing full", 0, 0, "", false, false},
		{"split full, sink free", 8, 1, "split", false, false},
		{"both full: the one downstream holds the other back", 8, 8, "sink", false, false},
		{"sink full alone", 0, 7, "sink", false, false},
		{"a finished stage is no bottleneck", 0, 8, "", true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var tr tracker
			var v *view
			for i := 0; i < 20; i++ {
				s := snap(time.Duration(i)*time.Second, int64(i), int64(i), tc.splitQ, tc.sinkQ)
				s.Stages[2].Done = tc.doneSink
				v = tr.update(s)
			}
			if v.bottleneck != tc.want {
				t.Errorf("bottleneck = %q, want %q", v.bottleneck, tc.want)
			}
		})
	}
}

func TestFinalView(t *testing.T) {
	var tr tracker
	tr.update(snap(0, 0, 0, 0, 0))
	v := tr.update(snap(4*time.Second, 990, 400, 8, 0)) // a file failed under skip
	v.final(&engine.Report{Status: engine.StatusOK})
	if v.fraction != 1 || v.etaOK || v.bottleneck != "" || v.status != engine.StatusOK {
		t.Errorf("final view of a successful run: fraction %v, eta %v, bottleneck %q, status %q", v.fraction, v.etaOK, v.bottleneck, v.status)
	}
	if v.recordsPerSec != 100 || v.stages[1].rate != 100 {
		t.Errorf("final rates are not the averages: %v, %v", v.recordsPerSec, v.stages[1].rate)
	}
	v = tr.update(snap(5*time.Second, 500, 400, 8, 0))
	v.final(&engine.Report{Status: engine.StatusInterrupted})
	if v.fraction != 0.5 || v.status != engine.StatusInterrupted {
		t.Errorf("final view of an interrupted run: fraction %v, status %q", v.fraction, v.status)
	}
}

func TestFormat(t *testing.T) {
	for _, tc := range []struct {
		got, want string
	}{
		{formatCount(999), "999"},
		{formatCount(12345), "12.3k"},
		{formatCount(1_204_000), "1.20M"},
		{formatCount(3.4e9), "3.40G"},
		{formatETA(45 * time.Second), "45s"},
		{formatETA(12*time.Minute + 5*time.Second), "12m05s"},
		{formatETA(3*time.Hour + 4*time.Minute + 40*time.Second), "3h05m"},
		{humanRate(1.5 * 1024 * 1024), "1.5 MiB/s"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

type refusing struct{}

func (refusing) Write([]byte) (int, error) { return 0, errors.New("display stopped") }

func TestSwitchWriter(t *testing.T) {
	var base, display bytes.Buffer
	s := &switchWriter{base: &base}
	io.WriteString(s, "a\n")
	s.set(&display)
	io.WriteString(s, "b\n")
	s.set(refusing{})
	io.WriteString(s, "c\n") // refused by the display: goes to base
	s.set(nil)
	io.WriteString(s, "d\n")
	if base.String() != "a\nc\nd\n" || display.String() != "b\n" {
		t.Errorf("base %q, display %q", base.String(), display.String())
	}
}
