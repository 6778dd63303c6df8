package scan

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf8"
)

// badCharSlow is BadChar one rune at a time, the oracle for the word-wise
// version.
func badCharSlow(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 || !InCharRange(r) {
			return i
		}
		i += n
	}
	return -1
}

func TestBadChar(t *testing.T) {
	for _, s := range []string{"", "plain ascii text that is long enough for words", "a\tb\nc\rd", "\x00", "é✓𝄞", "\xff", "abcdefghijklmnop\x1fq", "abcdefghijklmnopq\x7f", "\uFFFE", "\uFFFD", "0123456789abcdef", "0123456789abcdefé"} {
		for pad := 0; pad < 20; pad++ {
			b := []byte(strings.Repeat("x", pad) + s + strings.Repeat("y", pad%7))
			got, _ := BadChar(b)
			if want := badCharSlow(b); got != want {
				t.Errorf("BadChar(%q) = %d, want %d", b, got, want)
			}
		}
	}
}

func FuzzBadChar(f *testing.F) {
	f.Add([]byte("abc\x01"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := func() int { i, _ := BadChar(b); return i }(), badCharSlow(b); got != want {
			t.Fatalf("BadChar(%q) = %d, want %d", b, got, want)
		}
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
	ref := func(b []byte) int {
		for i := 0; i < len(b); {
			r, n := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && n == 1 || !InCharRange(r) {
				return i
			}
			i += n
		}
		return -1
	}
	base := []byte("ab\tcd\r\nef ghij\n\tklmnopq é 東京 rstuvwxyz\r\n0123456789")
	for c := 0; c < 0x20; c++ {
		for pos := 0; pos < len(base); pos++ {
			b := append([]byte(nil), base...)
			if b[pos] >= 0x80 {
				continue
			}
			b[pos] = byte(c)
			if got, want := func() int { i, _ := BadChar(b); return i }(), ref(b); got != want {
				t.Fatalf("control %#x at %d: BadChar = %d, want %d", c, pos, got, want)
			}
		}
	}
	if i, _ := BadChar(base); i != -1 {
		t.Fatalf("BadChar(%q) = %d, want -1", base, i)
	}
}
