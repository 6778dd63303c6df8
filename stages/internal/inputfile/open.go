package inputfile

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync/atomic"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

var (
	gzipMagic = []byte{0x1f, 0x8b}
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

// Open opens an input file for streaming, decompressing gzip and zstd
// transparently. The format is detected from the first bytes, not the file
// name, so a misnamed file still reads correctly. Closing the returned
// reader closes the file. Memory use is bounded by the decoder windows
// (a few MiB at most for zstd), whatever the file size.
func Open(path string) (io.ReadCloser, error) {
	return OpenCounted(path, nil)
}

// OpenCounted is Open that also adds to n, if not nil, the bytes it reads
// from the file itself as it reads them: bytes on disk, so compressed bytes
// for a compressed file, which is what progress against the size on disk
// needs. The file is read in chunks of 256 KiB, one atomic add each, a
// little ahead of what the caller has consumed.
func OpenCounted(path string, n *atomic.Int64) (io.ReadCloser, error) {
	// A named pipe would block open(2) itself, and its reads could not be
	// stopped: refuse special files before opening them.
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if err := Regular(path, st.Mode()); err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	return stream(f, f, path, n)
}

// stream reads src (closed by c), counting its bytes in n if not nil, and
// decompresses it if it starts as gzip or zstd does; path names it in
// errors.
func stream(src io.Reader, c io.Closer, path string, n *atomic.Int64) (io.ReadCloser, error) {
	if n != nil {
		src = &counting{r: src, n: n}
	}
	br := bufio.NewReaderSize(src, 256<<10)
	head, err := br.Peek(4)
	if err != nil && err != io.EOF {
		c.Close()
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	switch {
	case bytes.HasPrefix(head, gzipMagic):
		zr, err := gzip.NewReader(br)
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("read %s: gzip: %w", path, err)
		}
		return &decompressed{Reader: zr, closeDecoder: zr.Close, file: c, path: path, format: "gzip"}, nil
	case bytes.HasPrefix(head, zstdMagic):
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true))
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("read %s: zstd: %w", path, err)
		}
		return &decompressed{Reader: zr, closeDecoder: func() error { zr.Close(); return nil }, file: c, path: path, format: "zstd"}, nil
	}
	return &plain{Reader: br, file: c}, nil
}

// counting adds the bytes read through it to n.
type counting struct {
	r io.Reader
	n *atomic.Int64
}

func (c *counting) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

type plain struct {
	io.Reader
	file io.Closer
}

func (p *plain) Close() error { return p.file.Close() }

// decompressed names the file and format in decoding errors, which the
// compression libraries report without either.
type decompressed struct {
	io.Reader
	closeDecoder func() error
	file         io.Closer
	path, format string
}

func (d *decompressed) Read(p []byte) (int, error) {
	n, err := d.Reader.Read(p)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("read %s: %s: %w", d.path, d.format, err)
	}
	return n, err
}

func (d *decompressed) Close() error {
	err := d.closeDecoder()
	if cerr := d.file.Close(); err == nil {
		err = cerr
	}
	return err
}

// Plain reports whether the file at path is a regular file stored
// uncompressed (neither gzip nor zstd), so that any byte range of it can be
// read on its own, and its size. It reads the file's first four bytes.
func Plain(path string) (size int64, plain bool, err error) {
	if path == StdinPath {
		return 0, false, nil // a stream: read whole, by one reader
	}
	fi, err := os.Stat(path) // not Open: opening a named pipe blocks
	if err != nil {
		return 0, false, err
	}
	if !fi.Mode().IsRegular() {
		return 0, false, nil // a pipe or a device: Open refuses it
	}
	f, err := os.Open(path)
	if err != nil {
		return 0, false, err
	}
	defer f.Close()
	head := make([]byte, 4)
	n, err := f.ReadAt(head, 0)
	if err != nil && err != io.EOF {
		return 0, false, fmt.Errorf("read %s: %w", path, err)
	}
	head = head[:n]
	return fi.Size(), !bytes.HasPrefix(head, gzipMagic) && !bytes.HasPrefix(head, zstdMagic), nil
}

// Regular returns an error naming path unless mode is a regular file's.
// Sluice reads regular files only: it needs their size (for progress and
// for splitting one file on every core), reads byte ranges of them, and
// must be able to stop at any time, none of which holds for a named pipe,
// a device or a socket, whose reads can block forever.
func Regular(path string, mode fs.FileMode) error {
	if mode.IsRegular() {
		return nil
	}
	if mode.IsDir() {
		return fmt.Errorf("read %s: is a directory", path)
	}
	return fmt.Errorf("read %s: not a regular file (%s): sluice reads regular files only; copy the stream to a file first (e.g. cat %s > input.xml)", path, SpecialKind(mode), path)
}

// SpecialKind names the type of a file that is not regular.
func SpecialKind(mode fs.FileMode) string {
	switch {
	case mode&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case mode&fs.ModeSocket != 0:
		return "a socket"
	case mode&fs.ModeCharDevice != 0:
		return "a character device"
	case mode&fs.ModeDevice != 0:
		return "a device"
	case mode&fs.ModeIrregular != 0:
		return "an irregular file"
	}
	return "a special file"
}
