package linesplit

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
	"github.com/sluicehq/sluice/stages/split/internal/scan"
)

type line struct {
	Data   string
	Offset int64
	Line   int64
}

func splitAll(r io.Reader, max int) ([]line, error) {
	s := New(r, Options{File: "in.txt", MaxRecordBytes: max, BufferSize: 1})
	var out []line
	for {
		l, err := s.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, line{string(l.Data), l.Offset, l.Line})
	}
}

func TestLines(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []line
	}{
		{"", nil},
		{"a", []line{{"a", 0, 1}}},
		{"a\n", []line{{"a", 0, 1}}},
		{"a\r\nb\r\n", []line{{"a", 0, 1}, {"b", 3, 2}}},
		{"a\n\nb", []line{{"a", 0, 1}, {"", 2, 2}, {"b", 3, 3}}},
		{"a\rb\n", []line{{"a\rb", 0, 1}}},
		{"\uFEFFa\n", []line{{"a", 3, 1}}},
		{"\n", []line{{"", 0, 1}}},
	} {
		for _, r := range []io.Reader{strings.NewReader(tc.in), iotest.OneByteReader(strings.NewReader(tc.in))} {
			got, err := splitAll(r, 0)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%q (-want +got):\n%s", tc.in, diff)
			}
		}
	}
}

func TestTooLong(t *testing.T) {
	_, err := splitAll(strings.NewReader("ok\n"+strings.Repeat("x", 200<<10)), 1000)
	var e *scan.Error
	if !errors.Is(err, scan.ErrTooLarge) || !errors.As(err, &e) || e.Line != 2 || e.Offset != 3 {
		t.Fatalf("error = %v, want ErrTooLarge on line 2", err)
	}
}

func TestUTF16(t *testing.T) {
	_, err := splitAll(strings.NewReader("\xfe\xff\x00a"), 0)
	if err == nil || !strings.Contains(err.Error(), "iconv -f UTF-16") {
		t.Fatalf("error = %v, want the UTF-16 hint", err)
	}
}
