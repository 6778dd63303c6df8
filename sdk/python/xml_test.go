package python

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sluicehq/sluice/sdk"
)

// xmlQuery is one question asked of a record, and its answer: the value
// (nil when there is none), the elements each() yields (name and text),
// or whether it failed.
type xmlQuery struct {
	Op    string     `json:"op"` // text, attr or each
	Arg   string     `json:"arg"`
	Value *string    `json:"value"`
	Elems [][]string `json:"elems"`
	Err   bool       `json:"err"`
}

type xmlCase struct {
	Data    string     `json:"data"`
	Queries []xmlQuery `json:"queries"`
}

// answerPy answers every query with sluice_plugin.XMLRecord.
const answerPy = `
import json, sys
from sluice_plugin import XMLRecord, PathError
cases = json.load(sys.stdin)
for c in cases:
    rec = XMLRecord(c["data"].encode())
    for q in c["queries"]:
        q["value"], q["elems"], q["err"] = None, None, False
        try:
            if q["op"] == "text":
                q["value"] = rec.text(q["arg"])
            elif q["op"] == "attr":
                q["value"] = rec.attr(q["arg"])
            else:
                q["elems"] = [[e.name, e.text()] for e in rec.each(q["arg"])] or None
        except PathError:
            q["err"] = True
json.dump(cases, sys.stdout)
`

// answerGo answers q with the Go sdk's XMLReader.
func answerGo(t *testing.T, rec *sdk.XMLRecord, q xmlQuery) xmlQuery {
	var v string
	var ok bool
	var err error
	switch q.Op {
	case "text":
		v, ok, err = rec.Text(q.Arg)
	case "attr":
		v, ok, err = rec.Attr(q.Arg)
	default:
		q.Elems = nil
		for e, err1 := range rec.Each(q.Arg) {
			if err = err1; err != nil {
				break
			}
			text, _, _ := e.Text(".")
			q.Elems = append(q.Elems, []string{e.Name(), text})
		}
	}
	if ok {
		q.Value = &v
	}
	q.Err = err != nil
	return q
}

// pyRecord writes a record with namespaces (default, prefixed, redeclared
// below the root, xmlns=""), references, CDATA, comments and CRLF.
func pyRecord(r *rand.Rand) string {
	var b strings.Builder
	texts := []string{"t", "&amp;&lt;", "&#233;", "<![CDATA[<&>]]>", "<!-- c -->", "\r\n", "é"}
	var elem func(depth int)
	elem = func(depth int) {
		name := []string{"a", "b", "p:a", "q:b"}[r.IntN(4)]
		b.WriteString("<" + name)
		if depth == 0 {
			b.WriteString(` xmlns="urn:d" xmlns:p="urn:p" xmlns:q="urn:q"`)
		} else if r.IntN(6) == 0 {
			b.WriteString([]string{` xmlns=""`, ` xmlns:p="urn:p2"`}[r.IntN(2)])
		}
		for _, a := range []string{"id", "p:id", "xml:lang"} {
			if r.IntN(3) == 0 {
				fmt.Fprintf(&b, ` %s="v&amp;%d"`, a, r.IntN(9))
			}
		}
		b.WriteString(">")
		for range r.IntN(4) {
			if depth < 4 && r.IntN(2) == 0 {
				elem(depth + 1)
			} else {
				b.WriteString(texts[r.IntN(len(texts))])
			}
		}
		b.WriteString("</" + name + ">")
	}
	elem(0)
	return b.String()
}

// TestXMLRecordMatchesGo asks the Python sdk's XMLRecord the questions the
// Go sdk's XMLReader answers (which its own tests check against
// encoding/xml), on generated records, and compares every answer: values,
// the elements each() yields, and which paths are rejected.
func TestXMLRecordMatchesGo(t *testing.T) {
	py := python(t)
	r := rand.New(rand.NewPCG(16, 3))
	paths := []string{".", "", "a", "b", "*", "*/*", "p:a", "q:b", "{urn:d}a/*", "{}a", "*/{}b", "a/@id", "*/@p:id",
		"*/*/@xml:lang", "@id", "@{urn:p}id", "zz:a", "*/zz:a", "a/{urn:p2}a", "*/*/*/@id",
		"a//b", "/a", "a/", "..", "a/./b", "a[1]", "text()", "@*", "@id/a", "1a", "{urn:x"}
	attrs := []string{"id", "p:id", "xml:lang", "{urn:p}id", "zz:id", "a/@id", "*"}
	var cases []xmlCase
	var xr sdk.XMLReader
	for range 200 {
		c := xmlCase{Data: pyRecord(r)}
		rec, err := xr.Read([]byte(c.Data))
		if err != nil {
			t.Fatalf("%s: %v", c.Data, err)
		}
		for _, p := range paths {
			c.Queries = append(c.Queries, answerGo(t, rec, xmlQuery{Op: "text", Arg: p}), answerGo(t, rec, xmlQuery{Op: "each", Arg: p}))
		}
		for _, a := range attrs {
			c.Queries = append(c.Queries, answerGo(t, rec, xmlQuery{Op: "attr", Arg: a}))
		}
		cases = append(cases, c)
	}
	in, err := json.Marshal(cases)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, "-c", answerPy)
	cmd.Env = append(cmd.Environ(), "PYTHONPATH=.")
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, stderr.String())
	}
	var got []xmlCase
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(cases) {
		t.Fatalf("python answered %d records of %d", len(got), len(cases))
	}
	answered := 0
	for i := range cases {
		if diff := cmp.Diff(cases[i], got[i]); diff != "" {
			t.Fatalf("record %q: Python differs from Go (-go +python):\n%s", cases[i].Data, diff)
		}
		for _, q := range cases[i].Queries {
			if q.Value != nil || len(q.Elems) > 0 {
				answered++
			}
		}
	}
	if answered < 1500 {
		t.Fatalf("only %d questions had an answer", answered)
	}
}
