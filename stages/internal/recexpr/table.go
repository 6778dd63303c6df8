package recexpr

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/expr-lang/expr"

	"github.com/sluicehq/sluice/stage"
)

// Function is one function of the language, as the reference shows it.
type Function struct {
	Name string
	// Signature is the call as written, with the types expr checks:
	// `attr(name string) any`.
	Signature string
	// Kind is the record kind the function reads; stage.Records when it
	// reads any record.
	Kind     stage.Type
	Doc      string
	Examples []Example
}

// Variable is one variable of the language, as the reference shows it.
type Variable struct {
	Name     string
	Type     string // the Go type expr checks: string, int
	Doc      string
	Examples []Example
}

// Example is an expression evaluated on the sample record of Kind (see
// Samples); Result is its value as Format writes it. A test evaluates
// every example on records split from the samples and checks Result.
type Example struct {
	Kind   stage.Type
	Expr   string
	Result string
}

// function is a row of the table: what the reference says and what expr
// is given. One table both registers the functions (compileOptions) and
// documents them (Functions), so the two cannot drift.
type function struct {
	name   string
	params []string // parameter names, for the signature; types come from typ
	kind   stage.Type
	doc    string
	ex     []Example
	fn     recordFunc
	typ    any // a *func type: the types expr checks; a first *env is hidden
}

// functions is every function an expression can call.
var functions = []function{
	{"attr", []string{"name"}, stage.XML,
		`the root element's attribute name ("type", "xml:lang", "{uri}local"), or nil when it has none; give a default with ??`,
		[]Example{{stage.XML, `attr("type")`, `"map"`}, {stage.XML, `attr("missing") ?? "unknown"`, `"unknown"`}},
		fnAttr, new(func(*env, string) any)},
	{"hasattr", []string{"name"}, stage.XML,
		`whether the root element has the attribute name (has tests for a child element, not an attribute)`,
		[]Example{{stage.XML, `hasattr("type")`, `true`}, {stage.XML, `has("type")`, `false`}},
		fnHasAttr, new(func(*env, string) bool)},
	{"name", nil, stage.XML,
		`the root element's name as written, prefix included ("record", "c:record")`,
		[]Example{{stage.XML, `name()`, `"record"`}},
		fnName, new(func(*env) string)},
	{"text", []string{"path"}, stage.XML,
		`all the text inside the first element at path below the root (entities decoded, CDATA included), or "" when none matches; "." (or "") is the root itself, so text(".") is all of the record's text, and text("title") only the first title's`,
		[]Example{{stage.XML, `text("title")`, `"Atlas 3"`}, {stage.XML, `text(".")`, `"Atlas 3AnnXY"`}, {stage.XML, `text("authors/author")`, `"X"`}, {stage.XML, `text("nothing")`, `""`}},
		fnText, new(func(*env, string) string)},
	{"texts", []string{"path"}, stage.XML,
		`the text of every element at path, in document order ("*" matches any element)`,
		[]Example{{stage.XML, `texts("authors/author")`, `["X", "Y"]`}, {stage.XML, `join(texts("authors/*"), "+")`, `"X+Y"`}},
		fnTexts, new(func(*env, string) []string)},
	{"has", []string{"path"}, stage.XML,
		`whether an element matches path, a child element path such as "title" or "authors/author"; it never tests attributes (use hasattr)`,
		[]Example{{stage.XML, `has("authors/author")`, `true`}, {stage.XML, `has("author")`, `false`}},
		fnHas, new(func(*env, string) bool)},
	{"field", []string{"column"}, stage.CSV,
		`a CSV field by its column's name in the header (or "1", "2", ... without a header); a name not in the header is an error listing the columns`,
		[]Example{{stage.CSV, `field("lang")`, `"fr"`}, {stage.CSV, `field("id") + "-" + field("title")`, `"7-Bonjour"`}},
		fnField, new(func(*env, string) string)},
	{"json", []string{"path"}, stage.JSON,
		`a value of a JSON record by dotted path, array indexes counted from 0 ("items.0.id"); nil when absent; json("") is the whole value. Integers are int, other numbers float64`,
		[]Example{{stage.JSON, `json("a.b")`, `"x"`}, {stage.JSON, `json("items.1.id")`, `2`}, {stage.JSON, `json("a.n") * 2`, `6`}, {stage.JSON, `json("nope") ?? "none"`, `"none"`}, {stage.JSON, `"sale" in json("tags")`, `true`}},
		fnJSON, new(func(*env, string) any)},
	{"label", []string{"name"}, stage.Records,
		`a label set by an earlier classify (rules or plugin), or nil when it is not set`,
		[]Example{{stage.Line, `label("lang") ?? "none"`, `"none"`}},
		fnLabel, new(func(*env, string) any)},
}

// variables is every variable an expression can read; their types are
// the env struct's (see Variables).
var variables = []Variable{
	{Name: "kind", Doc: `the record's kind: "xml", "csv", "line" or "json"`, Examples: []Example{
		{stage.XML, `kind`, `"xml"`}, {stage.CSV, `kind`, `"csv"`}, {stage.Line, `kind`, `"line"`}, {stage.JSON, `kind`, `"json"`}}},
	{Name: "line", Doc: `the record's raw text: a line without its line end, a CSV row, a JSON value or an XML subtree as written`, Examples: []Example{
		{stage.Line, `split(line, " ")[1]`, `"/index"`}, {stage.CSV, `line`, `"7,fr,Bonjour"`}, {stage.XML, `line contains "<title>"`, `true`}}},
	{Name: "file", Doc: `the input file the record came from, as read named it`, Examples: []Example{
		{stage.CSV, `file`, `"catalog.csv"`}}},
	{Name: "ordinal", Doc: `the record's number in its file, from 1`, Examples: []Example{
		{stage.Line, `ordinal`, `1`}}},
	{Name: "category", Doc: `the category set by an earlier classify, "" when none`, Examples: []Example{
		{stage.XML, `category == ""`, `true`}}},
}

// compileOptions returns the environment and functions every program is
// compiled with. The declared types let expr check calls at compile time
// (attr(1) or text() is a compile error at the option).
func compileOptions() []expr.Option {
	opts := []expr.Option{expr.Env(&env{})}
	for _, f := range functions {
		opts = append(opts, expr.Function(f.name, f.fn.variadic, f.typ))
	}
	return append(opts, expr.Function(matchFunction, fnMatches, new(func(string, *matcher) bool)))
}

// recordFunction reports whether name is a function that reads the record,
// and so takes the environment as a hidden first argument (see patcher).
func recordFunction(name string) bool {
	for _, f := range functions {
		if f.name == name {
			return true
		}
	}
	return false
}

// names is every name the environment defines, for suggestions.
var names = func() []string {
	var out []string
	for _, f := range functions {
		out = append(out, f.name)
	}
	for _, v := range variables {
		out = append(out, v.Name)
	}
	return out
}()

// Functions returns the reference of every function, in the table's order.
func Functions() []Function {
	out := make([]Function, len(functions))
	for i, f := range functions {
		out[i] = Function{Name: f.name, Signature: signature(f), Kind: f.kind, Doc: f.doc, Examples: f.ex}
	}
	return out
}

// signature writes f's call with the types of f.typ and the names of
// f.params. A table row whose names and types disagree is a programming
// error and panics (TestReference catches it).
func signature(f function) string {
	t := reflect.TypeOf(f.typ).Elem()
	var params []string
	for i := 0; i < t.NumIn(); i++ {
		if t.In(i) == reflect.TypeOf(&env{}) {
			continue
		}
		params = append(params, t.In(i).String())
	}
	if len(params) != len(f.params) {
		panic(fmt.Sprintf("recexpr: function %s: %d parameter names for %d parameters", f.name, len(f.params), len(params)))
	}
	for i := range params {
		params[i] = f.params[i] + " " + typeName(params[i])
	}
	return fmt.Sprintf("%s(%s) %s", f.name, strings.Join(params, ", "), typeName(t.Out(0).String()))
}

func typeName(t string) string {
	if t == "interface {}" {
		return "any"
	}
	return t
}

// Variables returns the reference of every variable, with its type read
// from the env struct. A variable the struct lacks panics (TestReference
// catches it).
func Variables() []Variable {
	types := map[string]string{}
	et := reflect.TypeOf(env{})
	for i := 0; i < et.NumField(); i++ {
		if tag := et.Field(i).Tag.Get("expr"); tag != "" {
			types[tag] = et.Field(i).Type.String()
		}
	}
	out := make([]Variable, len(variables))
	for i, v := range variables {
		t, ok := types[v.Name]
		if !ok {
			panic("recexpr: variable " + v.Name + " is not in the env struct")
		}
		v.Type = t
		out[i] = v
	}
	return out
}

// Sample is the input a reference example runs on: a small file of one
// record kind, split into records by the split stage.
type Sample struct {
	Kind    stage.Type
	File    string // the file's name; examples of file show it
	Element string // for XML: the element whose subtrees are records
	Data    string
}

// Split returns the split stage's with: for the sample, in YAML flow.
func (s Sample) Split() string {
	switch s.Kind {
	case stage.XML:
		return "{xml: {element: " + s.Element + "}}"
	case stage.CSV:
		return "{csv: {}}"
	case stage.JSON:
		return "{jsonl: {}}"
	}
	return "{lines: {}}"
}

// Samples returns the sample inputs of the reference, one per record kind.
func Samples() []Sample {
	return []Sample{
		{stage.XML, "catalog.xml", "record",
			`<catalog xmlns:dc="http://purl.org/dc/elements/1.1/">
<record id="r1" type="map" xml:lang="en"><title>Atlas <b>3</b></title><dc:creator>Ann</dc:creator><authors><author>X</author><author>Y</author></authors></record>
</catalog>
`},
		{stage.CSV, "catalog.csv", "", "id,lang,title\n7,fr,Bonjour\n"},
		{stage.Line, "access.log", "", "GET /index 200\n"},
		{stage.JSON, "events.jsonl", "", `{"a": {"b": "x", "n": 3}, "items": [{"id": 1}, {"id": 2}], "tags": ["new", "sale"]}` + "\n"},
	}
}
