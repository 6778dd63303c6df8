package read_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/sluicehq/sluice/stages/internal/inputfile"
)

// TestPlain: a regular uncompressed file can be read by ranges; compressed
// files and pipes cannot, and Plain does not read from a pipe.
func TestPlain(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "a.txt")
	os.WriteFile(plain, []byte("hello\n"), 0o644)
	gz := filepath.Join(dir, "a.gz")
	os.WriteFile(gz, []byte{0x1f, 0x8b, 8, 0, 0, 0}, 0o644)
	fifo := filepath.Join(dir, "p")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skip("no fifo here:", err)
	}
	// Opening a fifo for reading blocks until a writer comes: keep one.
	go func() {
		if w, err := os.OpenFile(fifo, os.O_WRONLY, 0); err == nil {
			defer w.Close()
			w.Write([]byte("data"))
		}
	}()
	for _, tc := range []struct {
		path  string
		size  int64
		plain bool
	}{{plain, 6, true}, {gz, 6, false}, {fifo, 0, false}} {
		size, ok, err := inputfile.Plain(tc.path)
		if err != nil || ok != tc.plain || size != tc.size {
			t.Errorf("Plain(%s) = %d, %v, %v; want %d, %v", filepath.Base(tc.path), size, ok, err, tc.size, tc.plain)
		}
	}
}
