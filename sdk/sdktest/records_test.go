package sdktest_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/sdk"
	"github.com/sluicehq/sluice/sdk/sdktest"
)

func ExampleCSVRecords() {
	recs, err := sdktest.CSVRecords("testdata/books.csv", sdktest.CSVOptions{})
	if err != nil {
		panic(err)
	}
	for _, r := range recs {
		title, _ := r.Field("title")
		fmt.Printf("%s %q %q\n", r.Source, r.Data, title)
	}
	// Output:
	// testdata/books.csv:2 (record 1, byte 14) "1,\"Maps, Charts\",1999" "Maps, Charts"
	// testdata/books.csv:3 (record 2, byte 36) "2,\"The \"\"Best\"\" Atlas\",2004" "The \"Best\" Atlas"
}

func ExampleXMLRecords() {
	recs, err := sdktest.XMLRecords("testdata/books.xml", "record")
	if err != nil {
		panic(err)
	}
	for _, r := range recs {
		fmt.Println(r.Source, string(r.Data))
	}
	// Output:
	// testdata/books.xml:3 (record 1, byte 68) <record xmlns="urn:cat" xmlns:dc="urn:dc" id="1"><dc:title>Maps</dc:title></record>
	// testdata/books.xml:4 (record 2, byte 120) <record xmlns="urn:cat" id="2" xmlns:dc="urn:dc2"><dc:title>Atlas</dc:title></record>
}

func TestCheckRecord(t *testing.T) {
	hdr := sdk.NewHeader([]string{"id", "name"})
	good, err := sdktest.CSVRecords("testdata/books.csv", sdktest.CSVOptions{})
	if err != nil {
		t.Fatal(err)
	}
	xml, err := sdktest.XMLRecords("testdata/books.xml", "record")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range append(append(good, xml...), sdk.Record{Kind: sdk.Line}, sdk.Record{Kind: sdk.JSON, Data: []byte(`{"a":1}`)}) {
		if err := sdktest.CheckRecord(r); err != nil {
			t.Errorf("%+v: %v", r, err)
		}
	}
	for _, tt := range []struct {
		rec  sdk.Record
		want string
	}{
		{sdk.Record{Kind: sdk.CSV, Header: hdr, Fields: []string{"1", "a"}}, "csv record with empty Data"},
		{sdk.Record{Kind: sdk.CSV, Data: []byte("1,a"), Fields: []string{"1", "a"}}, "without a Header"},
		{sdk.Record{Kind: sdk.CSV, Data: []byte("1"), Header: hdr, Fields: []string{"1"}}, "1 Fields for 2 Header names"},
		{sdk.Record{Kind: sdk.CSV, Data: []byte("1,a"), Header: hdr}, "without Fields"},
		{sdk.Record{Kind: sdk.XML, Data: []byte("<record><title>x</record>")}, "not one well-formed element"},
		{sdk.Record{Kind: sdk.XML, Data: []byte("<a/><b/>")}, "not one well-formed element"},
		{sdk.Record{Kind: sdk.XML, Data: []byte("<a/>"), Header: hdr}, "only CSV records"},
		{sdk.Record{Kind: sdk.JSON, Data: []byte("{")}, "not one JSON value"},
		{sdk.Record{Data: []byte("x")}, "kind kind(0) is not one sluice sends"},
		{sdk.Record{Kind: sdk.Line, Source: sdk.Position{Line: -1}}, "negative position"},
	} {
		if err := sdktest.CheckRecord(tt.rec); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("CheckRecord(%+v) = %v, want an error containing %q", tt.rec, err, tt.want)
		}
	}
}

// TestConformanceRecordsHelper runs Conformance with a hand-built CSV
// record whose Data was forgotten, in the subprocess started by
// TestConformanceCatchesBadRecords.
func TestConformanceRecordsHelper(t *testing.T) {
	if os.Getenv("SDKTEST_BAD_RECORDS") == "" {
		t.Skip("run by TestConformanceCatchesBadRecords")
	}
	hdr := sdk.NewHeader([]string{"id", "name"})
	sdktest.Conformance(t, sdk.Plugin{Name: "csv", Accepts: []sdk.Kind{sdk.CSV}, Classifier: sdk.RecordFunc(func(_ context.Context, r *sdk.Record) (sdk.Result, error) {
		return sdk.Result{Category: r.Fields[0]}, nil
	})}, sdktest.Options{Records: []sdk.Record{
		{Kind: sdk.CSV, Data: []byte("1,a"), Header: hdr, Fields: []string{"1", "a"}},
		{Kind: sdk.CSV, Header: hdr, Fields: []string{"2", "b"}},
	}})
}

func TestConformanceCatchesBadRecords(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestConformanceRecordsHelper$", "-test.v")
	cmd.Env = append(os.Environ(), "SDKTEST_BAD_RECORDS=1")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("conformance passed a CSV record without Data:\n%s", out)
	}
	for _, w := range []string{"--- FAIL: TestConformanceRecordsHelper/records", "Options.Records[1]", "empty Data"} {
		if !strings.Contains(string(out), w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	if strings.Contains(string(out), "Options.Records[0]") {
		t.Errorf("the good record was reported:\n%s", out)
	}
}

func TestBuildersRefuseWhatSplitReadsOtherwise(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	manyNS := "<c"
	for i := range 200 {
		manyNS += fmt.Sprintf(` xmlns:p%d="urn:namespace:%d"`, i, i)
	}
	manyNS += "><record/></c>"
	for _, tt := range []struct {
		name, content, want string
		xml                 bool
	}{
		{"dtd.xml", `<!DOCTYPE c [<!ENTITY e "x">]><c><record>&e;</record></c>`, "internal subset", true},
		{"ns.xml", manyNS, "more than 4096 bytes of namespace declarations", true},
		{"bad.xml", "<c>\n<record></c>", "bad.xml:2:", true},
		{"nomatch.xml", "<c><record/></c>", "", true},
		{"cr.csv", "a,b\r1,2\r", "cr.csv:1: a CR inside a row", false},
		{"crq.csv", "a,b\n\"1\r\n\",2\n", "crq.csv:2: a CR inside a row", false},
		{"short.csv", "a,b\n1\n", "short.csv:2: row has 1 fields, the header 2", false},
		{"quote.csv", "a,b\n1\"x,2\n", "split would reject the row", false},
	} {
		path := write(tt.name, tt.content)
		var err error
		if tt.xml {
			_, err = sdktest.XMLRecords(path, "record")
		} else {
			_, err = sdktest.CSVRecords(path, sdktest.CSVOptions{})
		}
		if tt.want == "" {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want one containing %q", tt.name, err, tt.want)
		}
	}
	if _, err := sdktest.XMLRecords(filepath.Join(dir, "missing.xml"), "record"); err == nil {
		t.Error("a missing file was read")
	}
	if _, err := sdktest.XMLRecords(write("x.xml", "<c/>"), "a//b"); err == nil {
		t.Error("an element spec with an empty step was accepted")
	}
}

func TestReadRecords(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "recs.jsonl")
	os.WriteFile(path, []byte(`{"kind": "xml", "data": "<record/>", "file": "a.xml", "line": 3, "ordinal": 1, "offset": 40}

{"kind": "csv", "data": "1,a", "header": ["id", "name"], "fields": ["1", "a"], "category": "c", "labels": {"k": "v"}}
{"kind": "csv", "data": "2,b", "header": ["id", "name"], "fields": ["2", "b"]}
{"kind": "line", "data": ""}
`), 0o644)
	recs, err := sdktest.ReadRecords(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 4 || recs[0].Kind != sdk.XML || recs[0].Source != (sdk.Position{File: "a.xml", Offset: 40, Line: 3, Ordinal: 1}) ||
		recs[1].Header != recs[2].Header || recs[1].Labels["k"] != "v" || recs[1].Category != "c" || recs[3].Kind != sdk.Line {
		t.Fatalf("got %+v", recs)
	}
	if v, _ := recs[2].Field("name"); v != "b" {
		t.Errorf("name = %q", v)
	}
	for content, want := range map[string]string{
		`{"kind": "xml", "data": "<a/>", "cahce": 1}`: `:1: not a record: json: unknown field "cahce"`,
		"\n" + `{"kind": "yaml", "data": ""}`:         `:2: kind "yaml"`,
		`{"kind": "xml"}`:                             `:1: no data`,
	} {
		os.WriteFile(path, []byte(content), 0o644)
		if _, err := sdktest.ReadRecords(path); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want one containing %q", content, err, want)
		}
	}
}
