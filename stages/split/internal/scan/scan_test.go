package scan

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf8"

	"github.com/sluicehq/sluice/internal/corpus"
)

// badCharSlow is BadChar one rune at a time, the oracle for the fast
// version.
func badCharSlow(b []byte) (int, string) {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			return i, "invalid UTF-8"
		}
		if !InCharRange(r) {
			return i, fmt.Sprintf("illegal character code %U", r)
		}
		i += n
	}
	return -1, ""
}

// checkBadChar fails t if BadChar and badCharSlow disagree on b.
func checkBadChar(t *testing.T, b []byte) {
	t.Helper()
	i, msg := BadChar(b)
	if wi, wmsg := badCharSlow(b); i != wi || msg != wmsg {
		t.Fatalf("BadChar(%q) = %d, %q; want %d, %q", b, i, msg, wi, wmsg)
	}
}

// tricky holds byte sequences at the edges of what BadChar accepts.
var tricky = []string{
	"\x00", "\x08", "\t", "\n", "\x0b", "\x0c", "\r", "\x0e", "\x1f", " ", "\x7f",
	"\x80", "\xbf", "\xc0\x80", "\xc0\xaf", "\xc1\xbf", "\xc2\x80", "\xc2", "\xc2\x7f", "\xc2\xc0",
	"\xdf\xbf", "\xdf", "\xe0\x80\x80", "\xe0\x9f\xbf", "\xe0\xa0\x80", "\xe0\xa0", "\xe1\x80",
	"\xe1\x7f\x80", "\xe1\x80\x7f", "\xe1\x80\xc0", "\xec\xbf\xbf",
	"\xed\x9f\xbf", "\xed\xa0\x80", "\xed\xbf\xbf", "\xee\x80\x80",
	"\xef\xbf\xbd", "\xef\xbf\xbe", "\xef\xbf\xbf", "\xef\xbf", "\xef",
	"\xf0\x80\x80\x80", "\xf0\x8f\xbf\xbf", "\xf0\x90\x80\x80", "\xf0\x90\x80",
	"\xf4\x8f\xbf\xbf", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xf8\x88\x80\x80\x80", "\xfe", "\xff",
	"é", "ß", "Москва", "東京", "𝄞", "\uFFFD", "a\tb\nc\rd",
}

func TestBadChar(t *testing.T) {
	for _, s := range append(tricky, "", "plain ascii text that is long enough for words", "\x00", "é✓𝄞", "\xff", "abcdefghijklmnop\x1fq", "abcdefghijklmnopq\x7f", "\uFFFE", "\uFFFD", "0123456789abcdef", "0123456789abcdefé") {
		for pad := 0; pad < 20; pad++ {
			for k := 0; k <= len(s); k++ { // also every truncation of s
				checkBadChar(t, []byte(strings.Repeat("x", pad)+s[:k]))
				checkBadChar(t, []byte(strings.Repeat("x", pad)+s[:k]+strings.Repeat("y", pad%9)))
				checkBadChar(t, []byte(strings.Repeat("ü", pad)+s[:k]+"东"))
			}
		}
	}
}

func FuzzBadChar(f *testing.F) {
	f.Add([]byte("abc\x01"))
	f.Add([]byte("    <title>Stone Straße Music</title>\n    <author>Tanaka, Zoë</author>\n\t<t>Москва 東京</t>\r\n"))
	for _, s := range tricky {
		for _, pad := range []int{0, 1, 6, 7, 8, 14, 15, 16} {
			f.Add([]byte(strings.Repeat("x", pad) + s))
			f.Add([]byte(strings.Repeat("x", pad) + s + "y\nz"))
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkBadChar(t, b)
	})
}

func TestWindowPositions(t *testing.T) {
	in := "ab\ncd\r\n\nefg\nh"
	w := NewWindow(iotest.OneByteReader(strings.NewReader(in)), 1, 1<<20)
	keep := 0
	for !w.EOF {
		if err := w.Fill(keep); err != nil {
			t.Fatal(err)
		}
		keep = 0
	}
	for off := 0; off < len(in); off++ {
		line := int64(strings.Count(in[:off], "\n") + 1)
		col := int64(off - strings.LastIndex(in[:off], "\n"))
		if l, c := w.Pos(int64(off)); l != line || c != col {
			t.Errorf("Pos(%d) = %d:%d, want %d:%d", off, l, c, line, col)
		}
	}
}

func TestWindowSlides(t *testing.T) {
	in := strings.Repeat("0123456789\n", 50000)
	w := NewWindow(strings.NewReader(in), MinRead, 4*MinRead)
	var got bytes.Buffer
	for {
		got.Write(w.Buf[:w.End])
		if w.EOF {
			break
		}
		if err := w.Fill(w.End); err != nil {
			t.Fatal(err)
		}
	}
	if got.String() != in {
		t.Fatalf("window lost or repeated bytes: %d read, want %d", got.Len(), len(in))
	}
	if len(w.Buf) > 4*MinRead {
		t.Fatalf("buffer grew to %d beyond its limit", len(w.Buf))
	}
	if l := w.Line(int64(len(in) - 1)); l != 50000 {
		t.Fatalf("line of the last byte = %d, want 50000", l)
	}
}

func TestWindowLimit(t *testing.T) {
	w := NewWindow(strings.NewReader(strings.Repeat("x", 10*MinRead)), MinRead, 2*MinRead)
	var err error
	for err == nil && !w.EOF {
		err = w.Fill(0)
	}
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Fill keeping everything = %v, want ErrTooLarge", err)
	}
}

func TestSlab(t *testing.T) {
	var s Slab
	a := s.Copy([]byte("abc"))
	b := s.Copy([]byte("def"))
	a = append(a, 'X')
	if string(b) != "def" || string(a) != "abcX" {
		t.Fatalf("append to one slab slice changed its neighbour: %q %q", a, b)
	}
	big := s.Alloc(DefaultSlab)
	if len(big) != DefaultSlab {
		t.Fatal("large allocation has the wrong size")
	}
}

func TestErrorText(t *testing.T) {
	for _, tc := range []struct {
		e    Error
		want string
	}{
		{Error{File: "f", Line: 2, Col: 3, Msg: "m"}, "f:2:3: m"},
		{Error{File: "f", Line: 2, Msg: "m"}, "f:2: m"},
		{Error{File: "f", Offset: 9, Msg: "m"}, "f: byte 9: m"},
	} {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.e, got, tc.want)
		}
	}
}

// TestBadCharWords checks the eight-bytes-at-a-time path against a
// byte-by-byte reference, for every control character at every position
// of a word, between tabs, line ends and non-ASCII text.
func TestBadCharWords(t *testing.T) {
	base := []byte("ab\tcd\r\nef ghij\n\tklmnopq é 東京 rstuvwxyz\r\n0123456789")
	for c := 0; c < 0x20; c++ {
		for pos := 0; pos < len(base); pos++ {
			b := append([]byte(nil), base...)
			if b[pos] >= 0x80 {
				continue
			}
			b[pos] = byte(c)
			checkBadChar(t, b)
		}
	}
	if i, _ := BadChar(base); i != -1 {
		t.Fatalf("BadChar(%q) = %d, want -1", base, i)
	}
}

// BenchmarkBadChar checks catalogue XML the way the XML splitter does, one
// record at a time: mostly ASCII with indented short lines and words such
// as "Straße", "Москва" and "東京" in it. The peers sub-benchmark runs on
// the benchmark corpus when it has been generated (see bench/), and is
// skipped otherwise.
func BenchmarkBadChar(b *testing.B) {
	var gen bytes.Buffer
	if err := corpus.WriteXML(&gen, 42, 2000); err != nil {
		b.Fatal(err)
	}
	b.Run("records", func(b *testing.B) { benchBadChar(b, gen.Bytes()) })
	b.Run("whole", func(b *testing.B) {
		b.SetBytes(int64(gen.Len()))
		for b.Loop() {
			if i, _ := BadChar(gen.Bytes()); i >= 0 {
				b.Fatalf("bad character at %d", i)
			}
		}
	})
	b.Run("peers", func(b *testing.B) {
		peers, err := os.ReadFile("../../../../bench/corpus/w1-peers-11000.xml")
		if err != nil {
			b.Skip("no benchmark corpus:", err)
		}
		benchBadChar(b, peers)
	})
}

// benchBadChar calls BadChar on each record of doc.
func benchBadChar(b *testing.B, doc []byte) {
	var recs [][]byte
	for rest := doc; len(rest) > 0; {
		n := bytes.Index(rest[1:], []byte("<record "))
		if n < 0 {
			n = len(rest) - 1
		}
		recs = append(recs, rest[:n+1])
		rest = rest[n+1:]
	}
	b.SetBytes(int64(len(doc)))
	for b.Loop() {
		for _, r := range recs {
			if i, _ := BadChar(r); i >= 0 {
				b.Fatalf("bad character at %d", i)
			}
		}
	}
}

// TestWindowStart checks the start-up the splitters share: a UTF-8 BOM
// skipped even when the reader hands out one byte at a time, inputs
// shorter than a BOM, UTF-16 and UTF-32 BOMs refused at 1:1 with an iconv
// hint, and read errors returned as they are.
func TestWindowStart(t *testing.T) {
	tests := []struct {
		in   string
		skip int
		err  string
	}{
		{"\xEF\xBB\xBFa,b\n", 3, ""},
		{"a,b\n", 0, ""},
		{"\xEF\xBB\xBF", 3, ""},
		{"\xEF\xBB", 0, ""},
		{"", 0, ""},
		{"\xFF\xFEa\x00", 0, "in.txt:1:1: the file is UTF-16 encoded; split reads UTF-8: convert it first, e.g. iconv -f UTF-16 -t UTF-8 in > out"},
		{"\x00\x00\xFE\xFF", 0, "in.txt:1:1: the file is UTF-32 encoded; split reads UTF-8: convert it first, e.g. iconv -f UTF-32 -t UTF-8 in > out"},
	}
	for _, tt := range tests {
		w := NewWindow(iotest.OneByteReader(strings.NewReader(tt.in)), 4<<10, 1<<20)
		n, err := w.Start("in.txt")
		got := ""
		if err != nil {
			got = err.Error()
		}
		if n != tt.skip || got != tt.err {
			t.Errorf("Start(%q) = %d, %q; want %d, %q", tt.in, n, got, tt.skip, tt.err)
		}
		if err == nil && (w.End < min(4, len(tt.in)) || string(w.Buf[:w.End]) != tt.in[:w.End]) {
			t.Errorf("Start(%q) read %q, want the first %d bytes at least", tt.in, w.Buf[:w.End], min(4, len(tt.in)))
		}
	}
	readErr := errors.New("disk on fire")
	w := NewWindow(iotest.ErrReader(readErr), 4<<10, 1<<20)
	if _, err := w.Start("in.txt"); !errors.Is(err, readErr) {
		t.Errorf("Start on a failing reader: %v, want %v", err, readErr)
	}
}

// TestRecordWindow checks the sizes a splitter's options give: the
// defaults for 0, and a window that starts no larger than the record
// limit allows and grows to the limit and one read more, not beyond.
func TestRecordWindow(t *testing.T) {
	w, max, size := RecordWindow(strings.NewReader(""), 0, 0)
	if max != DefaultMaxRecord || size != DefaultBuffer || len(w.Buf) != DefaultBuffer || w.limit != DefaultMaxRecord+MinRead {
		t.Errorf("defaults: max %d, size %d, buffer %d, limit %d", max, size, len(w.Buf), w.limit)
	}
	w, max, size = RecordWindow(strings.NewReader(""), 10<<10, 1<<20)
	if max != 10<<10 || size != 1<<20 || len(w.Buf) != 10<<10+MinRead || w.limit != 10<<10+MinRead {
		t.Errorf("small records, large buffer: max %d, size %d, buffer %d, limit %d", max, size, len(w.Buf), w.limit)
	}
}
