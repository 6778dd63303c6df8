package split

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/sluicehq/sluice/pipeline"
	stagepkg "github.com/sluicehq/sluice/stage"
	"github.com/sluicehq/sluice/stage/stagetest"
)

func ptr[T any](v T) *T { return &v }

func mustBuild(t testing.TB, o *Options) *Stage {
	t.Helper()
	st, err := Kind().Build(o)
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	return st.(*Stage)
}

func withDefaults(f func(o *Options)) *Options {
	o := Kind().Defaults().(*Options)
	f(o)
	return o
}

func writeFile(t testing.TB, name, content string) stagepkg.Record {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return stagepkg.Record{Type: stagepkg.File, Source: stagepkg.Position{File: path}, Size: int64(len(content))}
}

func TestBuild(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts func(o *Options)
		out  stagepkg.Type
		err  string
	}{
		{"xml", func(o *Options) { o.XML = &XMLOptions{Element: "record"} }, stagepkg.XML, ""},
		{"csv", func(o *Options) { o.CSV = &CSVOptions{} }, stagepkg.CSV, ""},
		{"lines", func(o *Options) { o.Lines = &LinesOptions{} }, stagepkg.Line, ""},
		{"jsonl", func(o *Options) { o.JSONL = &JSONLOptions{} }, stagepkg.JSON, ""},
		{"none", func(o *Options) {}, 0, "choose the input format"},
		{"two", func(o *Options) { o.XML = &XMLOptions{Element: "r"}; o.CSV = &CSVOptions{} }, 0, "csv: only one format may be chosen, and xml is already"},
		{"no element", func(o *Options) { o.XML = &XMLOptions{} }, 0, "xml.element: is empty"},
		{"bad element", func(o *Options) { o.XML = &XMLOptions{Element: "a//b"} }, 0, "xml.element: \"a//b\": has an empty step"},
		{"tab", func(o *Options) { o.CSV = &CSVOptions{Delimiter: "\t"} }, stagepkg.CSV, ""},
		{"escaped tab", func(o *Options) { o.CSV = &CSVOptions{Delimiter: `\t`} }, stagepkg.CSV, ""},
		{"long delimiter", func(o *Options) { o.CSV = &CSVOptions{Delimiter: ";;"} }, 0, "csv.delimiter: must be one ASCII character"},
		{"quote delimiter", func(o *Options) { o.CSV = &CSVOptions{Delimiter: `"`} }, 0, "csv.delimiter: cannot be"},
		{"zero max", func(o *Options) { o.Lines = &LinesOptions{}; o.MaxRecordBytes = 0 }, 0, "max_record_bytes: must be between 1 and 1GiB"},
		{"two problems", func(o *Options) { o.XML = &XMLOptions{}; o.MaxRecordBytes = -1 }, 0, "xml.element: is empty"},
		{"no ranges", func(o *Options) { o.Lines = &LinesOptions{}; o.Chunk = 0 }, stagepkg.Line, ""},
		{"tiny chunk", func(o *Options) { o.Lines = &LinesOptions{}; o.Chunk = 4096 }, 0, "chunk: must be 0 (split files whole) or between 1MiB and 1GiB, got 4KiB"},
		{"huge chunk", func(o *Options) { o.Lines = &LinesOptions{}; o.Chunk = 2 << 30 }, 0, "chunk: must be 0"},
		{"ragged", func(o *Options) { o.CSV = &CSVOptions{ShortRows: "pad", LongRows: "keep", LazyQuotes: true} }, stagepkg.CSV, ""},
		{"short rows", func(o *Options) { o.CSV = &CSVOptions{ShortRows: "fill"} }, 0, `csv.short_rows: must be reject or pad, got "fill"`},
		{"long rows", func(o *Options) { o.CSV = &CSVOptions{LongRows: "pad"} }, 0, `csv.long_rows: must be reject or keep, got "pad"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, err := Kind().Build(withDefaults(tc.opts))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error = %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := st.Signature(); got.In != stagepkg.File || got.Out != tc.out {
				t.Fatalf("signature = %+v, want In file, Out %v", got, tc.out)
			}
		})
	}
}

func TestDescribeOptions(t *testing.T) {
	docs := pipeline.DescribeOptions(Kind())
	paths := map[string]bool{}
	for _, d := range docs {
		paths[d.Path] = true
		if d.Doc == "" {
			t.Errorf("option %s has no doc", d.Path)
		}
	}
	for _, p := range []string{"xml", "xml.element", "csv.delimiter", "csv.header", "csv.short_rows", "csv.long_rows", "csv.lazy_quotes", "lines.skip_empty", "jsonl", "max_record_bytes"} {
		if !paths[p] {
			t.Errorf("option %s is not described (have %v)", p, paths)
		}
	}
}

type got struct {
	Data    string
	Line    int64
	Ordinal int64
	Fields  []string
}

func run(t *testing.T, o *Options, file stagepkg.Record, fail bool) ([]got, []stagetest.Rejection, error) {
	t.Helper()
	res, err := stagetest.Run(context.Background(), mustBuild(t, o), []stagepkg.Record{file}, stagetest.Options{FailOnReject: fail})
	var out []got
	for _, r := range res.Records {
		if r.Source.File != file.Source.File || int(r.Size) != len(r.Data) {
			t.Errorf("record %+v: bad source or size", r)
		}
		out = append(out, got{string(r.Data), r.Source.Line, r.Source.Ordinal, r.Fields})
	}
	return out, res.Rejected, err
}

func TestXMLFile(t *testing.T) {
	doc := "<?xml version=\"1.0\"?>\n<catalog xmlns:p=\"urn:p\">\n  <record id=\"1\"><p:x/></record>\n  <record id=\"2\"/>\n</catalog>\n"
	o := withDefaults(func(o *Options) { o.XML = &XMLOptions{Element: "record"} })
	want := []got{
		{`<record xmlns:p="urn:p" id="1"><p:x/></record>`, 3, 1, nil},
		{`<record xmlns:p="urn:p" id="2"/>`, 4, 2, nil},
	}
	for _, enc := range []string{"plain", "gzip", "zstd"} {
		t.Run(enc, func(t *testing.T) {
			recs, _, err := run(t, o, writeFile(t, "c.xml", compress(t, enc, doc)), false)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, recs); diff != "" {
				t.Error(diff)
			}
		})
	}
}

// TestRecordsAreChecked: split marks its XML records as checked, so that
// the XML view of classify and count skips their character checks, and its
// well-formed CSV rows, whose Data write may copy; lines stay unmarked.
func TestRecordsAreChecked(t *testing.T) {
	for _, tc := range []struct {
		opts    func(o *Options)
		doc     string
		checked bool
	}{
		{func(o *Options) { o.XML = &XMLOptions{Element: "record"} }, "<c><record a='é'>x&amp;y</record><record/></c>", true},
		{func(o *Options) { o.Lines = &LinesOptions{} }, "a\nb\n", false},
		{func(o *Options) { o.CSV = &CSVOptions{} }, "a,b\n1,2\n3,4\n", true},
	} {
		res, err := stagetest.Run(context.Background(), mustBuild(t, withDefaults(tc.opts)), []stagepkg.Record{writeFile(t, "f", tc.doc)}, stagetest.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Records) != 2 {
			t.Fatalf("%q: %d records, want 2", tc.doc, len(res.Records))
		}
		for _, r := range res.Records {
			if r.Checked != tc.checked {
				t.Errorf("%s record %q: Checked = %v, want %v", r.Type, r.Data, r.Checked, tc.checked)
			}
		}
	}
}

func compress(t testing.TB, enc, s string) string {
	var b bytes.Buffer
	var w io.WriteCloser
	switch enc {
	case "plain":
		return s
	case "gzip":
		w = gzip.NewWriter(&b)
	case "zstd":
		zw, err := zstd.NewWriter(&b)
		if err != nil {
			t.Fatal(err)
		}
		w = zw
	}
	if _, err := io.WriteString(w, s); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestXMLMalformedFailsTheFile(t *testing.T) {
	o := withDefaults(func(o *Options) { o.XML = &XMLOptions{Element: "record"} })
	file := writeFile(t, "bad.xml", "<c>\n<record>1</record>\n<record><a></b></record></c>")
	recs, _, err := run(t, o, file, true)
	want := file.Source.File + ":3:12: expected </a>, found </b>"
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v, want %q", err, want)
	}
	if len(recs) != 1 {
		t.Fatalf("records before the error = %d, want 1", len(recs))
	}
}

func TestCSV(t *testing.T) {
	in := "\uFEFFid,name\r\n1,\"Smith, J\"\r\n2,\"multi\r\nline\"\r\n3,x,extra\r\n4,ba\"d\r\n5,last"
	o := withDefaults(func(o *Options) { o.CSV = &CSVOptions{} })
	file := writeFile(t, "in.csv", in)
	recs, rej, err := run(t, o, file, false)
	if err != nil {
		t.Fatal(err)
	}
	want := []got{
		{`1,"Smith, J"`, 2, 1, []string{"1", "Smith, J"}},
		{"2,\"multi\r\nline\"", 3, 2, []string{"2", "multi\r\nline"}}, // the CRLF is kept (RFC 4180)
		{"5,last", 7, 5, []string{"5", "last"}},
	}
	if diff := cmp.Diff(want, recs); diff != "" {
		t.Error(diff)
	}
	path := file.Source.File
	wantRej := []string{path + ":5: row has 3 fields, the header has 2; set csv.long_rows: keep to keep the extra fields", path + ":6:5: bare \" in unquoted field"}
	var gotRej []string
	for _, r := range rej {
		gotRej = append(gotRej, r.Err.Error())
	}
	if len(gotRej) != 2 || gotRej[0] != wantRej[0] || !strings.HasPrefix(gotRej[1], wantRej[1]) {
		t.Errorf("rejections = %q, want %q", gotRej, wantRej)
	}
	if len(rej) == 2 && (string(rej[1].Record.Data) != `4,ba"d` || rej[1].Record.Source.Ordinal != 4) {
		t.Errorf("rejected record = %+v", rej[1].Record)
	}
	_, _, err = run(t, o, file, true)
	if err == nil || !strings.Contains(err.Error(), "row has 3 fields") {
		t.Errorf("with on_error fail: error = %v, want the field count error", err)
	}
}

func TestCSVHeaderShared(t *testing.T) {
	o := withDefaults(func(o *Options) { o.CSV = &CSVOptions{Delimiter: `\t`, Header: ptr(false)} })
	res, err := stagetest.Run(context.Background(), mustBuild(t, o), []stagepkg.Record{writeFile(t, "t.tsv", "a\tb\nc\td\n")}, stagetest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Records) != 2 || res.Records[0].Header != res.Records[1].Header {
		t.Fatalf("records %+v do not share one header", res.Records)
	}
	if v, ok := res.Records[1].Field("2"); !ok || v != "d" {
		t.Fatalf(`Field("2") = %q, %v`, v, ok)
	}
}

func TestCSVBadHeaderFailsTheFile(t *testing.T) {
	o := withDefaults(func(o *Options) { o.CSV = &CSVOptions{} })
	_, _, err := run(t, o, writeFile(t, "h.csv", "a,\"b\"c\n1,2\n"), true)
	if err == nil || !strings.Contains(err.Error(), "header row:") {
		t.Fatalf("error = %v, want a header row error", err)
	}
}

func TestLines(t *testing.T) {
	in := "one\r\n\ntwo\nlast"
	for _, tc := range []struct {
		skip bool
		want []got
	}{
		{false, []got{{"one", 1, 1, nil}, {"", 2, 2, nil}, {"two", 3, 3, nil}, {"last", 4, 4, nil}}},
		{true, []got{{"one", 1, 1, nil}, {"two", 3, 2, nil}, {"last", 4, 3, nil}}},
	} {
		t.Run(fmt.Sprint("skip_empty=", tc.skip), func(t *testing.T) {
			o := withDefaults(func(o *Options) { o.Lines = &LinesOptions{SkipEmpty: tc.skip} })
			recs, _, err := run(t, o, writeFile(t, "l.txt", in), false)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, recs); diff != "" {
				t.Error(diff)
			}
		})
	}
}

func TestJSONL(t *testing.T) {
	in := "{\"a\":1}\n\n  \n[1,2]\r\n{\"a\":}\n\"s\"\n1 2\n"
	o := withDefaults(func(o *Options) { o.JSONL = &JSONLOptions{} })
	file := writeFile(t, "j.jsonl", in)
	recs, rej, err := run(t, o, file, false)
	if err != nil {
		t.Fatal(err)
	}
	want := []got{{`{"a":1}`, 1, 1, nil}, {"[1,2]", 4, 2, nil}, {`"s"`, 6, 4, nil}}
	if diff := cmp.Diff(want, recs); diff != "" {
		t.Error(diff)
	}
	if len(rej) != 2 || !strings.HasPrefix(rej[0].Err.Error(), file.Source.File+":5:6: invalid JSON") || !strings.HasPrefix(rej[1].Err.Error(), file.Source.File+":7:") {
		t.Fatalf("rejections = %+v", rej)
	}
}

func TestRecordTooLarge(t *testing.T) {
	o := withDefaults(func(o *Options) { o.Lines = &LinesOptions{}; o.MaxRecordBytes = 10 })
	file := writeFile(t, "l.txt", "short\n"+strings.Repeat("x", 100)+"\n")
	_, _, err := run(t, o, file, true)
	if err == nil || !strings.Contains(err.Error(), file.Source.File+":2:1: line starting here is longer than max_record_bytes") {
		t.Fatalf("error = %v", err)
	}
}

func TestMissingFile(t *testing.T) {
	o := withDefaults(func(o *Options) { o.Lines = &LinesOptions{} })
	missing := stagepkg.Record{Type: stagepkg.File, Source: stagepkg.Position{File: filepath.Join(t.TempDir(), "nope.txt")}}
	_, _, err := run(t, o, missing, true)
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("error = %v, want not exist", err)
	}
}

func TestCancelAndBytesIn(t *testing.T) {
	content := strings.Repeat("<c>", 1) + strings.Repeat("<record>x</record>", 100000) + "</c>"
	file := writeFile(t, "big.xml", content)
	st := mustBuild(t, withDefaults(func(o *Options) { o.XML = &XMLOptions{Element: "record"} }))
	env := stagepkg.Env{Stage: "split", Workers: 1, Log: slog.New(slog.DiscardHandler), Counters: &stagepkg.Counters{}}
	if err := st.Setup(context.Background(), env); err != nil {
		t.Fatal(err)
	}
	var em stagetest.Emitter
	if err := st.Process(context.Background(), &file, &em); err != nil {
		t.Fatal(err)
	}
	if n := env.Counters.BytesIn.Load(); n != int64(len(content)) {
		t.Errorf("BytesIn = %d, want %d", n, len(content))
	}
	if len(em.Records) != 100000 {
		t.Errorf("records = %d, want 100000", len(em.Records))
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	em = stagetest.Emitter{}
	if err := st.Process(ctx, &file, &em); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Process = %v, want context.Canceled", err)
	}
	if len(em.Records) != 0 {
		t.Errorf("cancelled Process emitted %d records", len(em.Records))
	}
}

// TestConcurrentFiles runs Process on several files at once, as the
// runner's workers do, for the race detector.
func TestConcurrentFiles(t *testing.T) {
	st := mustBuild(t, withDefaults(func(o *Options) { o.XML = &XMLOptions{Element: "record"} }))
	env := stagepkg.Env{Stage: "split", Workers: 4, Log: slog.New(slog.DiscardHandler), Counters: &stagepkg.Counters{}}
	if err := st.Setup(context.Background(), env); err != nil {
		t.Fatal(err)
	}
	var files []stagepkg.Record
	for i := range 4 {
		files = append(files, writeFile(t, fmt.Sprintf("f%d.xml", i), "<c>"+strings.Repeat(fmt.Sprintf("<record n='%d'/>", i), 1000)+"</c>"))
	}
	var wg sync.WaitGroup
	errs := make([]error, len(files))
	ems := make([]stagetest.Emitter, len(files))
	for i := range files {
		wg.Go(func() { errs[i] = st.Process(context.Background(), &files[i], &ems[i]) })
	}
	wg.Wait()
	for i := range files {
		if errs[i] != nil || len(ems[i].Records) != 1000 || !strings.Contains(string(ems[i].Records[999].Data), fmt.Sprintf("'%d'", i)) {
			t.Errorf("file %d: %v, %d records", i, errs[i], len(ems[i].Records))
		}
	}
}

func TestSampleShape(t *testing.T) {
	s := string(Kind().Sample)
	for _, want := range []string{"name: split-sample", "use: split", "xml: {element: record}", "use: count", "use: read"} {
		if !strings.Contains(s, want) {
			t.Errorf("sample.yaml lacks %q", want)
		}
	}
}

func Example() {
	dir, err := os.MkdirTemp("", "split-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "catalog.xml")
	doc := `<catalog xmlns:p="urn:p">
  <record id="1"><p:title>Moby Dick</p:title></record>
  <record id="2"/>
</catalog>`
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		panic(err)
	}
	opts := Kind().Defaults().(*Options)
	opts.XML = &XMLOptions{Element: "record"}
	stage, err := Kind().Build(opts)
	if err != nil {
		panic(err)
	}
	file := stagepkg.Record{Type: stagepkg.File, Source: stagepkg.Position{File: path}}
	res, err := stagetest.Run(context.Background(), stage, []stagepkg.Record{file}, stagetest.Options{})
	if err != nil {
		panic(err)
	}
	for _, r := range res.Records {
		fmt.Printf("line %d, record %d: %s\n", r.Source.Line, r.Source.Ordinal, r.Data)
	}
	// Output:
	// line 2, record 1: <record xmlns:p="urn:p" id="1"><p:title>Moby Dick</p:title></record>
	// line 3, record 2: <record xmlns:p="urn:p" id="2"/>
}
