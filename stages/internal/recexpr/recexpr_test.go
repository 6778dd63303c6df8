package recexpr

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sluicehq/sluice/sdk/xmlview"
	"github.com/sluicehq/sluice/stage"
)

var (
	xmlRec = stage.Record{
		Type:   stage.XML,
		Source: stage.Position{File: "cat.xml", Line: 10, Ordinal: 3, Offset: 500},
		Data: []byte(`<record xmlns:dc="http://purl.org/dc/elements/1.1/" id="r1" type="map" xml:lang="en">
  <title>Atlas <b>3</b></title>
  <dc:creator>Ann</dc:creator>
  <authors><author>X</author><author>Y</author></authors>
</record>`),
		Category: "old",
		Labels:   map[string]string{"src": "legacy"},
	}
	csvRec = stage.Record{
		Type:   stage.CSV,
		Source: stage.Position{File: "cat.csv", Line: 4, Ordinal: 3, Offset: 80},
		Header: stage.NewHeader([]string{"id", "lang", "title"}),
		Fields: []string{"7", "fr", "Bonjour"},
		Data:   []byte("7,fr,Bonjour"),
	}
	jsonRec = stage.Record{
		Type:   stage.JSON,
		Source: stage.Position{File: "cat.jsonl", Line: 2, Ordinal: 2, Offset: 40},
		Data:   []byte(`{"a":{"b":"x","n":3,"f":2.5,"arr":[{"id":1},{"id":2}]},"big":12345678901234567890,"nil":null,"d.k":1}`),
	}
	lineRec = stage.Record{
		Type:   stage.Line,
		Source: stage.Position{File: "log.txt", Line: 9, Ordinal: 9, Offset: 300},
		Data:   []byte("GET /index 200"),
	}
	records = map[string]*stage.Record{"xml": &xmlRec, "csv": &csvRec, "json": &jsonRec, "line": &lineRec}
)

// TestFunctions evaluates every function and variable on every record
// kind. want is the String result; wantErr a fragment of the error.
func TestFunctions(t *testing.T) {
	tests := []struct {
		kind, src string
		want      string
		wantErr   string
	}{
		{"xml", `attr("type")`, "map", ""},
		{"xml", `attr("missing") ?? "unknown"`, "unknown", ""},
		{"xml", `attr("missing") == nil`, "true", ""},
		{"xml", `attr("xml:lang")`, "en", ""},
		{"xml", `attr("{http://www.w3.org/XML/1998/namespace}lang")`, "en", ""},
		{"xml", `attr("missing")`, "", "evaluated to nil"},
		{"xml", `attr("{oops")`, "", `attr("{oops"): name "{oops": missing }`},
		{"xml", `name()`, "record", ""},
		{"xml", `text("title")`, "Atlas 3", ""},
		{"xml", `text("title") matches "[0-9]" ? "numbered" : "plain"`, "numbered", ""},
		{"xml", `text("nothing")`, "", ""},
		{"xml", `text("dc:creator")`, "Ann", ""},
		{"xml", `text("{http://purl.org/dc/elements/1.1/}creator")`, "Ann", ""},
		{"xml", `join(texts("authors/author"), "+")`, "X+Y", ""},
		{"xml", `len(texts("authors/nobody"))`, "0", ""},
		{"xml", `has("authors/author")`, "true", ""},
		{"xml", `has("author")`, "false", ""},
		{"xml", `hasattr("type")`, "true", ""},
		{"xml", `hasattr("missing")`, "false", ""},
		{"xml", `hasattr("xml:lang")`, "true", ""},
		{"xml", `has("type")`, "false", ""},                    // an attribute, not a child element
		{"xml", `hasattr("title")`, "false", ""},               // a child element, not an attribute
		{"xml", `text(".")`, "\n  Atlas 3\n  Ann\n  XY\n", ""}, // every descendant's text
		{"csv", `hasattr("id")`, "", `hasattr() reads xml records, and this is a csv record`},
		{"xml", `text("a//b")`, "", `invalid path "a//b"`},
		{"xml", `category + "/" + kind`, "old/xml", ""},
		{"xml", `label("src")`, "legacy", ""},
		{"xml", `label("nope") ?? "none"`, "none", ""},
		{"xml", `file + ":" + string(ordinal)`, "cat.xml:3", ""},
		{"xml", `field("lang")`, "", `field() reads csv records, and this is a xml record`},
		{"xml", `json("a")`, "", `json() reads json records`},
		{"xml", `line contains "<title>"`, "true", ""},

		{"csv", `field("lang")`, "fr", ""},
		{"csv", `field("id") + "-" + field("title")`, "7-Bonjour", ""},
		{"csv", `field("langue")`, "", `field("langue"): no such column in the CSV header (columns: id, lang, title)`},
		{"csv", `attr("type")`, "", `attr() reads xml records, and this is a csv record (guard the rule with kind == "xml")`},
		{"csv", `text("title")`, "", `text() reads xml records`},
		{"csv", `texts("title")[0]`, "", `texts() reads xml records`},
		{"csv", `has("title")`, "", `has() reads xml records`},
		{"csv", `name()`, "", `name() reads xml records`},
		{"csv", `kind == "xml" && attr("type") == "map"`, "false", ""}, // guarded: attr is never called
		{"csv", `line`, "7,fr,Bonjour", ""},
		{"csv", `label("src") ?? "-"`, "-", ""},

		{"json", `json("a.b")`, "x", ""},
		{"json", `json("a.n") + 1`, "4", ""},
		{"json", `json("a.f")`, "2.5", ""},
		{"json", `json("a.arr.1.id")`, "2", ""},
		{"json", `json("a.arr.9.id") ?? "none"`, "none", ""},
		{"json", `json("a.b.c") ?? "none"`, "none", ""},
		{"json", `json("nil") ?? "was null"`, "was null", ""},
		{"json", `json("big")`, "12345678901234567000", ""}, // beyond int64: a float64
		{"json", `json("")["d.k"]`, "1", ""},
		{"json", `len(json("a.arr"))`, "2", ""},
		{"json", `json("a")`, "", "evaluated to a map, want a string"},
		{"json", `attr("x")`, "", `attr() reads xml records, and this is a json record`},
		{"json", `field("x")`, "", `field() reads csv records`},

		{"line", `line`, "GET /index 200", ""},
		{"line", `split(line, " ")[1]`, "/index", ""},
		{"line", `line matches "^GET " ? "get" : "other"`, "get", ""},
		{"line", `kind + ":" + file`, "line:log.txt", ""},
		{"line", `attr("x")`, "", `attr() reads xml records, and this is a line record`},
		{"line", `json("x")`, "", `json() reads json records, and this is a line record`},
	}
	for _, tt := range tests {
		t.Run(tt.kind+"/"+tt.src, func(t *testing.T) {
			p, err := Compile("rules[0].expr", tt.src, String)
			if err != nil {
				t.Fatalf("Compile: %v", err)
			}
			e := NewEvaluator()
			r := records[tt.kind]
			e.Reset(r)
			got, err := e.String(p)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %q, %v; want an error containing %q", got, err, tt.wantErr)
				}
				var ee *Error
				if !errors.As(err, &ee) || ee.Source != r.Source || ee.Option != "rules[0].expr" {
					t.Errorf("error %#v does not name the record and option", err)
				}
				if !strings.HasPrefix(err.Error(), "record "+r.Source.String()+": rules[0].expr") {
					t.Errorf("error %q does not start with the record's position", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("String: %v", err)
			}
			if got != tt.want {
				t.Errorf("= %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		src     string
		want    Result
		wantErr string
	}{
		{`attrr("type")`, String, `rules[1].when: unknown name attrr (did you mean attr?) (column 1 of the expression)`},
		{`attr(1)`, String, `cannot use int as argument (type string) to call attr (column 6 of the expression)`},
		{`attr("a", "b")`, String, `too many arguments to call attr`},
		{`text()`, String, `not enough arguments to call text`},
		{`attr("a") ==`, Bool, `unexpected token EOF`},
		{`texts("a")`, String, `expression gives a list, want a string`},
		{`"a" + 1 > 2`, Bool, `invalid operation`},
		{`field("a")`, Bool, `expression gives a string, want true or false`},
		{`  `, Bool, `empty expression`},
		{`categori == "x"`, Bool, `did you mean category?`},
		{`zzzzzzzzzz`, Bool, `known names: attr, category,`},
		{`has("@alt")`, Bool, `has("@alt"): a path names elements, not attributes; test the root's attribute with hasattr("alt")`},
		{`kind == "xml" && text("img/@src") != ""`, Bool, `text("img/@src"): a path names elements, not attributes; attr and hasattr read the attributes of the record's root element`},
		{`hasatr("alt")`, Bool, `did you mean hasattr?`},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			_, err := Compile("rules[1].when", tt.src, tt.want)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Compile(%q) = %v, want an error containing %q", tt.src, err, tt.wantErr)
			}
			if !strings.HasPrefix(err.Error(), "rules[1].when: ") {
				t.Errorf("error %q is not located at the option", err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q spans several lines", err)
			}
		})
	}
}

func TestBool(t *testing.T) {
	tests := []struct {
		src     string
		want    bool
		wantErr string
	}{
		{`attr("type") == "map"`, true, ""},
		{`attr("type") in ["book", "article"]`, false, ""},
		{`attr("nope") == "map"`, false, ""},
		{`has("title") && !has("subtitle")`, true, ""},
		{`attr("type")`, false, "evaluated to a string, want true or false"},
		{`attr("nope")`, false, "evaluated to nil, want true or false"},
		{`attr("nope") + "x" == "x"`, false, "invalid operation"},
	}
	e := NewEvaluator()
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			p, err := Compile("when", tt.src, Bool)
			if err != nil {
				t.Fatal(err)
			}
			e.Reset(&xmlRec)
			got, err := e.Bool(p)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, %v; want error %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("= %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestMalformedRecords(t *testing.T) {
	bad := stage.Record{
		Type:   stage.XML,
		Source: stage.Position{File: "cat.xml", Line: 100, Ordinal: 7, Offset: 9000},
		Data:   []byte("<record type=\"map\">\n  <title>x</titel>\n</record>"),
	}
	e := NewEvaluator()
	t.Run("attr reads the start tag only", func(t *testing.T) {
		p, _ := Compile("expr", `attr("type")`, String)
		e.Reset(&bad)
		if got, err := e.String(p); err != nil || got != "map" {
			t.Errorf("= %q, %v", got, err)
		}
	})
	t.Run("text parses the record", func(t *testing.T) {
		p, _ := Compile("rules[0].expr", `attr("type") + text("title")`, String)
		e.Reset(&bad)
		_, err := e.String(p)
		var xe *XMLError
		if !errors.As(err, &xe) {
			t.Fatalf("error %v is not an *XMLError", err)
		}
		var se *xmlview.SyntaxError
		if !errors.As(err, &se) || se.Line != 2 {
			t.Errorf("syntax error %v, want line 2 of the record", se)
		}
		want := "record cat.xml:100 (record 7, byte 9000): rules[0].expr: malformed XML at file line 101 (line 2, byte 30 of the record): element <title> closed by </titel>"
		if err.Error() != want {
			t.Errorf("error\n%s\nwant\n%s", err, want)
		}
	})
	t.Run("json", func(t *testing.T) {
		p, _ := Compile("expr", `json("a") ?? "x"`, String)
		for data, want := range map[string]string{
			`{"a": 1,}`:  "malformed JSON at byte 9 of the record",
			`{"a": 1} 2`: "data after the value",
			`{"a": `:     "unexpected end",
		} {
			e.Reset(&stage.Record{Type: stage.JSON, Data: []byte(data)})
			if _, err := e.String(p); err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%s: error %v, want %q", data, err, want)
			}
		}
	})
}

// TestParsedOncePerRecord checks the lazy cache: the tree is parsed once for
// several programs on one record, and dropped on Reset.
func TestParsedOncePerRecord(t *testing.T) {
	progs := make([]*Program, 0, 3)
	for _, src := range []string{`text("title")`, `text("dc:creator")`, `attr("type")`} {
		p, err := Compile("x", src, String)
		if err != nil {
			t.Fatal(err)
		}
		progs = append(progs, p)
	}
	e := NewEvaluator()
	e.Reset(&xmlRec)
	for _, p := range progs {
		if _, err := e.String(p); err != nil {
			t.Fatal(err)
		}
	}
	first := e.tree
	if first == nil {
		t.Fatal("no tree cached")
	}
	if _, err := e.String(progs[0]); err != nil || e.tree != first {
		t.Fatal("tree was parsed again for the same record")
	}
	both, _ := Compile("x", `attr("type") + text("title")`, String)
	e.Reset(&xmlRec)
	if _, err := e.String(both); err != nil || e.tree == nil {
		t.Errorf("attr + text: err %v, tree %v: want one lazy read of the record", err, e.tree)
	}
	other := xmlRec
	other.Data = []byte(`<record type="x"><title>Other</title></record>`)
	e.Reset(&other)
	if got, _ := e.String(progs[0]); got != "Other" {
		t.Errorf("after Reset, text(title) = %q: stale cache", got)
	}
}

// TestElements reads a record's elements without its text, and checks
// that the text stays reachable: an expression evaluated afterwards reads
// the record again, and a record already read with its text is given
// whole.
func TestElements(t *testing.T) {
	title, _ := Compile("x", `text("title")`, String)
	names := func(tr *xmlview.Tree) []string {
		var out []string
		for i := range tr.Len() {
			el := tr.Element(i)
			out = append(out, el.Name.Local+fmt.Sprint(len(el.Attrs)))
		}
		return out
	}
	want := []string{"record3", "title0", "b0", "creator0", "authors0", "author0", "author0"}
	e := NewEvaluator()
	for _, checked := range []bool{false, true} {
		r := xmlRec
		r.Checked = checked
		e.Reset(&r)
		tr, err := e.Elements("attributes")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, names(tr)); diff != "" {
			t.Errorf("checked %v: elements (-want +got):\n%s", checked, diff)
		}
		if _, _, err := tr.Text("title"); err != xmlview.ErrNoText {
			t.Errorf("Text on the elements: %v, want ErrNoText", err)
		}
		if got, err := e.String(title); err != nil || got != "Atlas 3" {
			t.Errorf("text(title) after Elements = %q, %v", got, err)
		}
		// Read with its text first: Elements gives that tree.
		e.Reset(&r)
		if _, err := e.String(title); err != nil {
			t.Fatal(err)
		}
		tr, err = e.Elements("attributes")
		if err != nil {
			t.Fatal(err)
		}
		if got, _, err := tr.Text("title"); err != nil || got != "Atlas 3" {
			t.Errorf("Elements after text(title): Text = %q, %v", got, err)
		}
	}
	bad := stage.Record{Type: stage.XML, Source: stage.Position{File: "cat.xml", Line: 100}, Data: []byte("<r>\n<t>x</u></r>")}
	e.Reset(&bad)
	_, err := e.Elements("attributes")
	var xe *XMLError
	if !errors.As(err, &xe) || !strings.Contains(err.Error(), "attributes: malformed XML at file line 101") {
		t.Errorf("Elements on a malformed record: %v", err)
	}
	e.Reset(&csvRec)
	if _, err := e.Elements("attributes"); err == nil || !strings.Contains(err.Error(), "this is a csv record") {
		t.Errorf("Elements on a CSV record: %v", err)
	}
}

// TestConcurrentEvaluators shares programs and records between goroutines,
// one Evaluator each, as classify's workers do (run with -race).
func TestConcurrentEvaluators(t *testing.T) {
	p, err := Compile("x", `(attr("type") ?? "unknown") + "/" + text("title") + string(len(texts("authors/author")))`, String)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			e := NewEvaluator()
			for range 200 {
				e.Reset(&xmlRec)
				got, err := e.String(p)
				if err != nil || got != "map/Atlas 32" {
					t.Errorf("= %q, %v", got, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestToString(t *testing.T) {
	got := []string{}
	for _, v := range []any{"s", true, 3, int64(-4), uint64(5), 2.5, float32(0.5), 1e21} {
		s, err := toString(v)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, s)
	}
	want := []string{"s", "true", "3", "-4", "5", "2.5", "0.5", "1000000000000000000000"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if _, err := toString([]string{"a"}); err == nil {
		t.Error("a list converted to a string")
	}
}

// FuzzEvaluate runs the functions on arbitrary record bytes of every kind:
// whatever the input, evaluation returns a value or an *Error, and never
// panics or hangs.
func FuzzEvaluate(f *testing.F) {
	for _, r := range records {
		f.Add(r.Data)
	}
	f.Add([]byte(`<r xmlns:p="u" p:a="1"><p:b>2</p:b></r>`))
	var progs []*Program
	for _, src := range []string{
		`(attr("type") ?? "unknown") + (text("title") matches "[0-9]" ? "/numbered" : "/plain")`,
		`name() + string(len(texts("*/*"))) + string(has("a/b"))`,
		`string(json("a.b") ?? json("0") ?? "none")`,
		`line + kind`,
	} {
		p, err := Compile("x", src, String)
		if err != nil {
			f.Fatal(err)
		}
		progs = append(progs, p)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		e := NewEvaluator()
		for _, typ := range []stage.Type{stage.XML, stage.JSON, stage.Line} {
			r := stage.Record{Type: typ, Data: data}
			e.Reset(&r)
			for _, p := range progs {
				if _, err := e.String(p); err != nil {
					var ee *Error
					if !errors.As(err, &ee) {
						t.Fatalf("error %v is not an *Error", err)
					}
				}
			}
		}
	})
}

// TestReference checks the reference against what the language defines:
// every variable of the environment is documented, every function has a
// signature that matches its registered type, and every name suggested
// compiles.
func TestReference(t *testing.T) {
	vars := map[string]bool{}
	for _, v := range Variables() {
		vars[v.Name] = true
		if v.Doc == "" || len(v.Examples) == 0 {
			t.Errorf("variable %s lacks a doc or an example", v.Name)
		}
	}
	et := reflect.TypeOf(env{})
	for i := 0; i < et.NumField(); i++ {
		if tag := et.Field(i).Tag.Get("expr"); tag != "" && !vars[tag] {
			t.Errorf("variable %s is not in the reference", tag)
		}
	}
	for _, f := range Functions() {
		if f.Doc == "" || !strings.HasPrefix(f.Signature, f.Name+"(") {
			t.Errorf("function %s: signature %q, doc %q", f.Name, f.Signature, f.Doc)
		}
	}
	for _, n := range names {
		src := n
		if recordFunction(n) {
			src = n + `("x")`
			if n == "name" {
				src = "name()"
			}
		}
		if _, err := Compile("x", src, Any); err != nil {
			t.Errorf("%s: %v", src, err)
		}
	}
}

// TestFieldsPerRecord evaluates field calls with one Evaluator on rows of
// different headers and widths: each row gives its own values (the boxed
// fields of one row are never another's), and Release keeps none of them.
func TestFieldsPerRecord(t *testing.T) {
	p, err := Compile("x", `field("b") + "," + field("b") + "," + field("a")`, String)
	if err != nil {
		t.Fatal(err)
	}
	ab := stage.NewHeader([]string{"a", "b"})
	ba := stage.NewHeader([]string{"z", "b", "y", "a"})
	rows := []struct {
		h      *stage.Header
		fields []string
		want   string
	}{
		{ab, []string{"1", "2"}, "2,2,1"},
		{ba, []string{"9", "", "8", "7"}, ",,7"},
		{ab, []string{"", "x"}, "x,x,"},
		{ba, []string{"9", "b4", "8", "a4"}, "b4,b4,a4"},
	}
	e := NewEvaluator()
	for i, r := range rows {
		e.Reset(&stage.Record{Type: stage.CSV, Header: r.h, Fields: r.fields})
		got, err := e.String(p)
		if err != nil || got != r.want {
			t.Errorf("row %d: %q, %v; want %q", i, got, err, r.want)
		}
	}
	e.Reset(&stage.Record{Type: stage.CSV, Header: ab, Fields: []string{"1"}})
	if got, err := e.String(p); err == nil || !strings.Contains(err.Error(), `field("b"): the row has 1 fields`) {
		t.Errorf("short row: %q, %v; want the short row's error", got, err)
	}
	// Goroutines sharing the program, each on rows of its own header.
	var wg sync.WaitGroup
	for _, r := range rows {
		wg.Go(func() {
			e := NewEvaluator()
			for range 200 {
				e.Reset(&stage.Record{Type: stage.CSV, Header: r.h, Fields: r.fields})
				if got, err := e.String(p); err != nil || got != r.want {
					t.Errorf("concurrently: %q, %v; want %q", got, err, r.want)
					return
				}
			}
		})
	}
	wg.Wait()
	e.Release()
	for i, v := range e.boxed {
		if v != nil {
			t.Errorf("after Release, boxed[%d] = %q: the Evaluator keeps a field of its last record", i, v)
		}
	}
}

// TestErrorColumns checks where in the expression a failing call is
// located, for the record functions and the fast matches.
func TestErrorColumns(t *testing.T) {
	tests := []struct {
		kind, src string
		column    int
	}{
		{"csv", `"x" + field("langue")`, 7},
		{"csv", `field("lang") == "fr" && text("a") == ""`, 26},
		{"xml", `  name() + field("a")`, 12},
		{"json", `json("a.n") matches "[0-9]"`, 13},
		{"xml", `attr("{oops") ?? "-"`, 1},
	}
	for _, tt := range tests {
		p, err := Compile("x", tt.src, Any)
		if err != nil {
			t.Fatalf("%s: %v", tt.src, err)
		}
		e := NewEvaluator()
		e.Reset(records[tt.kind])
		_, err = e.Value(p)
		var ee *Error
		if !errors.As(err, &ee) || ee.Column != tt.column {
			t.Errorf("%s: error %v, want one at column %d", tt.src, err, tt.column)
		}
	}
}
