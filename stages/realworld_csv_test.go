package stages_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sluicehq/sluice/engine"
	"github.com/sluicehq/sluice/pipeline"
	"github.com/sluicehq/sluice/stages"
)

// Real-world CSV shapes (issue 14): files built to look like real ones
// that nobody here chose the format of, run through read → split →
// classify → count and write, with the counts and the written rows checked
// against encoding/csv reading the same files with the matching settings.

// debianCSV mimics Debian's distro-info-data debian.csv: released versions
// leave out their empty trailing fields, and sid and experimental have no
// version.
const debianCSV = `version,codename,series,created,release,eol,eol-lts,eol-elts
1.1,Buzz,buzz,1993-08-16,1996-06-17,1997-06-05
1.2,Rex,rex,1996-06-17,1996-12-12,1998-06-05
1.3,Bo,bo,1996-12-12,1997-06-05,1999-03-09
2.0,Hamm,hamm,1997-06-05,1998-07-24,2000-03-09
2.1,Slink,slink,1998-07-24,1999-03-09,2000-10-30
2.2,Potato,potato,1999-03-09,2000-08-15,2003-06-30
3.0,Woody,woody,2000-08-15,2002-07-19,2006-06-30
3.1,Sarge,sarge,2002-07-19,2005-06-06,2008-03-31
4.0,Etch,etch,2005-06-06,2007-04-08,2010-02-15
5.0,Lenny,lenny,2007-04-08,2009-02-14,2012-02-06
6.0,Squeeze,squeeze,2009-02-14,2011-02-06,2014-05-31,2016-02-29
7,Wheezy,wheezy,2011-02-06,2013-05-04,2016-04-25,2018-05-31,2020-06-30
8,Jessie,jessie,2013-05-04,2015-04-25,2018-06-17,2020-06-30,2025-06-30
9,Stretch,stretch,2015-04-25,2017-06-17,2020-07-18,2022-06-30,2027-06-30
10,Buster,buster,2017-06-17,2019-07-06,2022-09-10,2024-06-30,2029-06-30
11,Bullseye,bullseye,2019-07-06,2021-08-14,2024-08-14,2026-08-31,2031-06-30
12,Bookworm,bookworm,2021-08-14,2023-06-10,2026-06-10,2028-06-30,2033-06-30
13,Trixie,trixie,2023-06-10,2025-08-09
14,Forky,forky,2025-08-09
,Sid,sid,1993-08-16
,Experimental,experimental,1993-08-16
`

// excelExport mimics a spreadsheet saved as "CSV (semicolon)" in a
// European locale: a UTF-8 byte order mark, semicolons, CRLF line ends,
// decimal commas, notes quoted across lines (their CRLFs kept), a
// column name given twice, and a row with a stray trailing delimiter.
const excelExport = "\uFEFFid;country;amount;note;note\r\n" +
	"1;DE;1,50;\"first line\r\nsecond; line\";x\r\n" +
	"2;FR;2,00;\"he said \"\"non\"\"\";y\r\n" +
	"3;DE;0,99;;z\r\n" +
	"4;IT;10,00;\"a\r\nb\r\nc\";w;\r\n" +
	"5;;3,14;plain;v\r\n"

// legacyMac mimics a file from a classic Mac OS program: CR line ends
// only. It is made several MiB long, so that the split cuts it into byte
// ranges.
func legacyMac(rows int) string {
	var b strings.Builder
	b.WriteString("sku,type,title,price\r")
	types := []string{"book", "map", "score", "disc"}
	for i := range rows {
		fmt.Fprintf(&b, "%d,%s,\"Title %d, vol. %d\",%d.%02d\r", i, types[i*7%len(types)], i, i%9, i%300, i%100)
	}
	return b.String()
}

// mixedEnds mimics files concatenated from several systems: LF, CRLF and
// CR line ends in one file, blank lines between the parts, and a final
// row without a line end.
const mixedEnds = "id,status,who\n" +
	"1,open,\"Smith, J\"\n2,closed,Lee\n\n" +
	"3,open,\"multi\r\nline\"\r\n4,open,Ng\r\n\r\n" +
	"5,closed,Roe\r6,open,\"a,b\"\r" +
	"7,held,Kim"

// lazyQuotes mimics hand-written CSV with quotes that RFC 4180 does not
// allow: inches, and quotes inside a quoted field that are not doubled.
const lazyQuotes = "id,name,height\n" +
	"1,Ann,5'10\"\n" +
	"2,\"Bo \"Big\" B\",6'1\"\n" +
	"3,\"Cy\",\"5'9\"\"\"\n" +
	"4,Di \"the\" Fox,5'2\n"

func TestRealWorldCSV(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		csv   string // the split stage's csv options
		comma rune
		lazy  bool
		pad   bool // short rows padded
		keep  bool // long rows kept
		key   string
		warns []string // what the warnings hold, one each
		exact []string // count keys that must be there with their CRs
	}{
		{
			name: "debian", csv: "{short_rows: pad}", comma: ',', pad: true, key: "eol",
			files: map[string]string{"debian.csv": debianCSV, "empty.csv": "version,codename\n"},
			warns: []string{"empty.csv: no records from 17 bytes: the file holds only the header row (2 columns)"},
		},
		{
			name: "debian-strict", csv: "{}", comma: ',', key: "eol-lts",
			files: map[string]string{"debian.csv": debianCSV},
		},
		{
			name: "excel", csv: `{delimiter: ";", long_rows: keep}`, comma: ';', keep: true, key: "note",
			files: map[string]string{"export.csv": excelExport},
			warns: []string{`export.csv:1: the header names a column twice: "note" (columns 4 and 5)`},
			exact: []string{"kfirst line\r\nsecond; line", "ka\r\nb\r\nc"},
		},
		{
			name: "mac", csv: "{}", comma: ',', key: "type",
			files: map[string]string{"legacy.csv": legacyMac(60000)},
		},
		{
			name: "mixed", csv: "{}", comma: ',', key: "status",
			files: map[string]string{"mixed.csv": mixedEnds, "mixed2.csv": strings.ReplaceAll(mixedEnds, "\r\n", "\r")},
		},
		{
			name: "lazy", csv: "{lazy_quotes: true}", comma: ',', lazy: true, key: "name",
			files: map[string]string{"people.csv": lazyQuotes},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			in := filepath.Join(dir, "in")
			if err := os.Mkdir(in, 0o755); err != nil {
				t.Fatal(err)
			}
			want := expected{counts: map[string]int64{}}
			for name, content := range tc.files {
				if err := os.WriteFile(filepath.Join(in, name), []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
				want.add(t, content, tc.comma, tc.lazy, tc.pad, tc.keep, tc.key)
			}
			out := filepath.Join(dir, "out")
			src := fmt.Sprintf(`name: realworld-%s
stages:
  files: {use: read, with: {path: %q}}
  rows: {use: split, from: files, workers: 2, on_error: skip, with: {chunk: 1MiB, csv: %s}}
  labelled: {use: classify, from: rows, workers: 2, with: {rules: [{expr: '"k" + field(%q)'}]}}
  counts: {use: count, from: labelled, with: {by: [category], output: %q}}
  sorted: {use: write, from: labelled, with: {dir: %q, by: category}}
`, tc.name, in, tc.csv, tc.key, filepath.Join(out, "counts.json"), filepath.Join(out, "sorted"))
			g, err := pipeline.Load("realworld.yaml", []byte(src), stages.Registry())
			if err != nil {
				t.Fatal(err)
			}
			rep, err := engine.Run(context.Background(), g, engine.RunOptions{})
			if err != nil {
				t.Fatal(err)
			}
			split := rep.Stages[1]
			if split.Out != int64(len(want.rows)) || split.Skipped != want.rejected {
				t.Errorf("split: %d records out, %d skipped; encoding/csv gives %d rows and %d to reject", split.Out, split.Skipped, len(want.rows), want.rejected)
			}
			if len(tc.files) == 1 && strings.HasPrefix(tc.name, "mac") && rep.InputBytes < 2<<20 {
				t.Errorf("the mac file is %d bytes: too small for byte ranges", rep.InputBytes)
			}
			checkWarnings(t, split.Warnings, tc.warns)

			var raw map[string]int64
			b, err := os.ReadFile(filepath.Join(out, "counts.json"))
			if err == nil {
				err = json.Unmarshal(b, &raw)
			}
			if err != nil {
				t.Fatal(err)
			}
			counts := map[string]int64{}
			for k, n := range raw {
				counts[toLF(k)] += n
			}
			for _, k := range tc.exact {
				if raw[k] == 0 {
					t.Errorf("no count for %q: the bytes of a quoted field were not kept (counts %v)", k, raw)
				}
			}
			if diff := cmp.Diff(want.counts, counts); diff != "" {
				t.Errorf("counts differ from encoding/csv's (-want +got):\n%s", diff)
			}
			got := readWritten(t, filepath.Join(out, "sorted"), want.header, tc.key)
			slices.SortFunc(want.rows, compareRows)
			if diff := cmp.Diff(want.rows, got); diff != "" {
				t.Errorf("written rows differ from encoding/csv's (-want +got):\n%s", diff)
			}
		})
	}
}

// expected is what encoding/csv makes of the input files.
type expected struct {
	header   []string
	rows     [][]string // padded or kept as the options say, CRLFs as LF
	rejected int64
	counts   map[string]int64 // by "k" + the key field
}

// add reads one file with encoding/csv: a lone CR made an LF first (the
// line ends that split reads, which encoding/csv does not), the byte order
// mark removed, any number of fields per row, LazyQuotes as lazy says.
func (e *expected) add(t *testing.T, content string, comma rune, lazy, pad, keep bool, key string) {
	t.Helper()
	b := []byte(strings.TrimPrefix(content, "\uFEFF"))
	for i, c := range b {
		if c == '\r' && (i+1 == len(b) || b[i+1] != '\n') {
			b[i] = '\n'
		}
	}
	r := csv.NewReader(bytes.NewReader(b))
	r.Comma, r.LazyQuotes, r.FieldsPerRecord = comma, lazy, -1
	header, err := r.Read()
	if err != nil {
		t.Fatal(err)
	}
	if e.header == nil || len(header) > len(e.header) {
		e.header = header
	}
	col := slices.Index(header, key)
	for {
		row, err := r.Read()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case len(row) < len(header) && pad:
			row = append(row, make([]string, len(header)-len(row))...)
		case len(row) > len(header) && keep:
		case len(row) != len(header):
			e.rejected++
			continue
		}
		e.rows = append(e.rows, row)
		e.counts["k"+row[col]]++
	}
}

// readWritten reads back every file write made, with encoding/csv (any
// number of fields per row): each starts with the header and holds the
// rows of one category. It returns the rows, sorted.
func readWritten(t *testing.T, dir string, header []string, key string) [][]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	col := slices.Index(header, key)
	var rows [][]string
	for _, ent := range entries {
		f, err := os.ReadFile(filepath.Join(dir, ent.Name()))
		if err != nil {
			t.Fatal(err)
		}
		r := csv.NewReader(bytes.NewReader(f))
		r.FieldsPerRecord = -1
		all, err := r.ReadAll()
		if err != nil {
			t.Fatalf("%s does not read back as CSV: %v", ent.Name(), err)
		}
		if len(all) < 2 || !slices.Equal(all[0], header) {
			t.Fatalf("%s: header %q and %d rows, want header %q", ent.Name(), all[0], len(all)-1, header)
		}
		for _, row := range all[1:] {
			if row[col] != all[1][col] {
				t.Errorf("%s holds rows of two categories: %q and %q", ent.Name(), all[1][col], row[col])
			}
			for i := range row {
				row[i] = toLF(row[i]) // as encoding/csv reads the input
			}
			rows = append(rows, row)
		}
	}
	slices.SortFunc(rows, compareRows)
	return rows
}

func compareRows(a, b []string) int { return slices.Compare(a, b) }

// toLF makes each CRLF and lone CR of a value an LF: what encoding/csv
// reads where split keeps the bytes (a CRLF or a CR in a quoted field).
func toLF(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
}

func checkWarnings(t *testing.T, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("warnings %q, want %d", got, len(want))
		return
	}
	for i := range want {
		if !strings.Contains(got[i], want[i]) {
			t.Errorf("warning %q, want one holding %q", got[i], want[i])
		}
	}
}
