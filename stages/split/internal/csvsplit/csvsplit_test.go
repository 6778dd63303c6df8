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

// result is one row or one row error, in a form both parsers produce:
// fields as encoding/csv gives them from universal(in), each CRLF and lone
// CR in them an LF (checkRows checks that the splitter kept those bytes).
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
		fields := make([]string, len(row.Fields))
		for i, f := range row.Fields {
			fields[i] = toLF(f)
		}
		out = append(out, result{Fields: fields})
		rows = append(rows, row)
	}
}

// universal returns in with each lone CR (one not followed by an LF) made
// an LF: then encoding/csv ends rows where the splitter does, at LF, CRLF
// or CR, and counts lines as it does. Offsets and columns do not change.
func universal(in []byte) []byte {
	out := bytes.Clone(in)
	for i, c := range out {
		if c == '\r' && (i+1 == len(out) || out[i+1] != '\n') {
			out[i] = '\n'
		}
	}
	return out
}

// toLF turns each CRLF and each lone CR of a field into an LF: the field as
// encoding/csv reads it from universal(in).
func toLF(f string) string {
	return strings.ReplaceAll(strings.ReplaceAll(f, "\r\n", "\n"), "\r", "\n")
}

// oracle reads universal(in) with encoding/csv, which does not skip a byte
// order mark: it is removed first, as the splitter does. Columns count the
// file's bytes, so on the first line they include the mark's three bytes.
func oracle(in []byte, comma byte, lazy bool) []result {
	bom := bytes.HasPrefix(in, []byte("\uFEFF"))
	in = universal(bytes.TrimPrefix(in, []byte("\uFEFF")))
	r := csv.NewReader(bytes.NewReader(in))
	r.Comma = rune(comma)
	r.FieldsPerRecord = -1
	r.LazyQuotes = lazy
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

// compare checks the split of in against encoding/csv, with and without
// lazy quotes.
func compare(t *testing.T, in []byte, comma byte) {
	t.Helper()
	compareSizes(t, in, comma, 0, 1)
}

// compareSizes is compare with the given initial window sizes.
func compareSizes(t *testing.T, in []byte, comma byte, sizes ...int) {
	t.Helper()
	for _, lazy := range []bool{false, true} {
		compareOpt(t, in, Options{Comma: comma, LazyQuotes: lazy}, sizes...)
	}
}

// compareOpt checks the split of in with opt (and each of the initial
// window sizes) against encoding/csv with the same settings.
func compareOpt(t *testing.T, in []byte, opt Options, sizes ...int) {
	t.Helper()
	opt.File = "in.csv"
	if _, msg := scan.SkipBOM(in); msg != "" {
		// UTF-16 and UTF-32 are refused (encoding/csv would read them
		// as bytes).
		if _, _, err := splitWith(t, bytes.NewReader(in), opt); err == nil || !strings.Contains(err.Error(), msg) {
			t.Fatalf("split %q: error %v, want %q", in, err, msg)
		}
		return
	}
	want := oracle(in, opt.Comma, opt.LazyQuotes)
	for _, size := range sizes {
		opt.BufferSize = size
		got, rows, err := splitWith(t, bytes.NewReader(in), opt)
		if err != nil {
			t.Fatalf("split: %v\ninput: %q", err, in)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("rows differ from encoding/csv (lazy quotes %v) (-want +got):\n%s\ninput: %q", opt.LazyQuotes, diff, in)
		}
		checkRows(t, in, rows, opt.Comma)
	}
}

func genCSV(r *rand.Rand, comma byte, broken bool) []byte {
	var b bytes.Buffer
	if r.IntN(8) == 0 {
		b.WriteString("\uFEFF")
	}
	pieces := []string{"a", "bc", "", " ", "x y", "é✓", "1.5", "\r", "tab\tx"}
	quoted := []string{"a" + string(comma) + "b", "say \"\"hi\"\"", "line\nbreak", "crlf\r\nbreak", "", "\"\"", "cr\rx"}
	bad := []string{`a"b`, `"a"b`, `"unterminated`, `x"`, `"a"b"`, `"a"""b"`}
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
			b.WriteString([]string{"\n", "\r\n", "\n\n", "\r\n\r\n", "\r", "\r\r\n"}[r.IntN(6)])
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
	"id,type\r1,a\r2,b\r",
	"a\rb\r\nc\nd\r\re",
	"\"x\r\ny\",\"p\rq\"\r\"z\"\r",
	"a\"b,\"c\"d\",\"e\"\"f\"g\"\n",
	"\"a\"\r\n\"b\"\"\"\rc,\"d",
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
		{"a,b\nc\"d,e\n", "in.csv:2:2: bare \" in unquoted field (quote the field and write the quote as \"\", or set csv.lazy_quotes to keep it)"},
		{"a\n\"x\"y\n", "in.csv:2:3: extraneous or missing \""},
		{"a\r\"x\"y\r", "in.csv:2:3: extraneous or missing \""},
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
	want := [][]string{{"h1", "h2"}, {"a\r\nb", "c\""}, {"x", "y"}} // the CRLF in a quoted field is kept
	if diff := cmp.Diff(want, got); diff != "" {
		t.Error(diff)
	}
}

// TestLineEnds checks rows ended by CR alone, as old Mac programs write
// them, and by CR, LF and CRLF mixed in one file: each ends one row and
// one line (issue 14: a CR-only file used to be one header row and no
// records).
func TestLineEnds(t *testing.T) {
	for _, tc := range []struct {
		in    string
		want  [][]string
		lines []int64
	}{
		{"id,type\r1,a\r2,b\r", [][]string{{"id", "type"}, {"1", "a"}, {"2", "b"}}, []int64{1, 2, 3}},
		{"id,type\r1,a\n2,b\r\n3,c\r\r\n4,d", [][]string{{"id", "type"}, {"1", "a"}, {"2", "b"}, {"3", "c"}, {"4", "d"}}, []int64{1, 2, 3, 4, 6}},
		{"\"a\rb\",c\r\"d\r\ne\"\rf", [][]string{{"a\rb", "c"}, {"d\r\ne"}, {"f"}}, []int64{1, 3, 5}}, // a CR in a quoted field ends a line too, as in an editor
	} {
		for _, size := range []int{0, 1} {
			s := New(iotest.OneByteReader(strings.NewReader(tc.in)), Options{File: "in.csv", BufferSize: size})
			var got [][]string
			var lines []int64
			for {
				row, err := s.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				got, lines = append(got, row.Fields), append(lines, row.Line)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%q: (-want +got):\n%s", tc.in, diff)
			}
			if diff := cmp.Diff(tc.lines, lines); diff != "" {
				t.Errorf("%q: lines (-want +got):\n%s", tc.in, diff)
			}
		}
	}
}

// TestLazyQuotes checks what LazyQuotes keeps, and that a row that needed
// it is Lenient (issue 23: Python keeps a quote in an unquoted field).
func TestLazyQuotes(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    []string
		lenient bool
	}{
		{`a"b,c`, []string{`a"b`, "c"}, true},
		{`5'10",x`, []string{`5'10"`, "x"}, true},
		{`"a"b",c`, []string{`a"b`, "c"}, true},
		{`"a""b",c`, []string{`a"b`, "c"}, false},
		{`"a"""b",c`, []string{`a""b`, "c"}, true},
		{"\"open\r\nto the end\n", []string{"open\r\nto the end\n"}, true},
		{`plain,"quoted"`, []string{"plain", "quoted"}, false},
	} {
		s := New(strings.NewReader(tc.in), Options{File: "in.csv", LazyQuotes: true})
		row, err := s.Next()
		if err != nil {
			t.Fatalf("%q: %v", tc.in, err)
		}
		if diff := cmp.Diff(tc.want, row.Fields); diff != "" || row.Lenient != tc.lenient {
			t.Errorf("%q: lenient %v, want %v; fields (-want +got):\n%s", tc.in, row.Lenient, tc.lenient, diff)
		}
		if _, err := s.Next(); err != io.EOF {
			t.Errorf("%q: after the row: %v, want EOF", tc.in, err)
		}
	}
}

// FuzzSplitCSV checks that any input is split exactly as encoding/csv
// reads it, with LazyQuotes as lazy says, once lone CRs are made LFs
// (universal): the same rows with the same fields, and errors on the same
// rows at the same positions; and that each row's bytes are the input's,
// with every CR and LF of its fields kept (checkRows).
func FuzzSplitCSV(f *testing.F) {
	for i, c := range csvCases {
		f.Add([]byte(c), byte(','), i%2 == 0)
	}
	r := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 20; i++ {
		f.Add(genCSV(r, ';', i%2 == 0), byte(';'), i%4 < 2)
	}
	f.Fuzz(func(t *testing.T, in []byte, comma byte, lazy bool) {
		if comma == '"' || comma == '\r' || comma == '\n' || comma == 0 || comma >= 0x80 {
			comma = ','
		}
		compareOpt(t, in, Options{Comma: comma, LazyQuotes: lazy}, 0, 1)
	})
}
