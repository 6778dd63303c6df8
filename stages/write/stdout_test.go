package write

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/sluicehq/sluice/stage"
	"github.com/sluicehq/sluice/stage/stagetest"
)

// TestStdout: dir "-" writes every record, whatever its category, to one
// output copied to standard output once the run is committed; an aborted
// run prints nothing; no staging is left in the temporary directory.
func TestStdout(t *testing.T) {
	in := []stage.Record{lineRec(stage.JSON, "a", `{"n": 1}`), lineRec(stage.JSON, "b", `{"n": 2}`), lineRec(stage.JSON, "", `{"n": 3}`)}
	for _, abort := range []bool{false, true} {
		tmp := t.TempDir()
		t.Setenv("TMPDIR", tmp)
		w, _ := newWriter(t, func(o *Options) { o.Dir = "-" })
		var out bytes.Buffer
		w.out = &out
		if _, err := stagetest.Run(context.Background(), w, in, stagetest.Options{FailOnReject: true, NoCommit: abort}); err != nil {
			t.Fatal(err)
		}
		want := "{\"n\": 1}\n{\"n\": 2}\n{\"n\": 3}\n"
		if abort {
			want = ""
		}
		if out.String() != want {
			t.Errorf("abort %v: stdout %q, want %q", abort, out.String(), want)
		}
		if left, _ := os.ReadDir(tmp); len(left) != 0 {
			t.Errorf("abort %v: %v left in the temporary directory", abort, left)
		}
		if outs := w.Outputs(); !abort && (len(outs) != 1 || outs[0].Path != "-" || outs[0].Records != 3 || outs[0].Bytes != int64(len(want))) {
			t.Errorf("Outputs() = %+v", outs)
		}
	}
}

// TestStdoutRefusesSplits: a split by category or label, and records of a
// second kind, are refused with a message saying what to do.
func TestStdoutRefusesSplits(t *testing.T) {
	for _, by := range []string{"category", "label:x"} {
		o := DefaultOptions()
		o.Dir, o.By = "-", by
		_, err := New(o)
		if err == nil || !strings.Contains(err.Error(), "standard output (dir: -) is one output, with no split by category or label: leave by out") {
			t.Errorf("by %s: error %v", by, err)
		}
	}
	t.Setenv("TMPDIR", t.TempDir())
	w, _ := newWriter(t, func(o *Options) { o.Dir = "-" })
	w.out = &bytes.Buffer{}
	res, err := stagetest.Run(context.Background(), w, []stage.Record{lineRec(stage.JSON, "a", `{}`), xmlRec("a", 1)}, stagetest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rejected) != 1 || !strings.Contains(res.Rejected[0].Err.Error(), "standard output already holds json records, not xml ones: write to a directory") {
		t.Errorf("rejected %+v, want the xml record refused", res.Rejected)
	}
}

// brokenPipe is a standard output whose reader has gone.
type brokenPipe struct{}

func (brokenPipe) Write([]byte) (int, error) { return 0, syscall.EPIPE }

// TestStdoutCopyFails: a copy to standard output that fails after the
// commit is the stage's error (the run fails with it), not only a log line.
func TestStdoutCopyFails(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	w, _ := newWriter(t, func(o *Options) { o.Dir = "-" })
	w.out = brokenPipe{}
	in := []stage.Record{lineRec(stage.JSON, "a", `{"n": 1}`)}
	_, err := stagetest.Run(context.Background(), w, in, stagetest.Options{FailOnReject: true})
	if err == nil || !errors.Is(err, syscall.EPIPE) || !strings.Contains(err.Error(), "standard output") {
		t.Fatalf("err = %v, want the failed copy to standard output", err)
	}
}
