//go:build unix

package read_test

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sluicehq/sluice/stage"
	"github.com/sluicehq/sluice/stage/stagetest"
	"github.com/sluicehq/sluice/stages/internal/inputfile"
	"github.com/sluicehq/sluice/stages/read"
)

// mkfifo makes a named pipe that nothing ever writes to: opening it for
// reading blocks forever, which is what issue 14 item 8 met.
func mkfifo(t *testing.T, p string) {
	t.Helper()
	if err := syscall.Mkfifo(p, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
}

// within runs f and fails the test if it has not returned after 10 s (a
// hang on the pipe).
func within(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s hangs on a named pipe", what)
	}
}

// TestFIFORefused: a named pipe as read.path is refused at setup with an
// error naming it, and Open and Plain refuse it without opening it.
func TestFIFORefused(t *testing.T) {
	p := filepath.Join(t.TempDir(), "in.xml")
	mkfifo(t, p)
	var err error
	within(t, "setup", func() {
		_, err = stagetest.Run(context.Background(), build(t, read.Options{Path: p}), nil, stagetest.Options{})
	})
	if err == nil || !strings.Contains(err.Error(), "read "+p+": not a regular file (a named pipe)") || !strings.Contains(err.Error(), "copy the stream to a file") {
		t.Fatalf("got %v, want a refusal naming %s", err, p)
	}
	within(t, "Open", func() { _, err = inputfile.Open(p) })
	if err == nil || !strings.Contains(err.Error(), "named pipe") {
		t.Fatalf("Open: got %v, want a refusal", err)
	}
	var plain bool
	within(t, "Plain", func() { _, plain, err = inputfile.Plain(p) })
	if err != nil || plain {
		t.Fatalf("Plain: got %v, %v; want not plain, no error", plain, err)
	}
}

// TestSpecialFilesSkippedLogged: in a directory, a named pipe and a
// socket are left out, each with a warning naming it.
func TestSpecialFilesSkippedLogged(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "a.xml"), []byte("<a/>"))
	fifo := filepath.Join(dir, "b.xml")
	mkfifo(t, fifo)
	sock := filepath.Join(dir, "c.xml")
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	if err := syscall.Bind(fd, &syscall.SockaddrUnix{Name: sock}); err != nil {
		t.Fatal(err)
	}
	s := build(t, read.Options{Path: dir})
	var logs bytes.Buffer
	env := stage.Env{Stage: "files", Workers: 1, Log: slog.New(slog.NewTextHandler(&logs, nil)), Counters: &stage.Counters{}}
	within(t, "setup", func() { err = s.(stage.Setupper).Setup(context.Background(), env) })
	if err != nil {
		t.Fatal(err)
	}
	if got := s.(stage.Sizer).TotalBytes(); got != 4 {
		t.Fatalf("TotalBytes = %d, want 4 (a.xml only)", got)
	}
	for _, want := range []string{"path=" + fifo + ` type="a named pipe"`, "path=" + sock + ` type="a socket"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
	if n := strings.Count(logs.String(), "special file skipped"); n != 2 {
		t.Errorf("%d warnings, want 2:\n%s", n, logs.String())
	}
}
