package read_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/sluicehq/sluice/stage"
	"github.com/sluicehq/sluice/stage/stagetest"
	"github.com/sluicehq/sluice/stages/internal/inputfile"
	"github.com/sluicehq/sluice/stages/read"
)

func write(t *testing.T, p string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func build(t *testing.T, o read.Options) stage.Stage {
	t.Helper()
	opts := read.Kind().Defaults().(*read.Options)
	*opts = o
	s, err := read.Kind().Build(opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestListing(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"b.xml", "a.xml", "c.csv", "sub/d.xml", "sub/deeper/e.xml", ".hidden.xml", ".git/f.xml"} {
		write(t, filepath.Join(dir, p), []byte(p))
	}
	if err := os.Symlink(filepath.Join(dir, "a.xml"), filepath.Join(dir, "link.xml")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(dir, filepath.Join(dir, "sub", "loop")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		opts read.Options
		want []string
	}{
		{"flat glob", read.Options{Glob: "*.xml"}, []string{"a.xml", "b.xml", "link.xml"}},
		{"everything flat", read.Options{}, []string{"a.xml", "b.xml", "c.csv", "link.xml"}},
		{"recursive", read.Options{Glob: "*.xml", Recursive: true}, []string{"a.xml", "b.xml", "link.xml", "sub/d.xml", "sub/deeper/e.xml"}},
		{"hidden", read.Options{Glob: "*.xml", Hidden: true}, []string{".hidden.xml", "a.xml", "b.xml", "link.xml"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Path = dir
			res, err := stagetest.Run(context.Background(), build(t, tc.opts), nil, stagetest.Options{})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range res.Records {
				rel, _ := filepath.Rel(dir, r.Source.File)
				got = append(got, rel)
				info, err := os.Stat(r.Source.File)
				if err != nil || r.Type != stage.File || r.Size != info.Size() || r.Size == 0 {
					t.Errorf("%s: type %v size %d (%v)", rel, r.Type, r.Size, err)
				}
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestTotalBytes(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "a"), make([]byte, 1000))
	write(t, filepath.Join(dir, "b"), make([]byte, 234))
	s := build(t, read.Options{Path: dir})
	if _, err := stagetest.Run(context.Background(), s, nil, stagetest.Options{}); err != nil {
		t.Fatal(err)
	}
	if got := s.(stage.Sizer).TotalBytes(); got != 1234 {
		t.Fatalf("TotalBytes = %d, want 1234", got)
	}
}

func TestErrors(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "a.csv"), []byte("x"))
	tests := []struct {
		name string
		opts read.Options
		want string
	}{
		{"missing", read.Options{Path: filepath.Join(dir, "nope")}, "no such file or directory"},
		{"no match", read.Options{Path: dir, Glob: "*.xml"}, `no file matching "*.xml" (subdirectories are not read unless recursive: true)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := stagetest.Run(context.Background(), build(t, tc.opts), nil, stagetest.Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.opts.Path) {
				t.Fatalf("got %v, want an error naming %s and containing %q", err, tc.opts.Path, tc.want)
			}
		})
	}
	if _, err := read.Kind().Build(&read.Options{Glob: "[x"}); err == nil || !strings.Contains(err.Error(), "path: required") || !strings.Contains(err.Error(), "glob: invalid pattern") {
		t.Fatalf("build errors: %v", err)
	}
}

func TestOpenDecompresses(t *testing.T) {
	content := bytes.Repeat([]byte("<record id=\"1\">hello</record>\n"), 5000)
	dir := t.TempDir()
	var gz, zs bytes.Buffer
	gw := gzip.NewWriter(&gz)
	gw.Write(content)
	gw.Close()
	zw, _ := zstd.NewWriter(&zs)
	zw.Write(content)
	zw.Close()
	files := map[string][]byte{"plain.xml": content, "data.xml.gz": gz.Bytes(), "misnamed.xml": zs.Bytes(), "empty": nil}
	for name, data := range files {
		write(t, filepath.Join(dir, name), data)
	}
	for name := range files {
		t.Run(name, func(t *testing.T) {
			rc, err := inputfile.Open(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			got, err := io.ReadAll(rc)
			if err != nil {
				t.Fatal(err)
			}
			want := content
			if name == "empty" {
				want = nil
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("read %d bytes, want %d", len(got), len(want))
			}
		})
	}
	t.Run("corrupt gzip names the file", func(t *testing.T) {
		bad := append([]byte(nil), gz.Bytes()[:len(gz.Bytes())/2]...)
		p := filepath.Join(dir, "bad.gz")
		write(t, p, bad)
		rc, err := inputfile.Open(p)
		if err == nil {
			_, err = io.ReadAll(rc)
			rc.Close()
		}
		if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "gzip") {
			t.Fatalf("got %v, want an error naming %s and gzip", err, p)
		}
	})
}

// TestStdin: path - lists one input, "-", of unknown size (no total), and
// refuses the options that apply to directories; Plain calls it a stream
// to read whole. (cmd/sluice's TestStdinToStdout reads a real pipe.)
func TestStdin(t *testing.T) {
	s := build(t, read.Options{Path: "-"})
	res, err := stagetest.Run(context.Background(), s, nil, stagetest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Records) != 1 || res.Records[0].Source.File != "-" || res.Records[0].Size != 0 {
		t.Fatalf("records %+v, want one File record for -", res.Records)
	}
	if n := s.(stage.Sizer).TotalBytes(); n != 0 {
		t.Errorf("TotalBytes = %d, want 0 (unknown)", n)
	}
	if size, plain, err := inputfile.Plain("-"); size != 0 || plain || err != nil {
		t.Errorf("Plain(-) = %d, %v, %v: want a stream, read whole", size, plain, err)
	}
	_, err = read.Kind().Build(&read.Options{Path: "-", Glob: "*.xml", Recursive: true, Hidden: true})
	for _, opt := range []string{"glob", "recursive", "hidden"} {
		if want := opt + ": applies to a directory, and path - is standard input"; err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("build error %v: want %q", err, want)
		}
	}
}
