package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
)

// result is what W1 (or W2) computes, in a form that does not depend on
// who computed it: the peers' counts.json, Sluice's count outputs and an
// encoding/xml pass over the corpus all reduce to it (for W2: counts.csv
// and an encoding/csv pass, w2.go).
type result struct {
	Records    int64
	Categories map[string]int64
	Attributes map[attrKey]int64
	// Files maps each category file's name to the multiset of its records
	// (a record is the SHA-256 of its canonical form); nil when the files
	// were not read.
	Files map[string]map[[32]byte]int64
	// Digests holds W2's category files by name (w2.go); nil when they
	// were not read, and for W1.
	Digests map[string]*fileDigest
}

// attrKey is one (element, attribute, value), names in Clark notation.
type attrKey struct{ Elem, Attr, Value string }

// fileName is the category file W1 writes a category to: "book/plain"
// goes to book__plain.xml.
func fileName(category string) string {
	return strings.ReplaceAll(category, "/", "__") + ".xml"
}

// clark writes a resolved name in Clark notation.
func clark(n xml.Name) string {
	if n.Space == "" {
		return n.Local
	}
	return "{" + n.Space + "}" + n.Local
}

func isDecl(a xml.Attr) bool {
	return a.Name.Space == "xmlns" || a.Name.Space == "" && a.Name.Local == "xmlns"
}

// canon accumulates the canonical form of one record, token by token: start
// tags with their attributes sorted (namespace declarations left out),
// adjacent character data merged, end tags; comments, processing
// instructions and CDATA markers are not part of it, nor are prefixes or
// quoting. Two records are equal for W1 when their canonical forms are.
type canon struct {
	h    []byte
	text []byte
}

func (c *canon) start(se xml.StartElement) {
	c.flush()
	attrs := make([]string, 0, len(se.Attr))
	for _, a := range se.Attr {
		if !isDecl(a) {
			attrs = append(attrs, clark(a.Name)+"\x00"+a.Value)
		}
	}
	sort.Strings(attrs)
	c.h = append(c.h, '<')
	c.h = append(c.h, clark(se.Name)...)
	for _, a := range attrs {
		c.h = append(c.h, '\x01')
		c.h = append(c.h, a...)
	}
	c.h = append(c.h, '>')
}

func (c *canon) end() {
	c.flush()
	c.h = append(c.h, "</>"...)
}

func (c *canon) chars(b []byte) { c.text = append(c.text, b...) }

func (c *canon) flush() {
	if len(c.text) > 0 {
		c.h = append(c.h, '"')
		c.h = append(c.h, c.text...)
		c.h = append(c.h, '"')
		c.text = c.text[:0]
	}
}

func (c *canon) sum() [32]byte {
	c.flush()
	s := sha256.Sum256(c.h)
	c.h = c.h[:0]
	return s
}

// scanRecords reads an XML document with encoding/xml and calls f for
// every element named record (in no namespace) at the given depth (1: a
// child of the root), with the record's canonical hash, its category by
// W1's rule, and its start tag. Elements inside a record are passed to
// elem, when not nil.
func scanRecords(r io.Reader, depth int, f func(sum [32]byte, category string), elem func(xml.StartElement)) error {
	d := xml.NewDecoder(r)
	level := 0
	in := 0 // depth inside the current record; 0 outside
	var c canon
	var typ string
	var title []byte
	titleDepth := 0 // depth (inside the record) of the first <title> child while inside it
	sawTitle := false
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			level++
			if in == 0 {
				if level-1 != depth || t.Name.Local != "record" || t.Name.Space != "" {
					continue
				}
				typ, title, sawTitle, titleDepth = "unknown", title[:0], false, 0
				for _, a := range t.Attr {
					if a.Name.Space == "" && a.Name.Local == "type" {
						typ = a.Value
					}
				}
			} else if in == 1 && !sawTitle && t.Name.Local == "title" && t.Name.Space == "" {
				sawTitle, titleDepth = true, 1
			} else if titleDepth > 0 {
				titleDepth++
			}
			in++
			c.start(t)
			if elem != nil {
				elem(t)
			}
		case xml.EndElement:
			level--
			if in == 0 {
				continue
			}
			in--
			c.end()
			if titleDepth > 0 {
				titleDepth--
			}
			if in == 0 {
				cat := typ + "/plain"
				if bytes.ContainsAny(title, "0123456789") {
					cat = typ + "/numbered"
				}
				f(c.sum(), cat)
			}
		case xml.CharData:
			if in > 0 {
				c.chars(t)
				if titleDepth > 0 {
					title = append(title, t...)
				}
			}
		}
	}
}

// expected computes W1 over a corpus with encoding/xml alone: the
// independent computation that Sluice's outputs are checked against when
// the peers are absent, and in the tests.
func expected(corpus string) (*result, error) {
	f, err := os.Open(corpus)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	res := &result{Categories: map[string]int64{}, Attributes: map[attrKey]int64{}, Files: map[string]map[[32]byte]int64{}}
	err = scanRecords(f, 1, func(sum [32]byte, cat string) {
		res.Records++
		res.Categories[cat]++
		name := fileName(cat)
		if res.Files[name] == nil {
			res.Files[name] = map[[32]byte]int64{}
		}
		res.Files[name][sum]++
	}, func(se xml.StartElement) {
		for _, a := range se.Attr {
			if !isDecl(a) {
				res.Attributes[attrKey{clark(se.Name), clark(a.Name), a.Value}]++
			}
		}
	})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", corpus, err)
	}
	return res, nil
}

// readFiles reads the multisets of records of every *.xml file in dir,
// on up to workers goroutines.
func readFiles(dir string, workers int) (map[string]map[[32]byte]int64, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.xml"))
	if err != nil {
		return nil, err
	}
	out := map[string]map[[32]byte]int64{}
	var mu sync.Mutex
	var errs []error
	sem := make(chan struct{}, max(workers, 1))
	var wg sync.WaitGroup
	for _, path := range names {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			ms := map[[32]byte]int64{}
			f, err := os.Open(path)
			if err == nil {
				err = scanRecords(f, 1, func(sum [32]byte, _ string) { ms[sum]++ }, nil)
				f.Close()
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("read %s: %w", path, err))
				return
			}
			out[filepath.Base(path)] = ms
		})
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// readSluice reads the outputs of bench's pipelines in dir:
// attributes.json (count, attributes mode), categories.json (count by
// category) and, when files is set, the category files in sorted/.
func readSluice(dir string, files bool, workers int) (*result, error) {
	res := &result{Categories: map[string]int64{}}
	if err := readJSON(filepath.Join(dir, "categories.json"), &res.Categories); err != nil {
		return nil, err
	}
	for _, n := range res.Categories {
		res.Records += n
	}
	var attrs struct {
		Records    int64                                  `json:"records"`
		Attributes map[string]map[string]map[string]int64 `json:"attributes"`
	}
	path := filepath.Join(dir, "attributes.json")
	if _, err := os.Stat(path); err == nil {
		if err := readJSON(path, &attrs); err != nil {
			return nil, err
		}
		if attrs.Records != res.Records {
			return nil, fmt.Errorf("%s counts %d records, categories.json %d", path, attrs.Records, res.Records)
		}
		res.Attributes = map[attrKey]int64{}
		for el, as := range attrs.Attributes {
			for at, vs := range as {
				for v, n := range vs {
					res.Attributes[attrKey{el, at, v}] = n
				}
			}
		}
	}
	if files {
		fs, err := readFiles(filepath.Join(dir, "sorted"), workers)
		if err != nil {
			return nil, err
		}
		res.Files = fs
	}
	return res, nil
}

// readPeer reads a peer's outputs in dir: counts.json (flat attribute rows
// [element, attribute, value, count]) and, when files is set, the category
// files.
func readPeer(dir string, files bool, workers int) (*result, error) {
	var doc struct {
		Records    int64            `json:"records"`
		Categories map[string]int64 `json:"categories"`
		Distinct   int              `json:"distinct_attribute_values"`
		Attributes [][4]any         `json:"attributes"`
	}
	if err := readJSON(filepath.Join(dir, "counts.json"), &doc); err != nil {
		return nil, err
	}
	res := &result{Records: doc.Records, Categories: doc.Categories, Attributes: make(map[attrKey]int64, len(doc.Attributes))}
	for i, row := range doc.Attributes {
		el, ok1 := row[0].(string)
		at, ok2 := row[1].(string)
		v, ok3 := row[2].(string)
		n, ok4 := row[3].(float64)
		if !ok1 || !ok2 || !ok3 || !ok4 {
			return nil, fmt.Errorf("%s: attribute row %d is not [string, string, string, number]", dir, i)
		}
		res.Attributes[attrKey{el, at, v}] = int64(n)
	}
	if len(res.Attributes) != doc.Distinct {
		return nil, fmt.Errorf("%s: %d distinct attribute rows, but distinct_attribute_values says %d", dir, len(res.Attributes), doc.Distinct)
	}
	if files {
		fs, err := readFiles(dir, workers)
		if err != nil {
			return nil, err
		}
		res.Files = fs
	}
	return res, nil
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// diff lists how got differs from want, at most a few lines per part; it
// compares attributes and files only where both have them.
func diff(want, got *result) []string {
	var out []string
	if want.Records != got.Records {
		out = append(out, fmt.Sprintf("records: %d, want %d", got.Records, want.Records))
	}
	out = append(out, diffMaps("records of category", want.Categories, got.Categories)...)
	if want.Attributes != nil && got.Attributes != nil {
		out = append(out, diffMaps("count of", want.Attributes, got.Attributes)...)
	}
	if want.Digests != nil && got.Digests != nil {
		out = append(out, diffDigests(want.Digests, got.Digests)...)
	}
	if want.Files != nil && got.Files != nil {
		var names []string
		for n := range want.Files {
			names = append(names, n)
		}
		for n := range got.Files {
			if _, ok := want.Files[n]; !ok {
				names = append(names, n)
			}
		}
		slices.Sort(names)
		for _, n := range names {
			w, g := want.Files[n], got.Files[n]
			switch {
			case w == nil:
				out = append(out, fmt.Sprintf("file %s: unexpected", n))
			case g == nil:
				out = append(out, fmt.Sprintf("file %s: missing", n))
			default:
				if d := diffMaps("record", w, g); len(d) > 0 {
					out = append(out, fmt.Sprintf("file %s: %d records, want %d; records differ as multisets (%d differences)", n, sum(g), sum(w), len(d)))
				}
			}
		}
	}
	return out
}

func sum[K comparable](m map[K]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

// diffMaps lists the keys whose counts differ, at most 5 of them, and how
// many more there are.
func diffMaps[K comparable](what string, want, got map[K]int64) []string {
	var out []string
	more := 0
	note := func(k K, g, w int64) {
		if len(out) < 5 {
			out = append(out, fmt.Sprintf("%s %v: %d, want %d", what, k, g, w))
		} else {
			more++
		}
	}
	for k, w := range want {
		if g := got[k]; g != w {
			note(k, g, w)
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			note(k, g, 0)
		}
	}
	if more > 0 {
		out = append(out, fmt.Sprintf("... and %d more differences in %ss", more, what))
	}
	return out
}
