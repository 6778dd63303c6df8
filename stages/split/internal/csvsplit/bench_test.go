package csvsplit

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"testing"
)

// genW2 returns about size bytes of CSV shaped like the W2 corpus (the
// catalogue written by gen_corpus.py --format csv): a header and rows of
// 13 fields, ~320 bytes each, mostly unquoted, with an authors field that
// always holds a comma (so every row has a quoted field), a publisher
// that sometimes holds "" and a body that sometimes holds "" and commas.
// Non-ASCII text is common. It is deterministic.
func genW2(size int) []byte {
	var (
		types      = []string{"book", "book", "book", "article", "article", "thesis", "map", "score", "serial", "video", "audio"}
		langs      = []string{"en", "en", "en", "en", "fr", "de", "es", "it", "nl", "ja", "ru", "zh", "pt"}
		roles      = []string{"aut", "aut", "aut", "aut", "edt", "trl", "ill", "ctb"}
		schemes    = []string{"lcsh", "mesh", "local", "ddc"}
		places     = []string{"London", "New York", "Paris", "Berlin", "Tokyo", "Zürich", "São Paulo", "Kraków", "Amsterdam", "Madrid"}
		publishers = []string{"Penguin & Co.", "Oxford University Press", "Éditions Gallimard", "Springer", "O'Reilly Media", "Smith & Sons", `"Quoted" Press`, "Suhrkamp", "Iwanami Shoten", "Random House"}
		given      = []string{"Anna", "Hans", "Kate", "José", "Zoë", "Mikhail", "Yuki", "François", "Chloé", "Björn", "Li", "Omar", "Sofia", "Pieter", "Ngozi", "Ravi"}
		surnames   = []string{"Müller", "O'Brien", "Smith", "García", "Dubois", "Tanaka", "Ivanov", "Rossi", "van der Berg", "Nowak", "Åberg", "Chen", "Okafor", "Kowalski", "Núñez", "Schröder", "Brown", "Lefèvre", "Sato", "Nielsen"}
		words      = strings.Fields("river city night garden history theory music light stone water war peace children memory machine language island winter summer mountain letters empire science journey silence market bridge road house forest museum engine atlas songs voices economy data systems network ocean archive north south café façade naïve résumé Straße über crème brûlée 東京 雪 Москва")
		cdata      = []string{"if (a < b && c > d) { return 0; }", "<b>bold</b> & <i>italic</i>", "x<y>z & w", "SELECT * FROM t WHERE a > 1 AND b < 2;"}
	)
	rng := rand.New(rand.NewPCG(42, 2))
	pick := func(xs []string) string { return xs[rng.IntN(len(xs))] }
	capital := func(s string) string { return strings.ToUpper(s[:1]) + s[1:] }
	sentence := func(n int) string {
		ws := make([]string, n)
		for i := range ws {
			ws[i] = pick(words)
		}
		switch r := rng.Float64(); {
		case r < 0.15:
			ws = append(ws, "&")
		case r < 0.25:
			ws = append(ws, "a<b")
		case r < 0.30:
			ws = append(ws, `"quoted"`)
		case r < 0.33:
			ws = append(ws, "etc,")
		}
		rng.Shuffle(len(ws), func(i, j int) { ws[i], ws[j] = ws[j], ws[i] })
		return capital(strings.Join(ws, " ")) + "."
	}
	var buf bytes.Buffer
	buf.Grow(size + 4096)
	w := csv.NewWriter(&buf)
	w.Write([]string{"id", "type", "lang", "status", "title", "authors", "subjects", "year", "place", "publisher", "isbn", "rights", "body"})
	for i := 1; buf.Len() < size; i++ {
		status := "active"
		if rng.IntN(10) == 0 {
			status = "withdrawn"
		}
		title := make([]string, 2+rng.IntN(5))
		for j := range title {
			title[j] = capital(pick(words))
		}
		if rng.IntN(8) == 0 {
			title = append(title, fmt.Sprintf("vol. %d", 1+rng.IntN(40)))
		}
		var authors []string
		for j := 0; j < 1+int(rng.Float64()*rng.Float64()*4); j++ {
			k := rng.IntN(50000)
			authors = append(authors, fmt.Sprintf("%s:p%06d:%s, %s", pick(roles), k, surnames[k%len(surnames)], given[k/len(surnames)%len(given)]))
		}
		var subjects []string
		for j := 0; j < 1+rng.IntN(4); j++ {
			s := pick(schemes)
			subjects = append(subjects, fmt.Sprintf("%s:%s%05d", s, s[:2], rng.IntN(3000)))
		}
		isbn := ""
		if rng.IntN(10) < 7 {
			isbn = fmt.Sprintf("978%010d", rng.Int64N(1e10))
		}
		rights := ""
		if rng.IntN(4) == 0 {
			rights = pick([]string{"CC-BY 4.0", "CC0", "All rights reserved"})
		}
		body := make([]string, 1+rng.IntN(3))
		for j := range body {
			body[j] = sentence(4 + rng.IntN(11))
		}
		if rng.IntN(10) == 0 {
			body = append(body, pick(cdata))
		}
		w.Write([]string{fmt.Sprintf("r%08d", i), pick(types), pick(langs), status, strings.Join(title, " "),
			strings.Join(authors, ";"), strings.Join(subjects, ";"), fmt.Sprint(1850 + rng.IntN(175)),
			pick(places), pick(publishers), isbn, rights, strings.Join(body, " ")})
	}
	w.Flush()
	return buf.Bytes()
}

var w2 = sync.OnceValue(func() []byte { return genW2(16 << 20) })

func TestGenW2(t *testing.T) {
	in := genW2(1 << 20)
	compare(t, in, ',')
	rows, err := csv.NewReader(bytes.NewReader(in)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	quoted := bytes.Count(in, []byte{'"'})
	if n := len(in) / len(rows); n < 200 || n > 500 || quoted < 2*len(rows) {
		t.Errorf("%d bytes a row, %d quotes in %d rows: not W2-like", n, quoted, len(rows))
	}
}

// BenchmarkSplit splits W2-like CSV (W2 is generated in memory; set
// SLUICE_W2_CSV to a file, e.g. one written by gen_corpus.py --format csv,
// to split that too).
func BenchmarkSplit(b *testing.B) {
	b.Run("W2", func(b *testing.B) { benchSplit(b, w2()) })
	b.Run("W2-semicolon", func(b *testing.B) {
		in := bytes.ReplaceAll(w2(), []byte{','}, []byte{';'})
		benchSplitComma(b, in, ';')
	})
	b.Run("W2-CRLF", func(b *testing.B) {
		// W2 with CRLF line ends: a CR before every LF, in quoted fields
		// too.
		benchSplit(b, bytes.ReplaceAll(w2(), []byte{'\n'}, []byte("\r\n")))
	})
	b.Run("unquoted", func(b *testing.B) {
		// W2 with its quoted fields (and so every comma and line break in a
		// field) replaced: the all-unquoted path.
		in := w2()
		out := make([]byte, 0, len(in))
		for _, line := range bytes.SplitAfter(in, []byte{'\n'}) {
			if bytes.IndexByte(line, '"') >= 0 {
				line = bytes.ReplaceAll(line, []byte{'"'}, []byte{'\''})
			}
			out = append(out, line...)
		}
		benchSplit(b, out)
	})
	if path := os.Getenv("SLUICE_W2_CSV"); path != "" {
		b.Run("file", func(b *testing.B) {
			in, err := os.ReadFile(path)
			if err != nil {
				b.Fatal(err)
			}
			benchSplit(b, in)
		})
	}
}

func benchSplit(b *testing.B, in []byte) { benchSplitComma(b, in, ',') }

func benchSplitComma(b *testing.B, in []byte, comma byte) {
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		s := New(bytes.NewReader(in), Options{Comma: comma})
		for {
			_, err := s.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	}
}
