package split

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sluicehq/sluice/stage"
	"github.com/sluicehq/sluice/stage/stagetest"
)

// row is what a test checks of a CSV record: its fields, whether write
// may copy its Data (Checked), and the reason it was rejected.
type row struct {
	Fields  []string
	Checked bool
	Reject  string
}

func csvRows(t *testing.T, o *Options, content string) ([]row, []string) {
	t.Helper()
	file := writeFile(t, "in.csv", content)
	res, err := stagetest.Run(context.Background(), mustBuild(t, o), []stage.Record{file}, stagetest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var rows []row
	for _, r := range res.Records {
		rows = append(rows, row{Fields: r.Fields, Checked: r.Checked})
	}
	for _, r := range res.Rejected {
		rows = append(rows, row{Reject: strings.TrimPrefix(r.Err.Error(), file.Source.File)})
	}
	return rows, res.Warnings
}

// TestCSVRaggedRows checks csv.short_rows and csv.long_rows on a file
// shaped like Debian's distro-info CSVs, whose rows leave out empty
// trailing fields (issue 14): padded rows read as empty and are written
// padded (not Checked: their Data lacks the padding); long rows kept are
// written as read.
func TestCSVRaggedRows(t *testing.T) {
	in := "version,codename,series,created,release,eol\n" +
		"1.1,Buzz,buzz,1993-08-16,1996-06-17,1997-06-05\n" +
		"14,Forky,forky,2025-08-09\n" +
		"15,Duke,duke,2027-08-09,,,extra\n"
	full := row{Fields: []string{"1.1", "Buzz", "buzz", "1993-08-16", "1996-06-17", "1997-06-05"}, Checked: true}
	short := ":3: row has 4 fields, the header has 6; set csv.short_rows: pad to read the missing trailing fields as empty"
	long := ":4: row has 7 fields, the header has 6; set csv.long_rows: keep to keep the extra fields"
	padded := row{Fields: []string{"14", "Forky", "forky", "2025-08-09", "", ""}}
	kept := row{Fields: []string{"15", "Duke", "duke", "2027-08-09", "", "", "extra"}, Checked: true}
	for _, tc := range []struct {
		short, long string
		want        []row
	}{
		{"", "", []row{full, {Reject: short}, {Reject: long}}},
		{"reject", "reject", []row{full, {Reject: short}, {Reject: long}}},
		{"pad", "", []row{full, padded, {Reject: long}}},
		{"", "keep", []row{full, kept, {Reject: short}}},
		{"pad", "keep", []row{full, padded, kept}},
	} {
		t.Run(tc.short+"/"+tc.long, func(t *testing.T) {
			o := withDefaults(func(o *Options) { o.CSV = &CSVOptions{ShortRows: tc.short, LongRows: tc.long} })
			got, _ := csvRows(t, o, in)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestCSVRaggedNoHeader pads and keeps against the first row when there is
// no header row.
func TestCSVRaggedNoHeader(t *testing.T) {
	o := withDefaults(func(o *Options) { o.CSV = &CSVOptions{Header: ptr(false), ShortRows: "pad"} })
	got, _ := csvRows(t, o, "a,b,c\nd\ne,f,g,h\n")
	want := []row{
		{Fields: []string{"a", "b", "c"}, Checked: true},
		{Fields: []string{"d", "", ""}},
		{Reject: ":3: row has 4 fields, the first row has 3; set csv.long_rows: keep to keep the extra fields"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestCSVLazyQuotes checks csv.lazy_quotes (issue 23): a quote inside an
// unquoted field is rejected, naming the option, unless it is set; then
// the bytes are kept and the row is not Checked, so that write quotes it.
func TestCSVLazyQuotes(t *testing.T) {
	in := "name,height\nAnn,5'10\"\n\"Bo \"Big\" B\",6'\n\"Cy\",\"1\"\"\"\n"
	strict := withDefaults(func(o *Options) { o.CSV = &CSVOptions{} })
	got, _ := csvRows(t, strict, in)
	want := []row{
		{Fields: []string{"Cy", `1"`}, Checked: true},
		{Reject: `:2:9: bare " in unquoted field (quote the field and write the quote as "", or set csv.lazy_quotes to keep it)`},
		{Reject: `:3:5: extraneous or missing " in quoted field: after a closing quote comes a delimiter or the end of the line (a quote inside a quoted field is written "", or set csv.lazy_quotes to keep it)`},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("strict (-want +got):\n%s", diff)
	}
	lazy := withDefaults(func(o *Options) { o.CSV = &CSVOptions{LazyQuotes: true} })
	got, _ = csvRows(t, lazy, in)
	want = []row{
		{Fields: []string{"Ann", `5'10"`}},
		{Fields: []string{`Bo "Big" B`, "6'"}},
		{Fields: []string{"Cy", `1"`}, Checked: true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("lazy (-want +got):\n%s", diff)
	}
}

// TestCSVLineEnds checks the reproduction of issue 14: a file with CR
// line ends gave 0 records and exit 0 (it was all one header row).
func TestCSVLineEnds(t *testing.T) {
	o := withDefaults(func(o *Options) { o.CSV = &CSVOptions{} })
	for _, in := range []string{"id,type\r1,a\r2,b\r", "id,type\n1,a\r\n2,b", "id,type\r\n1,a\r2,b\n"} {
		recs, rej, err := run(t, o, writeFile(t, "cr.csv", in), true)
		if err != nil || len(rej) > 0 {
			t.Fatalf("%q: %v %v", in, err, rej)
		}
		want := []got{{"1,a", 2, 1, []string{"1", "a"}}, {"2,b", 3, 2, []string{"2", "b"}}}
		if diff := cmp.Diff(want, recs); diff != "" {
			t.Errorf("%q: (-want +got):\n%s", in, diff)
		}
	}
}

// TestNoRecordsWarns checks that a file that gives no records is a
// warning (issue 14), whole and split by ranges, in every format, and that
// a file with records or no bytes is not.
func TestNoRecordsWarns(t *testing.T) {
	big := func(s string, n int) string { return strings.Repeat(s, n) }
	for _, tc := range []struct {
		name    string
		opt     func(o *Options)
		content string
		want    string // "" for no warning
	}{
		{"xml", func(o *Options) { o.XML = &XMLOptions{Element: "{urn:x}g"} }, "<r><g/>" + big("<g p='a'/>\n", 300) + "</r>", `no element matches xml.element "{urn:x}g"`},
		{"xml-match", func(o *Options) { o.XML = &XMLOptions{Element: "g"} }, "<r><g/></r>", ""},
		{"csv-header", func(o *Options) { o.CSV = &CSVOptions{} }, "id,type" + big("\n", 3000), "the file holds only the header row (2 columns)"},
		{"csv-rows", func(o *Options) { o.CSV = &CSVOptions{} }, "id\n1\n", ""},
		{"csv-empty", func(o *Options) { o.CSV = &CSVOptions{} }, "", ""},
		{"lines", func(o *Options) { o.Lines = &LinesOptions{SkipEmpty: true} }, big("\r\n", 2000), "which lines.skip_empty drops"},
		{"jsonl", func(o *Options) { o.JSONL = &JSONLOptions{} }, big(" \n", 2000), "only blank lines"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := mustBuild(t, withDefaults(tc.opt))
			file := writeFile(t, "f", tc.content)
			res, err := stagetest.Run(context.Background(), s, []stage.Record{file}, stagetest.Options{})
			if err != nil {
				t.Fatal(err)
			}
			checkWarning(t, "whole", res.Warnings, tc.want, file.Source.File, len(tc.content))
			if len(tc.content) < 100 {
				return
			}
			w := stage.NewWarnings(nil)
			if err := s.Setup(context.Background(), stage.Env{Warnings: w}); err != nil {
				t.Fatal(err)
			}
			if o := parallel(t, s, file.Source.File, 512, 2, false); o.Err != "" {
				t.Fatal(o.Err)
			}
			list, _ := w.List()
			checkWarning(t, "by ranges", list, tc.want, file.Source.File, len(tc.content))
		})
	}
}

func checkWarning(t *testing.T, how string, got []string, want, path string, size int) {
	t.Helper()
	if want == "" {
		if len(got) > 0 {
			t.Errorf("%s: warnings %q, want none", how, got)
		}
		return
	}
	prefix := fmt.Sprintf("%s: no records from %d bytes: ", path, size)
	if len(got) != 1 || !strings.HasPrefix(got[0], prefix) || !strings.Contains(got[0], want) {
		t.Errorf("%s: warnings %q, want one starting %q and holding %q", how, got, prefix, want)
	}
}

// TestDuplicateHeaderWarns checks that a header naming a column twice is a
// warning (issue 14: the first column silently won).
func TestDuplicateHeaderWarns(t *testing.T) {
	o := withDefaults(func(o *Options) { o.CSV = &CSVOptions{} })
	rows, warnings := csvRows(t, o, "\nid,name,id,,\n1,a,2,,\n")
	if len(rows) != 1 || len(warnings) != 1 {
		t.Fatalf("rows %v, warnings %q", rows, warnings)
	}
	want := `:2: the header names a column twice: "id" (columns 1 and 3), "" (columns 4 and 5); field() reads the first of each, so rename the others to read them`
	if !strings.HasSuffix(warnings[0], want) {
		t.Errorf("warning %q, want it to end %q", warnings[0], want)
	}
	_, warnings = csvRows(t, o, "id,name\n1,a\n")
	if len(warnings) > 0 {
		t.Errorf("warnings %q for a header without duplicates", warnings)
	}
}

// TestRangesCSVOptions compares splitting by ranges with splitting whole
// under every combination of the CSV options, on files with CR, LF and
// CRLF line ends, ragged rows and bare quotes.
func TestRangesCSVOptions(t *testing.T) {
	for _, o := range []CSVOptions{
		{ShortRows: "pad", LongRows: "keep"},
		{LazyQuotes: true},
		{LazyQuotes: true, ShortRows: "pad", Header: ptr(false)},
	} {
		t.Run(fmt.Sprintf("%+v", o), func(t *testing.T) {
			s := mustBuild(t, withDefaults(func(opt *Options) { opt.CSV = &o }))
			for seed := range uint64(20) {
				rng := rand.New(rand.NewPCG(seed, 8))
				checkRanges(t, s, crLineEnds(rng, genCSV(rng, seed%2 == 0)), false)
			}
		})
	}
}

// crLineEnds makes some of doc's LFs CRs, and some CRLFs.
func crLineEnds(rng *rand.Rand, doc string) string {
	b := []byte(doc)
	for i, c := range b {
		if c == '\n' && (i == 0 || b[i-1] != '\r') && rng.IntN(3) == 0 {
			b[i] = '\r'
		}
	}
	return string(b)
}

// TestRangesCROnly checks that a CR-only file split by ranges guesses its
// row starts right: no range is scanned twice.
func TestRangesCROnly(t *testing.T) {
	var b strings.Builder
	b.WriteString("id,title\r")
	for i := range 3000 {
		fmt.Fprintf(&b, "%d,\"Title, %d\"\r", i, i)
	}
	s := mustBuild(t, withDefaults(func(o *Options) { o.CSV = &CSVOptions{} }))
	path := filepath.Join(t.TempDir(), "cr.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	want := sequential(t, s, path, false)
	if len(want.Items) != 3000 || want.Items[2999].Line != 3001 {
		t.Fatalf("sequential: %d records, want 3000 on lines 2-3001", len(want.Items))
	}
	got := parallel(t, s, path, 4096, 2, false)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	if d := s.stats.redone.Load(); d != 0 {
		t.Errorf("%d parts redone, want none", d)
	}
}
