package split

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/sourcegraph/conc/pool"

	"github.com/sluicehq/sluice/stage"
)

// outcome is everything a split of one file produced, in order.
type outcome struct {
	Items []item
	Err   string // the file's error, "" if none
}

type item struct {
	Data    string
	Offset  int64
	Line    int64
	Ordinal int64
	Fields  []string
	Header  []string
	Reject  string // the reason, for a rejected record
}

// collector is an Emitter that keeps what it is given; with fail set,
// a rejection fails (as on_error: fail does).
type collector struct {
	items []item
	fail  bool
}

func (c *collector) add(r *stage.Record, reason string) {
	it := item{Data: string(r.Data), Offset: r.Source.Offset, Line: r.Source.Line, Ordinal: r.Source.Ordinal, Fields: r.Fields, Reject: reason}
	if r.Header != nil {
		it.Header = r.Header.Names
	}
	c.items = append(c.items, it)
}

func (c *collector) Emit(r *stage.Record) error { c.add(r, ""); return nil }

func (c *collector) Reject(r *stage.Record, err error) error {
	c.add(r, err.Error())
	if c.fail {
		return fmt.Errorf("rejected: %w", err)
	}
	return nil
}

// sequential splits the file whole, as chunk: 0 does.
func sequential(t testing.TB, s *Stage, path string, fail bool) outcome {
	t.Helper()
	c := &collector{fail: fail}
	err := s.Process(context.Background(), &stage.Record{Type: stage.File, Source: stage.Position{File: path}}, c)
	return finish(c, []error{err})
}

// parallel splits the file by byte ranges of chunk bytes on workers
// goroutines, starting the parts in order as the runner does, and
// concatenates the parts' outputs in part order (what ordered: true sends).
func parallel(t testing.TB, s *Stage, path string, chunk int64, workers int, fail bool) outcome {
	t.Helper()
	ranged := *s
	ranged.chunk = chunk
	parts, err := ranged.Partition(context.Background(), &stage.Record{Type: stage.File, Source: stage.Position{File: path}})
	if err != nil {
		t.Fatal(err)
	}
	outs := make([]*collector, len(parts))
	errs := make([]error, len(parts))
	p := pool.New().WithMaxGoroutines(workers)
	for k, part := range parts {
		outs[k] = &collector{fail: fail}
		p.Go(func() { errs[k] = part(context.Background(), outs[k]) })
	}
	p.Wait()
	all := &collector{}
	for _, o := range outs {
		all.items = append(all.items, o.items...)
	}
	return finish(all, errs)
}

// chained splits the file range by range with SplitRange, passing each
// handoff on through its JSON encoding, as executors on other machines
// would.
func chained(t testing.TB, s *Stage, path string, size, chunk int64, fail bool) outcome {
	t.Helper()
	c := &collector{fail: fail}
	var h Handoff
	for start := int64(0); start < size; start += chunk {
		end := start + chunk
		if end >= size {
			end = 0
		}
		next, err := s.SplitRange(context.Background(), path, h, end, c)
		if err != nil {
			return finish(c, []error{err})
		}
		b, err := json.Marshal(next)
		if err != nil {
			t.Fatal(err)
		}
		h = Handoff{}
		if err := json.Unmarshal(b, &h); err != nil {
			t.Fatal(err)
		}
	}
	return finish(c, nil)
}

// finish returns c's items with the first error, in part order; more than
// one part failing is itself a failure of the contract.
func finish(c *collector, errs []error) outcome {
	o := outcome{Items: c.items}
	n := 0
	for _, err := range errs {
		if err != nil {
			if n == 0 {
				o.Err = err.Error()
			}
			n++
		}
	}
	if n > 1 {
		o.Err += fmt.Sprintf(" (and %d more parts failed)", n-1)
	}
	return o
}

// checkRanges compares parallel with sequential splitting of content for
// many range sizes, tiny ones included so that every boundary is hit.
func checkRanges(t *testing.T, s *Stage, content string, fail bool) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "in")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	want := sequential(t, s, path, fail)
	n := int64(len(content))
	for _, chunk := range []int64{1 + n%3, 5 + n%11, 29 + n%37, 200 + n%101, 1000} {
		if chunk >= n && chunk > 3 {
			break
		}
		got := parallel(t, s, path, chunk, 3, fail)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("chunk %d: parallel split differs from sequential (-want +got):\n%s\ninput:\n%s", chunk, diff, content)
		}
		got = chained(t, s, path, n, chunk, fail)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("chunk %d: SplitRange differs from sequential (-want +got):\n%s\ninput:\n%s", chunk, diff, content)
		}
	}
}

func TestRangesXML(t *testing.T) {
	s := mustBuild(t, withDefaults(func(o *Options) { o.XML = &XMLOptions{Element: "record"} }))
	for seed := range uint64(30) {
		doc := genXML(rand.New(rand.NewPCG(seed, 1)))
		checkRanges(t, s, doc, false)
	}
}

func TestRangesXMLMatches(t *testing.T) {
	for _, el := range []string{"catalog/group/record", "p:record", "{urn:a}record", "item"} {
		t.Run(el, func(t *testing.T) {
			s := mustBuild(t, withDefaults(func(o *Options) { o.XML = &XMLOptions{Element: el} }))
			for seed := range uint64(10) {
				checkRanges(t, s, genXML(rand.New(rand.NewPCG(seed, 2))), false)
			}
		})
	}
}

func TestRangesXMLErrors(t *testing.T) {
	s := mustBuild(t, withDefaults(func(o *Options) { o.XML = &XMLOptions{Element: "record"} }))
	for seed := range uint64(30) {
		rng := rand.New(rand.NewPCG(seed, 3))
		doc := genXML(rng)
		checkRanges(t, s, corrupt(rng, doc), false)
	}
}

// genXML returns a random document built to trip a range split: records
// holding comments, CDATA sections and processing instructions with
// "<record" in them, nested records, ancestors declaring and redeclaring
// namespaces between records, entities, CRLF line ends, markup between
// records, and records of very different sizes.
func genXML(rng *rand.Rand) string {
	var b strings.Builder
	nl := "\n"
	if rng.IntN(3) == 0 {
		nl = "\r\n"
	}
	if rng.IntN(2) == 0 {
		b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + nl)
	}
	if rng.IntN(2) == 0 {
		b.WriteString(`<!DOCTYPE catalog [` + nl + `<!ENTITY pub "Acme &amp; Co">` + nl + `<!ENTITY rec "<record>not one</record>">` + nl + `]>` + nl)
	}
	b.WriteString(`<catalog xmlns:p="urn:a">` + nl)
	groups := 1 + rng.IntN(3)
	for g := range groups {
		fmt.Fprintf(&b, `<group n="%d" xmlns:p="urn:%c">%s`, g, 'a'+rune(rng.IntN(2)), nl)
		for range rng.IntN(8) {
			b.WriteString(genBetween(rng, nl))
			b.WriteString(genRecord(rng, nl, 0))
			b.WriteString(nl)
		}
		b.WriteString(`</group>` + nl)
	}
	b.WriteString(genBetween(rng, nl))
	b.WriteString(`</catalog>` + nl)
	if rng.IntN(3) == 0 {
		b.WriteString(`<!-- trailing <record> comment -->` + nl)
	}
	return b.String()
}

func genBetween(rng *rand.Rand, nl string) string {
	switch rng.IntN(6) {
	case 0:
		return `<!-- a <record> in a comment, and </group> too -->` + nl
	case 1:
		return `<?pi <record attr="x"> ?>` + nl
	case 2:
		return `<item k="v"/>` + nl
	case 3:
		return `<item><record-like/></item>` + nl
	}
	return ""
}

func genRecord(rng *rand.Rand, nl string, depth int) string {
	var b strings.Builder
	name := "record"
	if rng.IntN(4) == 0 {
		name = "p:record"
	}
	fmt.Fprintf(&b, `<%s id="%d" note="a &gt; b, &quot;record&quot; &lt;record">`, name, rng.IntN(1000))
	for range rng.IntN(6) {
		switch rng.IntN(9) {
		case 0:
			b.WriteString(`<!-- <record id="fake"> -->`)
		case 1:
			b.WriteString(`<![CDATA[ <record> ]]> & <catalog> ]]>`[:len(`<![CDATA[ <record> ]]>`)])
		case 2:
			b.WriteString(`<?pi </record> ?>`)
		case 3:
			if depth < 2 {
				b.WriteString(genRecord(rng, nl, depth+1))
			}
		case 4:
			b.WriteString(`&pub;`)
		case 5:
			b.WriteString(strings.Repeat("text ", rng.IntN(40)) + nl)
		case 6:
			b.WriteString(`<title lang="en">T` + nl + `itle</title>`)
		case 7:
			b.WriteString(`<p:x p:a="1">é ü ☃</p:x>`)
		default:
			b.WriteString(`<empty/>`)
		}
	}
	if rng.IntN(8) == 0 {
		return strings.TrimSuffix(b.String(), ">") + "/>"
	}
	fmt.Fprintf(&b, `</%s>`, name)
	return b.String()
}

// corrupt breaks a document at a random place.
func corrupt(rng *rand.Rand, doc string) string {
	i := rng.IntN(len(doc))
	switch rng.IntN(4) {
	case 0:
		return doc[:i] + "<" + doc[i:]
	case 1:
		return doc[:i] + "&bad;" + doc[i:]
	case 2:
		return doc[:i] + "</x>" + doc[i:]
	}
	return doc[:i] + "\x01" + doc[i:]
}

func TestRangesCSV(t *testing.T) {
	for _, header := range []bool{true, false} {
		s := mustBuild(t, withDefaults(func(o *Options) { o.CSV = &CSVOptions{Header: ptr(header)} }))
		for seed := range uint64(30) {
			rng := rand.New(rand.NewPCG(seed, 4))
			checkRanges(t, s, genCSV(rng, seed%5 == 0), false)
		}
	}
}

func TestRangesCSVFail(t *testing.T) {
	s := mustBuild(t, withDefaults(func(o *Options) { o.CSV = &CSVOptions{} }))
	for seed := range uint64(30) {
		checkRanges(t, s, genCSV(rand.New(rand.NewPCG(seed, 5)), true), true)
	}
}

// genCSV returns random CSV with quoted fields holding delimiters, quotes
// and line ends, CRLF, ragged rows, and, when malformed is set, bare
// quotes and unterminated fields.
func genCSV(rng *rand.Rand, malformed bool) string {
	var b strings.Builder
	cols := 1 + rng.IntN(4)
	for r := range 3 + rng.IntN(40) {
		n := cols
		if r > 0 && rng.IntN(10) == 0 {
			n += rng.IntN(3) - 1
		}
		for c := range max(n, 1) {
			if c > 0 {
				b.WriteByte(',')
			}
			switch rng.IntN(7) {
			case 0:
				b.WriteString(`"a,b"`)
			case 1:
				b.WriteString(`"line` + "\n" + `break"`)
			case 2:
				b.WriteString(`"say ""hi"""`)
			case 3:
				b.WriteString(`""`)
			case 4:
				if malformed && rng.IntN(4) == 0 {
					b.WriteString(`bare"quote`)
				} else {
					b.WriteString("plain")
				}
			default:
				fmt.Fprintf(&b, "v%d", rng.IntN(100))
			}
		}
		if rng.IntN(4) == 0 {
			b.WriteString("\r\n")
		} else {
			b.WriteString("\n")
		}
	}
	if malformed && rng.IntN(3) == 0 {
		b.WriteString(`x,"unterminated` + "\nmore\n")
	}
	return b.String()
}

func TestRangesLines(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  func(o *Options)
	}{
		{"lines", func(o *Options) { o.Lines = &LinesOptions{} }},
		{"skip_empty", func(o *Options) { o.Lines = &LinesOptions{SkipEmpty: true} }},
		{"jsonl", func(o *Options) { o.JSONL = &JSONLOptions{} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := mustBuild(t, withDefaults(tc.opt))
			for seed := range uint64(20) {
				rng := rand.New(rand.NewPCG(seed, 6))
				var b strings.Builder
				if seed%7 == 0 {
					b.WriteString("\uFEFF")
				}
				for range rng.IntN(50) {
					switch rng.IntN(6) {
					case 0:
					case 1:
						b.WriteString(`{"a": [1, 2, {"b": "c\nd"}]}`)
					case 2:
						b.WriteString(`{"bad": }`)
					case 3:
						b.WriteString("  \t")
					default:
						fmt.Fprintf(&b, `{"n": %d}`, rng.IntN(1000))
					}
					if rng.IntN(3) == 0 {
						b.WriteString("\r\n")
					} else {
						b.WriteString("\n")
					}
				}
				if rng.IntN(2) == 0 {
					b.WriteString(`"last without newline"`)
				}
				checkRanges(t, s, b.String(), false)
			}
		})
	}
}

// TestRangesLateError checks that an error in a late range is reported
// exactly as a whole-file scan reports it, and that later ranges emit
// nothing.
func TestRangesLateError(t *testing.T) {
	s := mustBuild(t, withDefaults(func(o *Options) { o.XML = &XMLOptions{Element: "record"} }))
	var b strings.Builder
	b.WriteString("<catalog>\n")
	for i := range 200 {
		fmt.Fprintf(&b, "  <record id=\"%d\"><title>t%d</title></record>\n", i, i)
		if i == 150 {
			b.WriteString("  <record><title>broken</titel></record>\n")
		}
	}
	b.WriteString("</catalog>\n")
	path := filepath.Join(t.TempDir(), "late.xml")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	want := sequential(t, s, path, false)
	if !strings.Contains(want.Err, "late.xml:153:") || !strings.Contains(want.Err, "expected </title>, found </titel>") {
		t.Fatalf("sequential error = %q", want.Err)
	}
	got := parallel(t, s, path, 512, 2, false)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
}

// TestRangesGuessRight checks that on regular inputs every part's guess is
// right, so that no range is scanned twice: the parallel split's speed
// depends on it.
func TestRangesGuessRight(t *testing.T) {
	var xmlDoc, csvDoc strings.Builder
	xmlDoc.WriteString("<?xml version=\"1.0\"?>\n<catalog xmlns:c=\"urn:c\">\n")
	csvDoc.WriteString("id,title,note\n")
	for i := range 2000 {
		fmt.Fprintf(&xmlDoc, "  <record id=\"%d\" type=\"book\">\n    <title>T%d</title>\n    <c:note>n</c:note>\n  </record>\n", i, i)
		fmt.Fprintf(&csvDoc, "%d,\"Title, %d\",\"multi\nline \"\"note\"\"\"\n", i, i)
	}
	xmlDoc.WriteString("</catalog>\n")
	for _, tc := range []struct {
		name string
		opt  func(o *Options)
		doc  string
	}{
		{"xml", func(o *Options) { o.XML = &XMLOptions{Element: "record"} }, xmlDoc.String()},
		{"xml-path", func(o *Options) { o.XML = &XMLOptions{Element: "catalog/record"} }, xmlDoc.String()},
		{"csv", func(o *Options) { o.CSV = &CSVOptions{} }, csvDoc.String()},
		{"lines", func(o *Options) { o.Lines = &LinesOptions{} }, csvDoc.String()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := mustBuild(t, withDefaults(tc.opt))
			path := filepath.Join(t.TempDir(), "in")
			if err := os.WriteFile(path, []byte(tc.doc), 0o644); err != nil {
				t.Fatal(err)
			}
			want := sequential(t, s, path, false)
			got := parallel(t, s, path, 4096, 2, false)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("(-want +got):\n%s", diff)
			}
			parts := int64((len(tc.doc) + 4095) / 4096)
			r, d, x := s.stats.replayed.Load(), s.stats.redone.Load(), s.stats.direct.Load()
			if d != 0 || r+x != parts-1 {
				t.Errorf("%d parts: %d replayed, %d redone, %d scanned directly; want every part after the first replayed or scanned directly", parts, r, d, x)
			}
			if r == 0 {
				// On a loaded machine every handoff can arrive before its
				// part starts: then no guess was made, and none was wrong.
				t.Logf("no part guessed (all %d scanned directly)", x)
			}
			t.Logf("%d parts, %d of them went live while scanning", parts, s.stats.live.Load())
		})
	}
}

// FuzzRanges compares splitting by byte ranges with splitting whole on
// random inputs and range sizes, for every format (CSV strict, and lenient
// with lazy quotes and ragged rows padded and kept).
func FuzzRanges(f *testing.F) {
	for seed := range uint64(4) {
		rng := rand.New(rand.NewPCG(seed, 7))
		f.Add([]byte(genXML(rng)), uint8(0), uint16(7))
		f.Add([]byte(genCSV(rng, true)), uint8(1), uint16(5))
	}
	f.Add([]byte("a\n\nb\r\n{\"x\": 1}\n"), uint8(2), uint16(2))
	f.Add([]byte("{\"a\":1}\n \n{bad\n"), uint8(3), uint16(3))
	f.Add([]byte("a,b\rc\r\"d\r\ne\"\nf\"g,h,i\r\n\"open"), uint8(4), uint16(3))
	stages := []*Stage{
		mustBuild(f, withDefaults(func(o *Options) { o.XML = &XMLOptions{Element: "record"} })),
		mustBuild(f, withDefaults(func(o *Options) { o.CSV = &CSVOptions{} })),
		mustBuild(f, withDefaults(func(o *Options) { o.Lines = &LinesOptions{SkipEmpty: true} })),
		mustBuild(f, withDefaults(func(o *Options) { o.JSONL = &JSONLOptions{} })),
		mustBuild(f, withDefaults(func(o *Options) {
			o.CSV = &CSVOptions{LazyQuotes: true, ShortRows: "pad", LongRows: "keep"}
		})),
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte, format uint8, chunk uint16) {
		if len(data) < 2 || len(data) > 4<<10 {
			return
		}
		s := stages[int(format)%len(stages)]
		path := filepath.Join(dir, fmt.Sprintf("in-%d", rand.Uint64()))
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(path)
		// Ranges of any size, but at most about 128 of them, so that an
		// input costs milliseconds (a part opens the file a few times).
		size := max(1+int64(chunk)%int64(len(data)-1), int64(len(data))/128)
		want := sequential(t, s, path, false)
		got := parallel(t, s, path, size, 3, false)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("chunk %d: (-want +got):\n%s", size, diff)
		}
	})
}
