package write

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/engine"
	"github.com/sluicehq/sluice/stage"
)

// behindCall is one write-behind system call, as a fake records it.
type behindCall struct {
	op      string // "writeback" or "drop"
	file    string // the staged file's base name
	off, n  int64
	written int64 // the file's size on disk when it was made
}

// fakeBehind replaces write-behind's system calls for the test; fail, when
// set, makes startWriteback fail for the files it names.
func fakeBehind(t *testing.T, fail func(name string) bool) *[]behindCall {
	var calls []behindCall
	record := func(op string) func(fh *os.File, off, n int64) error {
		return func(fh *os.File, off, n int64) error {
			st, err := fh.Stat()
			if err != nil {
				t.Fatal(err)
			}
			name := filepath.Base(fh.Name())
			calls = append(calls, behindCall{op, name, off, n, st.Size()})
			if op == "writeback" && fail != nil && fail(name) {
				return errors.New("injected")
			}
			return nil
		}
	}
	oldStart, oldDrop := startWriteback, dropCached
	startWriteback, dropCached = record("writeback"), record("drop")
	t.Cleanup(func() { startWriteback, dropCached = oldStart, oldDrop })
	return &calls
}

// writeKeys writes rounds records of about 1 KB to each of keys, in
// interleaved order, with max_open 2 so that files are closed and
// reopened, and returns the output directory.
func writeKeys(t *testing.T, keys []string, rounds int, edit func(*Options)) string {
	t.Helper()
	w, dir := newWriter(t, func(o *Options) {
		o.MaxOpen = 2
		o.Buffer = 4 << 10
		o.WriteBehind = 64 << 10
		if edit != nil {
			edit(o)
		}
	})
	ctx := context.Background()
	if err := w.Setup(ctx, env()); err != nil {
		t.Fatal(err)
	}
	for i := range rounds {
		for _, key := range keys {
			r := lineRec(stage.XML, key, fmt.Sprintf(`<r n="%d">%s</r>`, i, strings.Repeat("x", 1000)))
			if err := w.Process(ctx, &r, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Finish(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if err := engine.Commit(ctx, w); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestWriteBehind checks the calls write-behind makes: for each file, the
// writeback of every write_behind step in order, each started once its
// bytes were written, and the dropping of what lies behindSteps steps
// back, never of bytes whose writeback was not started; across closing
// and reopening the file.
func TestWriteBehind(t *testing.T) {
	calls := fakeBehind(t, nil)
	const step, rounds = 64 << 10, 400 // about 400 KB per file: 6 steps
	keys := []string{"a", "b", "c"}
	dir := writeKeys(t, keys, rounds, nil)

	type progress struct{ flushed, dropped int64 }
	seen := map[string]*progress{}
	for _, c := range *calls {
		p := seen[c.file]
		if p == nil {
			p = &progress{}
			seen[c.file] = p
		}
		switch c.op {
		case "writeback":
			if c.off != p.flushed || c.n < step || c.off+c.n > c.written {
				t.Fatalf("%s: writeback of [%d, %d) with %d bytes written and [0, %d) started before", c.file, c.off, c.off+c.n, c.written, p.flushed)
			}
			p.flushed = c.off + c.n
		case "drop":
			if c.off != p.dropped || c.off+c.n != p.flushed-behindSteps*step {
				t.Fatalf("%s: dropping [%d, %d) with the writeback of [0, %d) started, [0, %d) dropped before", c.file, c.off, c.off+c.n, p.flushed, p.dropped)
			}
			p.dropped = c.off + c.n
		}
	}
	if len(seen) != len(keys) {
		t.Fatalf("write-behind saw files %v, want one per key %v", seen, keys)
	}
	for _, key := range keys {
		data, err := os.ReadFile(filepath.Join(dir, key+".xml"))
		if err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(string(data), "<r n="); n != rounds {
			t.Errorf("%s: %d records, want %d", key, n, rounds)
		}
		p := seen[key+".xml"] // staged under its final name
		size := int64(len(data))
		if p == nil || p.flushed < size-2*step || p.dropped != p.flushed-behindSteps*step {
			t.Errorf("%s (%d bytes): writeback started for %+v", key, size, p)
		}
	}
}

// TestWriteBehindFailureTurnsItOff checks that a failed call stops
// write-behind for its file, without failing the write or touching the
// other files.
func TestWriteBehindFailureTurnsItOff(t *testing.T) {
	calls := fakeBehind(t, func(name string) bool { return strings.Contains(name, "bad") })
	dir := writeKeys(t, []string{"bad", "good"}, 400, nil)
	count := map[string]int{}
	for _, c := range *calls {
		for _, key := range []string{"bad", "good"} {
			if strings.Contains(c.file, key) {
				count[key+" "+c.op]++
			}
		}
	}
	if count["bad writeback"] != 1 || count["bad drop"] != 0 {
		t.Errorf("the failing file got %d writebacks and %d drops, want 1 and 0", count["bad writeback"], count["bad drop"])
	}
	if count["good writeback"] < 5 || count["good drop"] < 1 {
		t.Errorf("the other file got %d writebacks and %d drops", count["good writeback"], count["good drop"])
	}
	for _, key := range []string{"bad", "good"} {
		data, err := os.ReadFile(filepath.Join(dir, key+".xml"))
		if err != nil || strings.Count(string(data), "<r n=") != 400 {
			t.Errorf("%s: %d records, %v", key, strings.Count(string(data), "<r n="), err)
		}
	}
}

// TestWriteBehindOff checks that write_behind: 0 makes no call, and that
// the real system calls (on Linux) leave the outputs whole.
func TestWriteBehindOff(t *testing.T) {
	calls := fakeBehind(t, nil)
	writeKeys(t, []string{"a"}, 400, func(o *Options) { o.WriteBehind = 0 })
	if len(*calls) != 0 {
		t.Fatalf("write_behind: 0 made %d calls: %v", len(*calls), (*calls)[0])
	}
}

func TestWriteBehindRealCalls(t *testing.T) {
	dir := writeKeys(t, []string{"a", "b"}, 400, func(o *Options) { o.Sync = true })
	for _, key := range []string{"a", "b"} {
		data, err := os.ReadFile(filepath.Join(dir, key+".xml"))
		if err != nil || strings.Count(string(data), "<r n=") != 400 || !strings.HasSuffix(string(data), "</records>\n") {
			t.Errorf("%s: %d records, %v", key, strings.Count(string(data), "<r n="), err)
		}
	}
}
