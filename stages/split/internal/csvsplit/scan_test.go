package csvsplit

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
	"github.com/sluicehq/sluice/stages/split/internal/scan"
)

// Tests of the word-at-a-time scan and of the window the rows share.

// TestWordBoundaries puts each byte that matters (quote, delimiter, CR,
// LF, other delimiters, non-ASCII, the byte after a quote or a delimiter) at every position of fields of every
// length up to two words and a byte, quoted and not, first, middle and
// last in the row, so that it falls at every place relative to the
// eight-byte words and to the end of the line; the rows end with LF, CRLF,
// a CR at the end of the input, or nothing.
func TestWordBoundaries(t *testing.T) {
	specials := []string{`"`, `""`, ",", ";", "\t", "\r", "\n", "\r\n", "é", "\xff", `",`, `"` + "\r\n",
		// A match and the byte one above it, which a borrow may mark.
		`"#`, ",-", ";:", "\t\b"}
	for _, comma := range []byte{',', ';', '\t'} {
		maxLen := 17 // two words and one byte
		if comma != ',' {
			maxLen = 9
		}
		d := string(comma)
		for n := 0; n <= maxLen; n++ {
			for k := 0; k <= n; k++ {
				for _, c := range specials {
					field := strings.Repeat("x", k) + c + strings.Repeat("y", n-k)
					rows := []string{
						field,
						`"` + field + `"`,
						"a" + d + field,
						field + d + "b",
						`"` + field + `"` + d + "b",
						"a" + d + `"` + field + `"`,
						strings.Repeat("z", n) + d + `"` + field + `"` + d + field,
					}
					in := strings.Join(rows, "\n") + "\n" + strings.Join(rows, "\r\n") + "\r\n" + field
					// (The window holds the whole input: one size is
					// enough.)
					compareSizes(t, []byte(in), comma, 1)
					compareSizes(t, []byte(in+"\r"), comma, 1)
				}
			}
		}
	}
}

// TestLongFields has fields and quoted fields long enough for the
// sixteen-byte skip, with a special byte near each of their words' ends.
func TestLongFields(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for i := 0; i < 2000; i++ {
		var b strings.Builder
		for f := 0; f < 1+r.IntN(5); f++ {
			if f > 0 {
				b.WriteByte(',')
			}
			body := []byte(strings.Repeat("abcdefgh", 6)[:r.IntN(49)])
			quoted := r.IntN(2) == 0
			if len(body) > 0 && r.IntN(3) == 0 {
				c := []byte{'"', ',', '\n', '\r', 0xC3}[r.IntN(5)]
				j := r.IntN(len(body))
				body[j] = c
				if quoted && c == '"' {
					body = append(body[:j+1], body[j:]...) // written ""
				}
			}
			if quoted {
				b.WriteString(`"` + string(body) + `"`)
			} else {
				b.Write(body)
			}
		}
		b.WriteString([]string{"\n", "\r\n", ""}[r.IntN(3)])
		compare(t, []byte(b.String()), ',')
	}
}

// bigInput returns CSV of about size bytes made of many small random
// documents (some malformed), W2-like rows, and a few rows far larger
// than the window.
func bigInput(r *rand.Rand, comma byte, size int) []byte {
	var b bytes.Buffer
	w2 := genW2(size / 2)
	for b.Len() < size {
		switch r.IntN(40) {
		case 0:
			// A row far larger than the window: a quoted field with
			// line breaks and quotes.
			b.WriteString(`"`)
			for n := 64<<10 + r.IntN(200<<10); n > 0; n -= 12 {
				b.WriteString([]string{"abc\r\nde\"\"f ", "abcdefghijk\n"}[r.IntN(2)])
			}
			b.WriteString("\"" + string(comma) + "tail\n")
		case 1, 2, 3, 4, 5:
			i := r.IntN(len(w2) - 1000)
			b.Write(w2[i : i+r.IntN(1000)])
		default:
			doc := genCSV(r, comma, r.IntN(4) == 0)
			doc = bytes.TrimPrefix(doc, []byte("\uFEFF"))
			b.Write(doc)
			if r.IntN(2) == 0 {
				b.WriteString("\n")
			}
		}
	}
	return b.Bytes()
}

// TestManyWindows splits inputs many windows long, read in pieces of
// every size, and checks every row against encoding/csv after the last
// one is read: rows share the window's bytes, which must never be
// written over.
func TestManyWindows(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for i, comma := range []byte{',', ';', '\t'} {
		in := bigInput(r, comma, 600<<10+i*77777)
		want := oracle(in, comma, false)
		for _, half := range []bool{false, true} {
			t.Run(fmt.Sprintf("%q/half=%v", comma, half), func(t *testing.T) {
				var src io.Reader = bytes.NewReader(in)
				if half {
					src = iotest.HalfReader(src)
				}
				got, rows, err := splitWith(t, src, Options{File: "in.csv", Comma: comma, BufferSize: 1})
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Fatalf("rows differ from encoding/csv (-want +got):\n%s", diff)
				}
				checkRows(t, in, rows, comma)
			})
		}
	}
}

// checkRows checks that each row's Data is the input at its Offset, that
// its Line is right (LF, CRLF and CR each end one line), that its fields
// kept every CR and LF (decoding takes out quotes only), and that it is
// Lenient exactly when encoding/csv without LazyQuotes does not read its
// Data as its fields.
func checkRows(t *testing.T, in []byte, rows []Row, comma byte) {
	t.Helper()
	u := universal(in)
	line, at := int64(1), 0
	for _, r := range rows {
		if !bytes.HasPrefix(in[r.Offset:], r.Data) {
			t.Fatalf("row data %q is not the input at offset %d", r.Data, r.Offset)
		}
		line += int64(bytes.Count(u[at:r.Offset], []byte("\n")))
		at = int(r.Offset)
		if line != r.Line {
			t.Fatalf("row at offset %d: line %d, want %d\ninput: %q", r.Offset, r.Line, line, in)
		}
		if r.Fields == nil {
			continue
		}
		all := strings.Join(r.Fields, "")
		for _, c := range []string{"\r", "\n"} {
			if got, want := strings.Count(all, c), bytes.Count(r.Data, []byte(c)); got != want {
				t.Fatalf("row at offset %d: %d %q in its fields %q, %d in its data %q", r.Offset, got, c, r.Fields, want, r.Data)
			}
		}
		cr := csv.NewReader(bytes.NewReader(universal(r.Data)))
		cr.Comma = rune(comma)
		strict, err := cr.ReadAll()
		same := err == nil && len(strict) == 1 && slices.Equal(strict[0], toLFs(r.Fields))
		if same == r.Lenient {
			t.Fatalf("row at offset %d: Lenient %v, but encoding/csv reads its data %q as %q (error %v)", r.Offset, r.Lenient, r.Data, strict, err)
		}
	}
}

func toLFs(fields []string) []string {
	out := make([]string, len(fields))
	for i, f := range fields {
		out[i] = toLF(f)
	}
	return out
}

// TestOrigin resumes at row starts in the middle of the input: the rows
// from there are the whole input's, at the same positions, and no byte
// order mark is looked for.
func TestOrigin(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for i := 0; i < 150; i++ {
		in := genCSV(r, ',', i%2 == 0)
		if i%50 == 0 {
			in = bigInput(r, ',', 200<<10)
		}
		if _, msg := scan.SkipBOM(in); msg != "" {
			continue
		}
		all, rows, err := splitAll(t, in, ',', 0)
		if err != nil {
			t.Fatal(err)
		}
		u := universal(in)
		for k, row := range rows {
			if k > 0 && all[k-1].Err != "" {
				continue // a malformed row ends with its line, not at the next row
			}
			off := row.Offset
			o := scan.Origin{Offset: off, Line: 1 + int64(bytes.Count(u[:off], []byte("\n"))), LastNL: int64(bytes.LastIndexByte(u[:off], '\n'))}
			got, tail, err := splitWith(t, bytes.NewReader(in[off:]), Options{File: "in.csv", BufferSize: 1, Origin: &o})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(all[k:], got); diff != "" {
				t.Fatalf("from offset %d (-whole +resumed):\n%s\ninput: %q", off, diff, in)
			}
			for j, r := range tail {
				if w := rows[k+j]; r.Offset != w.Offset || r.Line != w.Line || !bytes.Equal(r.Data, w.Data) {
					t.Fatalf("from offset %d: row %d at %d:%d %q, want %d:%d %q", off, j, r.Offset, r.Line, r.Data, w.Offset, w.Line, w.Data)
				}
			}
			if i%50 == 0 && k > 5 {
				break
			}
		}
	}
}

// TestDataIsNotWrittenOver keeps the first rows and reads many windows
// more: their bytes and fields stay as they were.
func TestDataIsNotWrittenOver(t *testing.T) {
	in := genW2(2 << 20)
	s := New(bytes.NewReader(in), Options{BufferSize: 1})
	first, err := s.Next()
	if err != nil {
		t.Fatal(err)
	}
	data, fields := string(first.Data), strings.Join(first.Fields, "|")
	for err == nil {
		_, err = s.Next()
	}
	if string(first.Data) != data || strings.Join(first.Fields, "|") != fields {
		t.Fatalf("the first row changed: %q %q, was %q %q", first.Data, first.Fields, data, fields)
	}
}

// TestRowTooLarge has rows longer than MaxRecordBytes that fit in the
// window, unquoted and quoted.
func TestRowTooLarge(t *testing.T) {
	for _, long := range []string{strings.Repeat("x,", 600), `"` + strings.Repeat(`x"",`, 300) + `",y`} {
		in := "a,b\n" + long + "\nc,d\n"
		s := New(strings.NewReader(in), Options{File: "in.csv", MaxRecordBytes: 1000})
		if row, err := s.Next(); err != nil || row.Fields[1] != "b" {
			t.Fatalf("first row: %v %v", row, err)
		}
		_, err := s.Next()
		if !errors.Is(err, scan.ErrTooLarge) || !strings.Contains(err.Error(), "in.csv:2:1:") {
			t.Fatalf("error = %v, want ErrTooLarge at 2:1", err)
		}
		if _, err2 := s.Next(); err2 != err {
			t.Fatalf("after the error: %v, want it again", err2)
		}
	}
}

// TestManyFields has rows with more fields than a chunk of field slices.
func TestManyFields(t *testing.T) {
	for _, n := range []int{255, 256, 257, 1000, 5000} {
		row := strings.Repeat(`a,"b""",`, n/2) + "z\n"
		compare(t, []byte(row+row+row), ',')
	}
}
