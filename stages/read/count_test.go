package read_test

import (
	"bytes"
	"io"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/sluicehq/sluice/stages/internal/inputfile"
)

// TestOpenCountedCountsBytesOnDisk checks that OpenCounted counts the
// bytes of the file, not the decompressed stream, so that progress against
// the sizes on disk ends at 100% for compressed inputs too.
func TestOpenCountedCountsBytesOnDisk(t *testing.T) {
	content := bytes.Repeat([]byte("<record id=\"1\">hello, compressible world</record>\n"), 40000)
	var gz, zs bytes.Buffer
	gw := gzip.NewWriter(&gz)
	gw.Write(content)
	gw.Close()
	zw, _ := zstd.NewWriter(&zs)
	zw.Write(content)
	zw.Close()
	dir := t.TempDir()
	for name, data := range map[string][]byte{"plain.xml": content, "data.xml.gz": gz.Bytes(), "data.xml.zst": zs.Bytes()} {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(dir, name)
			write(t, p, data)
			var n atomic.Int64
			rc, err := inputfile.OpenCounted(p, &n)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, content) {
				t.Fatalf("read %d bytes, want %d", len(got), len(content))
			}
			if n.Load() != int64(len(data)) {
				t.Fatalf("counted %d bytes, want the %d bytes on disk (decompressed: %d)", n.Load(), len(data), len(content))
			}
		})
	}
}
