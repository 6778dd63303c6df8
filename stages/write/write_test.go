package write

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"github.com/sluicehq/sluice/engine"
	"github.com/sluicehq/sluice/stage"
	"github.com/sluicehq/sluice/stage/stagetest"
)

// newWriter returns a Writer on a fresh output directory, with options
// changed by edit.
func newWriter(t testing.TB, edit func(*Options)) (*Writer, string) {
	t.Helper()
	o := DefaultOptions()
	o.Dir = filepath.Join(t.TempDir(), "out")
	o.Sync = false // the tests that need it turn it on
	if edit != nil {
		edit(&o)
	}
	w, err := New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return w, o.Dir
}

func env() stage.Env { return stage.Env{Stage: "test", Workers: 1, Counters: &stage.Counters{}} }

var nth int64

func pos() stage.Position {
	nth++
	return stage.Position{File: "in.dat", Line: nth, Ordinal: nth, Offset: nth * 10}
}

func xmlRec(key string, id int) stage.Record {
	data := fmt.Sprintf(`<record id="%d"><t>%s &amp; more</t></record>`, id, strings.Repeat("x", id%7))
	return stage.Record{Type: stage.XML, Source: pos(), Data: []byte(data), Size: int64(len(data)), Category: key}
}

func csvRec(h *stage.Header, key string, fields ...string) stage.Record {
	return stage.Record{Type: stage.CSV, Source: pos(), Header: h, Fields: fields, Data: []byte(strings.Join(fields, ",")), Category: key}
}

func lineRec(typ stage.Type, key, text string) stage.Record {
	return stage.Record{Type: typ, Source: pos(), Data: []byte(text), Size: int64(len(text)), Category: key}
}

// xmlDoc is an XML output as parsed back.
type xmlDoc struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Records []struct {
		XMLName xml.Name
		Inner   string `xml:",innerxml"`
		ID      string `xml:"id,attr"`
	} `xml:",any"`
}

// parseXML parses a whole XML output, failing on anything after the root.
func parseXML(t *testing.T, path string) xmlDoc {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")) {
		t.Fatalf("%s does not start with the XML declaration: %.80q", path, b)
	}
	d := xml.NewDecoder(bytes.NewReader(b))
	var doc xmlDoc
	if err := d.Decode(&doc); err != nil {
		t.Fatalf("%s is not valid XML: %v", path, err)
	}
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s after the root: %v", path, err)
		}
		if cd, ok := tok.(xml.CharData); !ok || len(bytes.TrimSpace(cd)) > 0 {
			t.Fatalf("%s has %T after the root element", path, tok)
		}
	}
	return doc
}

func (d xmlDoc) attr(name string) string {
	for _, a := range d.Attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return "<missing>"
}

// listDir returns the names in dir, sorted.
func listDir(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func TestRoundTrip(t *testing.T) {
	h := stage.NewHeader([]string{"id", "name", "note"})
	tests := []struct {
		name  string
		input []stage.Record
		check func(t *testing.T, dir string, input []stage.Record)
	}{{
		name: "xml",
		input: []stage.Record{
			xmlRec("book", 1), xmlRec(`a"<&>'b`, 2), xmlRec("book", 3), xmlRec("", 4), xmlRec("book", 5),
		},
		check: func(t *testing.T, dir string, input []stage.Record) {
			want := map[string][]string{}
			for _, r := range input {
				want[r.Category] = append(want[r.Category], string(r.Data))
			}
			files := map[string]string{"book": "book.xml", `a"<&>'b`: "a%22%3C%26%3E%27b.xml", "": "uncategorised.xml"}
			for key, name := range files {
				doc := parseXML(t, filepath.Join(dir, name))
				if doc.XMLName.Local != "records" || doc.attr("category") != key {
					t.Errorf("%s: root <%s category=%q>, want <records category=%q>", name, doc.XMLName.Local, doc.attr("category"), key)
				}
				var got []string
				for _, r := range doc.Records {
					got = append(got, fmt.Sprintf(`<record id="%s">%s</record>`, r.ID, r.Inner))
				}
				if diff := cmp.Diff(want[key], got); diff != "" {
					t.Errorf("%s records (-want +got):\n%s", name, diff)
				}
			}
		},
	}, {
		name: "csv",
		input: []stage.Record{
			csvRec(h, "k", "1", "plain", ""),
			csvRec(h, "k", "2", "with, comma", `with "quotes"`),
			csvRec(h, "k", "3", "multi\nline", " leading space"),
			csvRec(h, "k", "4", `\.`, "ünïcödé"),
			csvRec(stage.NewHeader([]string{"id", "name", "note"}), "k", "5", "same names, another Header", ""),
		},
		check: func(t *testing.T, dir string, input []stage.Record) {
			f, err := os.Open(filepath.Join(dir, "k.csv"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			rows, err := csv.NewReader(f).ReadAll()
			if err != nil {
				t.Fatalf("k.csv is not valid CSV: %v", err)
			}
			want := [][]string{h.Names}
			for _, r := range input {
				want = append(want, r.Fields)
			}
			if diff := cmp.Diff(want, rows); diff != "" {
				t.Errorf("k.csv rows (-want +got):\n%s", diff)
			}
		},
	}, {
		// Rows split read: write copies their Data (as it was quoted) when
		// it is a comma-delimited row of their Fields, and encodes the rest.
		name: "csv rows as read",
		input: func() []stage.Record {
			comma := stage.NewHeader([]string{"id", "text"})
			comma.Delimiter = ','
			semi := stage.NewHeader([]string{"id", "text"})
			semi.Delimiter = ';'
			raw := func(h *stage.Header, checked bool, data string, fields ...string) stage.Record {
				return stage.Record{Type: stage.CSV, Checked: checked, Source: pos(), Header: h, Fields: fields, Data: []byte(data), Category: "r"}
			}
			return []stage.Record{
				raw(comma, true, `"1","say ""hi"""`, "1", `say "hi"`),
				raw(comma, false, `"2",stale data`, "2", "not checked: encoded"),
				raw(semi, true, `3;"a,b"`, "3", "a,b"),
			}
		}(),
		check: func(t *testing.T, dir string, input []stage.Record) {
			b, err := os.ReadFile(filepath.Join(dir, "r.csv"))
			if err != nil {
				t.Fatal(err)
			}
			want := "id,text\n\"1\",\"say \"\"hi\"\"\"\n2,not checked: encoded\n3,\"a,b\"\n"
			if string(b) != want {
				t.Errorf("r.csv = %q, want %q", b, want)
			}
		},
	}, {
		name: "csv one column",
		input: []stage.Record{
			csvRec(stage.NewHeader([]string{"only"}), "one", ""),
			csvRec(stage.NewHeader([]string{"only"}), "one", "x"),
			csvRec(stage.NewHeader([]string{"only"}), "one", ""),
		},
		check: func(t *testing.T, dir string, input []stage.Record) {
			f, err := os.Open(filepath.Join(dir, "one.csv"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			rows, err := csv.NewReader(f).ReadAll()
			if err != nil {
				t.Fatalf("one.csv is not valid CSV: %v", err)
			}
			want := [][]string{{"only"}, {""}, {"x"}, {""}}
			if diff := cmp.Diff(want, rows); diff != "" {
				t.Errorf("one.csv rows (-want +got):\n%s", diff)
			}
		},
	}, {
		name: "lines",
		input: []stage.Record{
			lineRec(stage.Line, "l", "first"), lineRec(stage.Line, "l", ""), lineRec(stage.Line, "l", "  spaced\t"),
		},
		check: func(t *testing.T, dir string, input []stage.Record) {
			b, err := os.ReadFile(filepath.Join(dir, "l.txt"))
			if err != nil {
				t.Fatal(err)
			}
			if got, want := string(b), "first\n\n  spaced\t\n"; got != want {
				t.Errorf("l.txt = %q, want %q", got, want)
			}
		},
	}, {
		name: "json",
		input: []stage.Record{
			lineRec(stage.JSON, "j", `{"a":1}`),
			lineRec(stage.JSON, "j", "{\n  \"b\": [1,\r\n 2]\n}"),
			lineRec(stage.JSON, "j", `"text"`),
		},
		check: func(t *testing.T, dir string, input []stage.Record) {
			b, err := os.ReadFile(filepath.Join(dir, "j.jsonl"))
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
			if len(lines) != len(input) {
				t.Fatalf("j.jsonl has %d lines, want %d:\n%s", len(lines), len(input), b)
			}
			for i, line := range lines {
				var got, want any
				if err := json.Unmarshal([]byte(line), &got); err != nil {
					t.Fatalf("line %d %q: %v", i+1, line, err)
				}
				json.Unmarshal(input[i].Data, &want)
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("line %d (-want +got):\n%s", i+1, diff)
				}
			}
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, dir := newWriter(t, func(o *Options) { o.Sync = true })
			res, err := stagetest.Run(context.Background(), w, tt.input, stagetest.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Rejected) > 0 {
				t.Fatalf("rejected: %v", res.Rejected[0].Err)
			}
			tt.check(t, dir, tt.input)
			var records int64
			for _, o := range w.Outputs() {
				records += o.Records
				st, err := os.Stat(o.Path)
				if err != nil {
					t.Fatal(err)
				}
				if st.Size() != o.Bytes {
					t.Errorf("%s: Outputs says %d bytes, file has %d", o.Path, o.Bytes, st.Size())
				}
			}
			if records != int64(len(tt.input)) {
				t.Errorf("Outputs count %d records, want %d", records, len(tt.input))
			}
			if names := listDir(t, dir); slices.ContainsFunc(names, func(n string) bool { return strings.HasPrefix(n, ".") }) {
				t.Errorf("output directory holds %v after Commit", names)
			}
		})
	}
}

// openInStaging counts the process's descriptors open on files of the
// staging directory, as a check independent of the writer's own counter.
func openInStaging(t *testing.T, staging string) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	n := 0
	for _, e := range ents {
		if target, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil && strings.HasPrefix(target, staging+"/") {
			n++
		}
	}
	return n
}

func TestMaxOpen(t *testing.T) {
	const keys, rounds, maxOpen = 50, 12, 2
	h := stage.NewHeader([]string{"key", "round"})
	for _, kind := range []string{"xml", "csv"} {
		t.Run(kind, func(t *testing.T) {
			w, dir := newWriter(t, func(o *Options) { o.MaxOpen = maxOpen })
			ctx := context.Background()
			if err := w.Setup(ctx, env()); err != nil {
				t.Fatal(err)
			}
			checkProc := runtime.GOOS == "linux"
			for round := range rounds {
				for k := range keys {
					key := fmt.Sprintf("cat%02d", (k*7+round)%keys) // interleaved, in a changing order
					r := xmlRec(key, round)
					if kind == "csv" {
						r = csvRec(h, key, key, fmt.Sprint(round))
					}
					if err := w.Process(ctx, &r, nil); err != nil {
						t.Fatal(err)
					}
					if w.open > maxOpen {
						t.Fatalf("%d files open, max_open is %d", w.open, maxOpen)
					}
					if checkProc {
						if n := openInStaging(t, w.staging); n > maxOpen {
							t.Fatalf("/proc/self/fd shows %d staged files open, max_open is %d", n, maxOpen)
						}
					}
				}
			}
			if err := w.Finish(ctx, nil); err != nil {
				t.Fatal(err)
			}
			if w.open != 0 {
				t.Errorf("%d files still open after Finish", w.open)
			}
			if err := engine.Commit(ctx, w); err != nil {
				t.Fatal(err)
			}
			if w.peakOpen != maxOpen {
				t.Errorf("peak of %d open files, want exactly max_open = %d", w.peakOpen, maxOpen)
			}
			outs := w.Outputs()
			if len(outs) != keys {
				t.Fatalf("%d outputs, want %d", len(outs), keys)
			}
			for _, o := range outs {
				key := strings.TrimSuffix(filepath.Base(o.Path), "."+kind)
				if o.Records != rounds {
					t.Errorf("%s: Outputs says %d records, want %d", o.Path, o.Records, rounds)
				}
				var got []string
				if kind == "xml" {
					doc := parseXML(t, o.Path)
					if doc.attr("category") != key {
						t.Errorf("%s: category %q", o.Path, doc.attr("category"))
					}
					for _, r := range doc.Records {
						got = append(got, r.ID)
					}
				} else {
					f, err := os.Open(o.Path)
					if err != nil {
						t.Fatal(err)
					}
					rows, err := csv.NewReader(f).ReadAll()
					f.Close()
					if err != nil || len(rows) == 0 || !slices.Equal(rows[0], h.Names) {
						t.Fatalf("%s: header %v, err %v", o.Path, rows, err)
					}
					for _, row := range rows[1:] {
						if row[0] != key {
							t.Errorf("%s: row of key %q", o.Path, row[0])
						}
						got = append(got, row[1])
					}
				}
				var want []string
				for round := range rounds {
					want = append(want, fmt.Sprint(round))
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("%s records (-want +got):\n%s", o.Path, diff)
				}
			}
			if n := len(listDir(t, dir)); n != keys {
				t.Errorf("output directory has %d entries, want %d", n, keys)
			}
		})
	}
}

func TestHostileKeys(t *testing.T) {
	long := strings.Repeat("é", 150) // 300 bytes
	tests := []struct {
		key  string
		name string // expected file name; "" when it holds a hash
		note bool   // a note is expected
	}{
		{"book/plain", "book__plain.xml", false},
		{"book__plain", "", true}, // same name as book/plain, arrives second
		{"Book/Plain", "", true},  // differs only in case
		{"../x", "%2E.__x.xml", true},
		{"/etc/passwd", "__etc__passwd.xml", false},
		{"a/../../b", "a__..__..__b.xml", false},
		{".", "%2E.xml", true},
		{"..", "%2E%2E.xml", true},
		{"", "uncategorised.xml", true},
		{"uncategorised", "", true},
		{"nul\x00byte", "nul%00byte.xml", true},
		{"tab\tnew\nline\x7f", "tab%09new%0Aline%7F.xml", true},
		{"CON", "%43ON.xml", true},
		{"con.txt", "%63on.txt.xml", true},
		{"Com1", "%43om1.xml", true},
		{"lpt9", "%6Cpt9.xml", true},
		{"COM10", "COM10.xml", false},
		{"trailing.", "trailing%2E.xml", true},
		{"trailing ", "trailing%20.xml", true},
		{"bad\xff\xfeutf8", "bad%FF%FEutf8.xml", true},
		{`back\slash`, "back%5Cslash.xml", true},
		{"C:x", "C%3Ax.xml", true},
		{"100%", "100%25.xml", true},
		{"Bücher", "Bücher.xml", false},
		{"日本語", "日本語.xml", false},
		{"zero\u200bwidth", "zero%E2%80%8Bwidth.xml", true},
		{"\uD55C", "\uD55C.xml", false},  // 한, precomposed
		{"\u1112\u1161\u11AB", "", true}, // 한, decomposed: the same name on macOS
		{long, "", true},
		{long + "x", "", true},
		{strings.Repeat("/", 300), "", true},
	}
	w, dir := newWriter(t, nil)
	var input []stage.Record
	for i, tt := range tests {
		input = append(input, xmlRec(tt.key, i))
	}
	if _, err := stagetest.Run(context.Background(), w, input, stagetest.Options{FailOnReject: true}); err != nil {
		t.Fatal(err)
	}
	if got := listDir(t, filepath.Dir(dir)); !slices.Equal(got, []string{"out"}) {
		t.Errorf("parent of the output directory holds %v, want only [out]", got)
	}
	for _, o := range w.Outputs() {
		if doc := parseXML(t, o.Path); len(doc.Records) != 1 || o.Records != 1 {
			t.Errorf("%s: %d records parsed, %d counted, want 1", o.Path, len(doc.Records), o.Records)
		}
	}
	if got := len(listDir(t, dir)); got != len(tests) {
		t.Errorf("output directory has %d files, want one per key: %d", got, len(tests))
	}
	for i, tt := range tests {
		t.Run(fmt.Sprintf("%d_%.20q", i, tt.key), func(t *testing.T) {
			f := w.files[claim{key: tt.key, ext: ".xml"}]
			if f == nil || !f.created {
				t.Fatalf("no output for key %q", tt.key)
			}
			o := stage.Output{Path: f.final, Records: f.records, Note: f.note}
			name := filepath.Base(o.Path)
			if filepath.Dir(o.Path) != dir || !filepath.IsLocal(name) || len(name) > 255 {
				t.Errorf("output %q is not one local component of %s", o.Path, dir)
			}
			if tt.name != "" && name != tt.name {
				t.Errorf("written as %q, want %q", name, tt.name)
			}
			if tt.name == "" && !strings.Contains(name, "~") {
				t.Errorf("written as %q, want a name with a hash", name)
			}
			if got := o.Note != ""; got != tt.note {
				t.Errorf("note %q, want a note: %v", o.Note, tt.note)
			}
			if tt.note && !strings.Contains(o.Note, fmt.Sprintf("written as %q", name)) {
				t.Errorf("note %q does not name the file", o.Note)
			}
		})
	}
}

func TestNotes(t *testing.T) {
	tests := []struct {
		name string
		by   string
		tmpl string
		in   []stage.Record
		want []string
	}{{
		name: "remapped",
		by:   "category",
		in:   []stage.Record{xmlRec("../x", 1)},
		want: []string{`category "../x" written as "%2E.__x.xml"`},
	}, {
		name: "uncategorised",
		by:   "category",
		in:   []stage.Record{xmlRec("", 1)},
		want: []string{`records without category written as "uncategorised.xml"`},
	}, {
		name: "case clash",
		by:   "category",
		in:   []stage.Record{xmlRec("a", 1), xmlRec("A", 2)},
		want: []string{"", `category "A" written as "A~` + keyHash("A", 1)[1:] + `.xml" because "A.xml" is taken by category "a" (names that differ only in case are the same file on macOS and Windows)`},
	}, {
		name: "slash clash",
		by:   "category",
		in:   []stage.Record{xmlRec("a/b", 1), xmlRec("a__b", 2)},
		want: []string{"", `category "a__b" written as "a__b~` + keyHash("a__b", 1)[1:] + `.xml" because "a__b.xml" is taken by category "a/b"`},
	}, {
		name: "kinds without ext",
		by:   "category",
		tmpl: "{key}",
		in:   []stage.Record{lineRec(stage.Line, "k", "x"), xmlRec("k", 1)},
		want: []string{"", `category "k" (xml records) written as "k~` + keyHash("k", 1)[1:] + `" because "k" is taken by its line records`},
	}, {
		name: "label",
		by:   "label:lang",
		in: []stage.Record{
			{Type: stage.Line, Data: []byte("x"), Labels: map[string]string{"lang": "en/gb"}},
			{Type: stage.Line, Data: []byte("y"), Labels: map[string]string{"lang": ".."}},
			{Type: stage.Line, Data: []byte("z"), Category: "ignored"},
		},
		want: []string{"", `label "lang" value ".." written as "%2E%2E.txt"`, `records without label "lang" written as "uncategorised.txt"`},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, _ := newWriter(t, func(o *Options) {
				o.By = tt.by
				if tt.tmpl != "" {
					o.Name = tt.tmpl
				}
			})
			if _, err := stagetest.Run(context.Background(), w, tt.in, stagetest.Options{FailOnReject: true}); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range w.order { // in arrival order
				got = append(got, f.note)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("notes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLabelRoot(t *testing.T) {
	w, dir := newWriter(t, func(o *Options) { o.By = "label:lang"; o.XMLRoot = "docs" })
	r := xmlRec("ignored", 1)
	r.Labels = map[string]string{"lang": "fr"}
	if _, err := stagetest.Run(context.Background(), w, []stage.Record{r}, stagetest.Options{FailOnReject: true}); err != nil {
		t.Fatal(err)
	}
	doc := parseXML(t, filepath.Join(dir, "fr.xml"))
	if doc.XMLName.Local != "docs" || doc.attr("label") != "lang" || doc.attr("value") != "fr" || len(doc.Records) != 1 {
		t.Errorf("got <%s label=%q value=%q> with %d records", doc.XMLName.Local, doc.attr("label"), doc.attr("value"), len(doc.Records))
	}
}

func TestAbort(t *testing.T) {
	for _, finish := range []bool{false, true} {
		t.Run(fmt.Sprintf("finished=%v", finish), func(t *testing.T) {
			w, dir := newWriter(t, func(o *Options) { o.MaxOpen = 1 })
			ctx := context.Background()
			if err := w.Setup(ctx, env()); err != nil {
				t.Fatal(err)
			}
			for i := range 10 {
				r := xmlRec(fmt.Sprint("k", i%3), i)
				if err := w.Process(ctx, &r, nil); err != nil {
					t.Fatal(err)
				}
			}
			if finish {
				if err := w.Finish(ctx, nil); err != nil {
					t.Fatal(err)
				}
			}
			w.Abort()
			if err := w.Teardown(ctx); err != nil {
				t.Fatal(err)
			}
			if names := listDir(t, dir); len(names) != 0 {
				t.Errorf("output directory holds %v after Abort", names)
			}
			if w.open != 0 || w.head != nil {
				t.Errorf("%d files open after Abort", w.open)
			}
			if err := engine.Commit(ctx, w); err == nil {
				t.Error("Commit after Abort succeeded")
			}
		})
	}
}

func TestTeardownWithoutCommitOrAbort(t *testing.T) {
	w, dir := newWriter(t, nil)
	ctx := context.Background()
	if err := w.Setup(ctx, env()); err != nil {
		t.Fatal(err)
	}
	r := xmlRec("k", 1)
	if err := w.Process(ctx, &r, nil); err != nil {
		t.Fatal(err)
	}
	if err := w.Teardown(ctx); err != nil {
		t.Fatal(err)
	}
	if names := listDir(t, dir); len(names) != 0 {
		t.Errorf("output directory holds %v after Teardown", names)
	}
}

func TestCommitReplaces(t *testing.T) {
	w, dir := newWriter(t, nil)
	if err := os.MkdirAll(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	old := map[string]string{"k.xml": "old output\n", "other.xml": "from an earlier run\n"}
	for name, text := range old {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o666); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := stagetest.Run(context.Background(), w, []stage.Record{xmlRec("k", 1)}, stagetest.Options{}); err != nil {
		t.Fatal(err)
	}
	if doc := parseXML(t, filepath.Join(dir, "k.xml")); len(doc.Records) != 1 {
		t.Errorf("k.xml has %d records, want 1", len(doc.Records))
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "other.xml")); string(b) != old["other.xml"] {
		t.Errorf("other.xml = %q, want it untouched", b)
	}
	if got := listDir(t, dir); !slices.Equal(got, []string{"k.xml", "other.xml"}) {
		t.Errorf("output directory holds %v", got)
	}
}

// TestCommitFailureUndoesAll makes the rename of one file fail: the
// commit is undone, so the file of the other key that was renamed first is
// back to its previous content, and nothing of the run is left.
func TestCommitFailureUndoesAll(t *testing.T) {
	w, dir := newWriter(t, nil)
	ctx := context.Background()
	if err := w.Setup(ctx, env()); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"a", "b"} {
		r := xmlRec(k, 1)
		if err := w.Process(ctx, &r, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "a.xml"), []byte("previous\n"), 0o666); err != nil {
		t.Fatal(err)
	}
	// A non-empty directory where b.xml should go makes its rename fail.
	if err := os.MkdirAll(filepath.Join(dir, "b.xml", "x"), 0o777); err != nil {
		t.Fatal(err)
	}
	err := engine.Commit(ctx, w)
	if err == nil || !strings.Contains(err.Error(), "b.xml") || !strings.Contains(err.Error(), "is a directory") {
		t.Fatalf("commit error %v, want one naming b.xml as a directory", err)
	}
	w.Teardown(ctx)
	if b, _ := os.ReadFile(filepath.Join(dir, "a.xml")); string(b) != "previous\n" {
		t.Errorf("a.xml = %q after a failed commit, want its previous content", b)
	}
	if got := listDir(t, dir); !slices.Equal(got, []string{"a.xml", "b.xml"}) {
		t.Errorf("output directory holds %v, want a.xml and the directory b.xml", got)
	}
}

func TestRecordErrors(t *testing.T) {
	h1 := stage.NewHeader([]string{"a", "b"})
	h2 := stage.NewHeader([]string{"a", "c"})
	tests := []struct {
		name   string
		in     []stage.Record
		reject int    // index of the rejected record
		want   string // in the error
	}{
		{"csv header", []stage.Record{csvRec(h1, "k", "1", "2"), csvRec(h2, "k", "3", "4")}, 1, "csv header [a,c] differs from the header [a,b]"},
		{"line break", []stage.Record{lineRec(stage.Line, "k", "one\ntwo")}, 0, "line contains a line break"},
		{"bad json", []stage.Record{lineRec(stage.JSON, "k", "{\n")}, 0, "json value spans several lines"},
		{"file record", []stage.Record{{Type: stage.File, Source: pos()}}, 0, "cannot store file records"},
		{"csv no fields", []stage.Record{{Type: stage.CSV, Source: pos(), Category: "k"}}, 0, "csv record has no fields"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, _ := newWriter(t, nil)
			res, err := stagetest.Run(context.Background(), w, tt.in, stagetest.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Rejected) != 1 {
				t.Fatalf("%d records rejected, want 1", len(res.Rejected))
			}
			msg := res.Rejected[0].Err.Error()
			if stage.IsFatal(res.Rejected[0].Err) || !strings.Contains(msg, tt.want) || !strings.Contains(msg, tt.in[tt.reject].Source.String()) {
				t.Errorf("error %q, want a record error naming %s and saying %q", msg, tt.in[tt.reject].Source, tt.want)
			}
			var written int64
			for _, o := range w.Outputs() {
				written += o.Records
			}
			if written != int64(len(tt.in)-1) {
				t.Errorf("%d records written, want %d", written, len(tt.in)-1)
			}
		})
	}
}

func TestFilesystemErrorsAreFatal(t *testing.T) {
	tests := []struct {
		name  string
		setup func(w *Writer) // after Setup
		want  error
	}{{
		name: "disk full",
		setup: func(w *Writer) {
			w.openFile = func(name string, flag int, perm os.FileMode) (*os.File, error) {
				return os.OpenFile("/dev/full", os.O_WRONLY, 0)
			}
		},
		want: syscall.ENOSPC,
	}, {
		name:  "staging directory gone",
		setup: func(w *Writer) { os.RemoveAll(w.staging) },
		want:  os.ErrNotExist,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := os.Stat("/dev/full"); err != nil && tt.want == syscall.ENOSPC {
				t.Skip("no /dev/full on this system")
			}
			w, dir := newWriter(t, func(o *Options) { o.Buffer = minBuffer })
			ctx := context.Background()
			if err := w.Setup(ctx, env()); err != nil {
				t.Fatal(err)
			}
			tt.setup(w)
			var err error
			for i := 0; i < 100 && err == nil; i++ { // enough to overflow the buffer
				r := xmlRec("k", i)
				r.Data = bytes.Repeat([]byte("x"), 100)
				err = w.Process(ctx, &r, nil)
			}
			if err == nil {
				err = w.Finish(ctx, nil)
			}
			if !stage.IsFatal(err) || !errors.Is(err, tt.want) || !strings.Contains(err.Error(), filepath.Join(dir, "k.xml")) {
				t.Errorf("got %v, want a fatal error naming %s and wrapping %v", err, filepath.Join(dir, "k.xml"), tt.want)
			}
			w.Abort()
			w.Teardown(ctx)
		})
	}
}

func TestOutOfDescriptors(t *testing.T) {
	const allowed = 3
	w, _ := newWriter(t, func(o *Options) { o.MaxOpen = 10 })
	w.openFile = func(name string, flag int, perm os.FileMode) (*os.File, error) {
		if w.open >= allowed {
			return nil, &os.PathError{Op: "open", Path: name, Err: syscall.EMFILE}
		}
		return os.OpenFile(name, flag, perm)
	}
	var in []stage.Record
	for i := range 60 {
		in = append(in, xmlRec(fmt.Sprint("k", i%20), i))
	}
	if _, err := stagetest.Run(context.Background(), w, in, stagetest.Options{FailOnReject: true}); err != nil {
		t.Fatal(err)
	}
	if w.peakOpen > allowed {
		t.Errorf("peak of %d open files, want at most %d", w.peakOpen, allowed)
	}
	for _, o := range w.Outputs() {
		if doc := parseXML(t, o.Path); len(doc.Records) != 3 || o.Records != 3 {
			t.Errorf("%s: %d records parsed, %d counted, want 3", o.Path, len(doc.Records), o.Records)
		}
	}
}

func TestOptions(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Options)
		want []string // option paths in the error; none for valid options
	}{
		{"defaults", func(o *Options) {}, nil},
		{"label", func(o *Options) { o.By = "label:lang" }, nil},
		{"template", func(o *Options) { o.Name = "part-{key}.v1{ext}" }, nil},
		{"no dir", func(o *Options) { o.Dir = " " }, []string{"dir"}},
		{"bad by", func(o *Options) { o.By = "categroy" }, []string{"by"}},
		{"empty label", func(o *Options) { o.By = "label:" }, []string{"by"}},
		{"no key", func(o *Options) { o.Name = "out{ext}" }, []string{"name"}},
		{"two keys", func(o *Options) { o.Name = "{key}{key}" }, []string{"name"}},
		{"separator", func(o *Options) { o.Name = "sub/{key}{ext}" }, []string{"name"}},
		{"placeholder", func(o *Options) { o.Name = "{category}{ext}" }, []string{"name"}},
		{"hidden", func(o *Options) { o.Name = ".{key}" }, []string{"name"}},
		{"trailing dot", func(o *Options) { o.Name = "{key}." }, []string{"name"}},
		{"reserved prefix", func(o *Options) { o.Name = "aux.{key}" }, []string{"name"}},
		{"long literal", func(o *Options) { o.Name = strings.Repeat("x", 40) + "{key}" }, []string{"name"}},
		{"max_open", func(o *Options) { o.MaxOpen = 0 }, []string{"max_open"}},
		{"buffer", func(o *Options) { o.Buffer = 10 }, []string{"buffer"}},
		{"xml_root", func(o *Options) { o.XMLRoot = "1x" }, []string{"xml_root"}},
		{"xml_root reserved", func(o *Options) { o.XMLRoot = "XMLdata" }, []string{"xml_root"}},
		{"several", func(o *Options) { o.Dir = ""; o.MaxOpen = -1; o.XMLRoot = "a b" }, []string{"dir", "max_open", "xml_root"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := DefaultOptions()
			o.Dir = "out"
			tt.edit(&o)
			_, err := New(o)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("New succeeded, want errors at %v", tt.want)
			}
			var got []string
			for _, line := range strings.Split(err.Error(), "\n") {
				path, _, _ := strings.Cut(line, ":")
				got = append(got, path)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("error paths (-want +got):\n%s\nerror: %v", diff, err)
			}
		})
	}
}

// TestSample checks that the write stage of sample.yaml decodes strictly
// into Options and builds. Planning the whole sample is the registry's
// meta-test.
func TestSample(t *testing.T) {
	var doc struct {
		Stages map[string]struct {
			Use  string
			With yaml.Node
		}
	}
	if err := yaml.Unmarshal(sample, &doc); err != nil {
		t.Fatal(err)
	}
	found := 0
	for name, st := range doc.Stages {
		if st.Use != Kind().Name {
			continue
		}
		found++
		raw, err := yaml.Marshal(&st.With)
		if err != nil {
			t.Fatal(err)
		}
		o := Kind().Defaults().(*Options)
		dec := yaml.NewDecoder(bytes.NewReader(raw))
		dec.KnownFields(true)
		if err := dec.Decode(o); err != nil {
			t.Fatalf("stage %q: %v", name, err)
		}
		if _, err := Kind().Build(o); err != nil {
			t.Errorf("stage %q: %v", name, err)
		}
	}
	if found == 0 {
		t.Error("sample.yaml has no write stage")
	}
}

// BenchmarkWrite writes 1 KiB XML records to 8 categories, Finish and
// Commit included. The devnull case sends the bytes to /dev/null, which
// leaves the stage's own cost per record.
func BenchmarkWrite(b *testing.B) {
	for _, bc := range []struct {
		name    string
		sync    bool
		devnull bool
	}{{"disk", false, false}, {"disk+sync", true, false}, {"devnull", false, true}} {
		b.Run(bc.name, func(b *testing.B) {
			if _, err := os.Stat(os.DevNull); bc.devnull && err != nil {
				b.Skip(err)
			}
			w, _ := newWriter(b, func(o *Options) { o.Sync = bc.sync })
			if bc.devnull {
				w.openFile = func(string, int, os.FileMode) (*os.File, error) {
					return os.OpenFile(os.DevNull, os.O_WRONLY, 0)
				}
			}
			ctx := context.Background()
			if err := w.Setup(ctx, env()); err != nil {
				b.Fatal(err)
			}
			recs := make([]stage.Record, 8)
			for i := range recs {
				data := []byte(fmt.Sprintf(`<record id="%d">%s</record>`, i, strings.Repeat("x", 1024)))[:1024]
				recs[i] = stage.Record{Type: stage.XML, Data: data, Category: fmt.Sprintf("category-%d", i)}
			}
			b.SetBytes(1024)
			b.ResetTimer()
			for i := range b.N {
				if err := w.Process(ctx, &recs[i%8], nil); err != nil {
					b.Fatal(err)
				}
			}
			if err := w.Finish(ctx, nil); err != nil {
				b.Fatal(err)
			}
			if !bc.devnull {
				if err := engine.Commit(ctx, w); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			w.Abort()
			w.Teardown(ctx)
		})
	}
}
