package csvsplit

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
	"github.com/sluicehq/sluice/stages/split/internal/scan"
)

// result is one row or one row error, in a form both parsers produce.
type result struct {
	Fields []string
	Err    string // "line:col", or "line:*" when only the line is comparable
}

func splitAll(t testing.TB, in []byte, comma byte, bufSize int) ([]result, []Row, error) {
	t.Helper()
	return splitWith(t, bytes.NewReader(in), Options{File: "in.csv", Comma: comma, BufferSize: bufSize})
}

func splitWith(t testing.TB, r io.Reader, opt Options) ([]result, []Row, error) {
	t.Helper()
	s := New(r, opt)
	var out []result
	var rows []Row
	for {
		row, err := s.Next()
		if err == io.EOF {
			return out, rows, nil
		}
		var re *RowError
		if errors.As(err, &re) {
			pos := fmt.Sprintf("%d:%d", re.Err.Line, re.Err.Col)
			if strings.Contains(re.Err.Msg, "not closed") {
				pos = "eof"
			}
			out = append(out, result{Err: pos})
			rows = append(rows, row)
			continue
		}
		if err != nil {
			return out, rows, err
		}
		out = append(out, result{Fields: row.Fields})
		rows = append(rows, row)
	}
}

// oracle reads in with encoding/csv, which does not skip a byte order
// mark: it is removed first, as the splitter does.
// Columns count the file's bytes, so on the first line they include the
// mark's three bytes.
func oracle(in []byte, comma byte) []result {
	bom := bytes.HasPrefix(in, []byte("\uFEFF"))
	in = bytes.TrimPrefix(in, []byte("\uFEFF"))
	r := csv.NewReader(bytes.NewReader(in))
	r.Comma = rune(comma)
	r.FieldsPerRecord = -1
	var out []result
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return out
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			col := pe.Column
			if bom && pe.Line == 1 {
				col += 3
			}
			pos := fmt.Sprintf("%d:%d", pe.Line, col)
			if errors.Is(err, csv.ErrQuote) && isEOFQuote(in, pe) {
				pos = "eof"
			}
			out = append(out, result{Err: pos})
			continue
		}
		if err != nil {
			return append(out, result{Err: err.Error()})
		}
		out = append(out, result{Fields: rec})
	}
}

// isEOFQuote reports whether an ErrQuote is encoding/csv's "quoted field
// not closed at end of input", which it places at the end of the input;
// the splitter places it at the opening quote.
func isEOFQuote(in []byte, pe *csv.ParseError) bool {
	lines := strings.Split(string(in), "\n")
	return pe.Line >= len(lines)-1 && pe.Column > len(strings.TrimSuffix(lines[min(pe.Line-1, len(lines)-1)], "\r"))
}

func compare(t *testing.T, in []byte, comma byte) {
	t.Helper()
	compareSizes(t, in, comma, 0, 1)
}

// compareSizes is compare with the given initial window sizes.
func compareSizes(t *testing.T, in []byte, comma byte, sizes ...int) {
	t.Helper()
	if _, msg := scan.SkipBOM(in); msg != "" {
		// UTF-16 and UTF-32 are refused (encoding/csv would read them
		// as bytes).
		if _, _, err := splitAll(t, in, comma, 0); err == nil || !strings.Contains(err.Error(), msg) {
			t.Fatalf("split %q: error %v, want %q", in, err, msg)
		}
		return
	}
	want := oracle(in, comma)
	for _, size := range sizes {
		got, rows, err := splitAll(t, in, comma, size)
		if err != nil {
			t.Fatalf("split: %v\ninput: %q", err, in)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("rows differ from encoding/csv (-want +got):\n%s\ninput: %q", diff, in)
		}
		for _, r := range rows {
			if !bytes.HasPrefix(in[r.Offset:], r.Data) {
				t.Fatalf("row data %q is not the input at offset %d", r.Data, r.Offset)
			}
			if line := int64(bytes.Count(in[:r.Offset], []byte("\n")) + 1); line != r.Line {
				t.Fatalf("row at offset %d: line %d, want %d\ninput: %q", r.Offset, r.Line, line, in)
			}
		}
	}
}

func genCSV(r *rand.Rand, comma byte, broken bool) []byte {
	var b bytes.Buffer
	if r.IntN(8) == 0 {
		b.WriteString("\uFEFF")
	}
	pieces := []string{"a", "bc", "", " ", "x y", "é✓", "1.5", "\r", "tab\tx"}
	quoted := []string{"a" + string(comma) + "b", "say \"\"hi\"\"", "line\nbreak", "crlf\r\nbreak", "", "\"\"", "cr\rx"}
	bad := []string{`a"b`, `"a"b`, `"unterminated`, `x"`}
	rows := r.IntN(8)
	for i := 0; i < rows; i++ {
		for f, n := 0, 1+r.IntN(4); f < n; f++ {
			if f > 0 {
				b.WriteByte(comma)
			}
			switch {
			case broken && r.IntN(12) == 0:
				b.WriteString(bad[r.IntN(len(bad))])
			case r.IntN(3) == 0:
				b.WriteString(`"` + quoted[r.IntN(len(quoted))] + `"`)
			default:
				b.WriteString(pieces[r.IntN(len(pieces))])
			}
		}
		if i < rows-1 || r.IntN(2) == 0 {
			b.WriteString([]string{"\n", "\r\n", "\n\n", "\r\n\r\n"}[r.IntN(4)])
		}
	}
	return b.Bytes()
}

func TestAgainstEncodingCSV(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 3000; i++ {
		comma := []byte{',', ';', '\t', '|'}[i%4]
		compare(t, genCSV(r, comma, i%3 == 0), comma)
	}
}

var csvCases = []string{
	"a,b\n1,2\n",
	"a,b\r\n1,2\r\n",
	"a,b\n1,2",
	"\uFEFFa,b\n",
	"\"a\nb\",c\n",
	"\"a\"\"b\",c\n",
	"a,\"b\"\r\n\r\n\nc\n",
	"a\"b,c\n",
	"\"a\"b,c\nd\n",
	"a,\"unterminated\nmore\n",
	"\"a\"\r",
	"a\r",
	"a\r\r\n",
	"\r\n",
	"",
	",,\n",
	"\"\"\n",
	" \"a\"\n",
	"a,b\nc\"d\ne,f\n",
}

func TestEdgeCases(t *testing.T) {
	for i, in := range csvCases {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			compare(t, []byte(in), ',')
		})
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		in, want string
	}{
		{"a,b\nc\"d,e\n", "in.csv:2:2: bare \" in unquoted field"},
		{"a\n\"x\"y\n", "in.csv:2:3: extraneous or missing \""},
		{"a\n\"x\ny\n", "in.csv:2:1: quoted field is not closed"},
	} {
		s := New(strings.NewReader(tc.in), Options{File: "in.csv"})
		var got error
		for {
			_, err := s.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				got = err
			}
		}
		if got == nil || !strings.Contains(got.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.in, got, tc.want)
		}
	}
}

func TestMalformedRowKeepsItsBytesAndGoesOn(t *testing.T) {
	in := "a,b\nc\"d,e\nf,g\n"
	_, rows, err := splitAll(t, []byte(in), ',', 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || string(rows[1].Data) != "c\"d,e" || rows[1].Line != 2 || rows[2].Fields[0] != "f" {
		t.Fatalf("rows = %+v", rows)
	}
}

func TestTooLarge(t *testing.T) {
	in := "a,b\n\"" + strings.Repeat("x", 300<<10)
	s := New(strings.NewReader(in), Options{File: "in.csv", MaxRecordBytes: 1000})
	var err error
	for err == nil {
		_, err = s.Next()
	}
	if !errors.Is(err, scan.ErrTooLarge) || !strings.Contains(err.Error(), "in.csv:2:1:") {
		t.Fatalf("error = %v, want ErrTooLarge at 2:1", err)
	}
}

func TestOneByteReads(t *testing.T) {
	in := "h1,h2\r\n\"a\r\nb\",\"c\"\"\"\r\nx,y"
	s := New(iotest.OneByteReader(strings.NewReader(in)), Options{File: "in.csv", BufferSize: 1})
	var got [][]string
	for {
		row, err := s.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, row.Fields)
	}
	want := [][]string{{"h1", "h2"}, {"a\nb", "c\""}, {"x", "y"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Error(diff)
	}
}

// FuzzSplitCSV checks that any input is split exactly as encoding/csv
// reads it: the same rows with the same fields, and errors on the same
// rows at the same positions.
func FuzzSplitCSV(f *testing.F) {
	for _, c := range csvCases {
		f.Add([]byte(c), byte(','))
	}
	r := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 20; i++ {
		f.Add(genCSV(r, ';', i%2 == 0), byte(';'))
	}
	f.Fuzz(func(t *testing.T, in []byte, comma byte) {
		if comma == '"' || comma == '\r' || comma == '\n' || comma == 0 || comma >= 0x80 {
			comma = ','
		}
		compare(t, in, comma)
	})
}
