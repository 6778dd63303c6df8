package pipetest

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/sluicehq/sluice/internal/yamlnode"
	"github.com/sluicehq/sluice/pipeline"
	stagepkg "github.com/sluicehq/sluice/stage"
)

// File is a parsed test file.
type File struct {
	// Path is the test file.
	Path string
	// Pipeline is the pipeline file it tests.
	Pipeline string
	// Cases are its test cases, in file order.
	Cases []*Case
}

// Case is one named test case.
type Case struct {
	Name string
	// At is where the case starts in the test file.
	At pipeline.Location

	set     []stageNode
	feed    []feedSpec
	records []recordsWant
	cats    []categoriesWant
	counts  []countWant
	files   []fileWant
	err     *errorWant
}

type stageNode struct {
	stage string
	node  *yaml.Node
	at    pipeline.Location
}

type feedSpec struct {
	stage   string
	records []stagepkg.Record
	at      pipeline.Location
}

type recordsWant struct {
	stage string
	want  []string // rendered records
	at    pipeline.Location
}

type categoriesWant struct {
	stage string
	want  map[string]int64
	at    pipeline.Location
}

type countWant struct {
	stage string
	want  int64
	at    pipeline.Location
}

type fileWant struct {
	path string
	want string
	json bool // compare as JSON values
	at   pipeline.Location
}

type errorWant struct {
	text string
	at   pipeline.Location
}

// ParseFile reads and checks a test file. Every problem is reported at
// once, as a pipeline.ErrorList.
func ParseFile(path string) (*File, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, src)
}

// Parse parses a test file's content; path names it in errors and locates
// the pipeline.
func Parse(path string, src []byte) (*File, error) {
	p := &parser{file: path}
	f := p.parse(src)
	p.errs.Sort()
	if err := p.errs.Err(); err != nil {
		return nil, err
	}
	return f, nil
}

type parser struct {
	file string
	errs pipeline.ErrorList
}

func (p *parser) at(n *yaml.Node) pipeline.Location {
	return pipeline.Location{File: p.file, Line: n.Line, Col: n.Column}
}

func (p *parser) errorf(n *yaml.Node, format string, args ...any) {
	p.errs.Add(&pipeline.Error{File: p.file, Line: n.Line, Col: n.Column, Msg: fmt.Sprintf(format, args...)})
}

// DefaultPipeline is the pipeline a test file tests when it names none:
// x_test.yaml tests x.yaml.
func DefaultPipeline(testFile string) string {
	base := filepath.Base(testFile)
	for _, ext := range []string{".yaml", ".yml"} {
		if stem, ok := strings.CutSuffix(base, "_test"+ext); ok {
			return filepath.Join(filepath.Dir(testFile), stem+ext)
		}
	}
	return ""
}

func (p *parser) parse(src []byte) *File {
	f := &File{Path: p.file, Pipeline: DefaultPipeline(p.file)}
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		p.errs.Add(&pipeline.Error{File: p.file, Msg: "invalid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")})
		return nil
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		p.errs.Add(&pipeline.Error{File: p.file, Line: 1, Col: 1, Msg: "expected a mapping with `tests:`"})
		return nil
	}
	root := doc.Content[0]
	var tests *yaml.Node
	p.each(root, []string{"pipeline", "tests"}, func(k, v *yaml.Node) {
		switch k.Value {
		case "pipeline":
			if v.Kind != yaml.ScalarNode || v.Value == "" {
				p.errorf(v, "pipeline: expected a file path")
				return
			}
			f.Pipeline = filepath.Join(filepath.Dir(p.file), v.Value)
			if filepath.IsAbs(v.Value) {
				f.Pipeline = v.Value
			}
		case "tests":
			tests = v
		}
	})
	if f.Pipeline == "" {
		p.errorf(root, "no pipeline: name it with `pipeline:` or call the file NAME_test.yaml beside NAME.yaml")
	}
	if tests == nil || tests.Kind != yaml.SequenceNode || len(tests.Content) == 0 {
		at := root
		if tests != nil {
			at = tests
		}
		p.errorf(at, "`tests:` must be a list of one or more cases")
		return f
	}
	names := map[string]pipeline.Location{}
	for _, n := range tests.Content {
		c := p.testCase(n)
		if c == nil {
			continue
		}
		if prev, dup := names[c.Name]; dup {
			p.errorf(n, "case %q defined twice (first at line %d)", c.Name, prev.Line)
			continue
		}
		names[c.Name] = c.At
		f.Cases = append(f.Cases, c)
	}
	return f
}

// each calls fn for every key of mapping n, reporting keys not in allowed
// and repeated ones.
func (p *parser) each(n *yaml.Node, allowed []string, fn func(k, v *yaml.Node)) {
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "expected a mapping with %s", strings.Join(allowed, ", "))
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch {
		case seen[k.Value]:
			p.errorf(k, "%q repeated", k.Value)
		case !slices.Contains(allowed, k.Value):
			p.errorf(k, "unknown key %q (expected %s)", k.Value, strings.Join(allowed, ", "))
		default:
			fn(k, v)
		}
		seen[k.Value] = true
	}
}

// byStage calls fn for every entry of a mapping of stage names.
func (p *parser) byStage(n *yaml.Node, what string, fn func(stage string, k, v *yaml.Node)) {
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "%s: expected a mapping of stage names", what)
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		fn(n.Content[i].Value, n.Content[i], n.Content[i+1])
	}
}

func (p *parser) testCase(n *yaml.Node) *Case {
	c := &Case{At: p.at(n)}
	p.each(n, []string{"name", "set", "feed", "expect"}, func(k, v *yaml.Node) {
		switch k.Value {
		case "name":
			c.Name = v.Value
		case "set":
			p.byStage(v, "set", func(stage string, k, v *yaml.Node) {
				if v.Kind != yaml.MappingNode {
					p.errorf(v, "set: %s: expected a mapping of options", stage)
					return
				}
				c.set = append(c.set, stageNode{stage, v, p.at(k)})
			})
		case "feed":
			p.byStage(v, "feed", func(stage string, k, v *yaml.Node) {
				if v.Kind != yaml.SequenceNode {
					p.errorf(v, "feed: %s: expected a list of records", stage)
					return
				}
				fs := feedSpec{stage: stage, at: p.at(k)}
				for i, it := range v.Content {
					if r, ok := p.record(it, i+1); ok {
						fs.records = append(fs.records, r)
					}
				}
				c.feed = append(c.feed, fs)
			})
		case "expect":
			p.expect(c, v)
		}
	})
	if c.Name == "" {
		p.errorf(n, "a case needs a `name:`")
		return nil
	}
	if len(c.records)+len(c.cats)+len(c.counts)+len(c.files) == 0 && c.err == nil {
		p.errorf(n, "case %q expects nothing: add expect: with records, categories, count, files or error", c.Name)
	}
	return c
}

func (p *parser) expect(c *Case, n *yaml.Node) {
	p.each(n, []string{"records", "categories", "count", "files", "error"}, func(k, v *yaml.Node) {
		switch k.Value {
		case "records":
			p.byStage(v, "records", func(stage string, k, v *yaml.Node) {
				if v.Kind != yaml.SequenceNode {
					p.errorf(v, "records: %s: expected a list of records", stage)
					return
				}
				w := recordsWant{stage: stage, at: p.at(k), want: []string{}}
				for i, it := range v.Content {
					if r, ok := p.record(it, i+1); ok {
						w.want = append(w.want, render(&r))
					}
				}
				c.records = append(c.records, w)
			})
		case "categories":
			p.byStage(v, "categories", func(stage string, k, v *yaml.Node) {
				w := categoriesWant{stage: stage, at: p.at(k), want: map[string]int64{}}
				if v.Kind != yaml.MappingNode {
					p.errorf(v, "categories: %s: expected a mapping of category to number of records", stage)
					return
				}
				for i := 0; i+1 < len(v.Content); i += 2 {
					n, err := strconv.ParseInt(v.Content[i+1].Value, 10, 64)
					if err != nil || n < 0 {
						p.errorf(v.Content[i+1], "categories: %s: %s: expected a number of records, got %q", stage, v.Content[i].Value, v.Content[i+1].Value)
						continue
					}
					w.want[v.Content[i].Value] = n
				}
				c.cats = append(c.cats, w)
			})
		case "count":
			p.byStage(v, "count", func(stage string, k, v *yaml.Node) {
				n, err := strconv.ParseInt(v.Value, 10, 64)
				if v.Kind != yaml.ScalarNode || err != nil || n < 0 {
					p.errorf(v, "count: %s: expected a number of records, got %s", stage, yamlnode.Describe(v))
					return
				}
				c.counts = append(c.counts, countWant{stage, n, p.at(k)})
			})
		case "files":
			if v.Kind != yaml.MappingNode {
				p.errorf(v, "files: expected a mapping of output paths to contents")
				return
			}
			for i := 0; i+1 < len(v.Content); i += 2 {
				k, val := v.Content[i], v.Content[i+1]
				w := fileWant{path: k.Value, at: p.at(k)}
				switch {
				case val.Kind == yaml.ScalarNode && val.Tag == "!!str":
					w.want = val.Value
				case val.Kind == yaml.ScalarNode && val.Tag != "!!null" || val.Kind == yaml.MappingNode || val.Kind == yaml.SequenceNode:
					js, err := jsonOf(val)
					if err != nil {
						p.errorf(val, "files: %s: %v", k.Value, err)
						continue
					}
					w.want, w.json = js, true
				default:
					p.errorf(val, "files: %s: expected the file's text, or a JSON value as YAML", k.Value)
					continue
				}
				c.files = append(c.files, w)
			}
		case "error":
			if v.Kind != yaml.ScalarNode || v.Value == "" {
				p.errorf(v, "error: expected text that the run's error contains")
				return
			}
			c.err = &errorWant{v.Value, p.at(k)}
		}
	})
}

var recordKinds = []string{"xml", "csv", "line", "json", "file"}

// record reads one record mapping; i numbers it in its list, from 1.
func (p *parser) record(n *yaml.Node, i int) (stagepkg.Record, bool) {
	r := stagepkg.Record{Source: stagepkg.Position{File: p.file, Line: int64(n.Line), Ordinal: int64(i)}}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "expected a record: a mapping with one of %s (and category, labels)", strings.Join(recordKinds, ", "))
		return r, false
	}
	ok, kinds := true, 0
	p.each(n, append(slices.Clone(recordKinds), "category", "labels"), func(k, v *yaml.Node) {
		fail := func(format string, args ...any) { p.errorf(v, format, args...); ok = false }
		if slices.Contains(recordKinds, k.Value) {
			kinds++
		}
		switch k.Value {
		case "xml", "line", "file":
			if v.Kind != yaml.ScalarNode {
				fail("%s: expected text, got %s", k.Value, yamlnode.Describe(v))
				return
			}
			switch k.Value {
			case "xml":
				r.Type, r.Data = stagepkg.XML, []byte(v.Value)
			case "line":
				r.Type, r.Data = stagepkg.Line, []byte(v.Value)
			case "file":
				r.Type, r.Source = stagepkg.File, stagepkg.Position{File: v.Value}
				if st, err := os.Stat(v.Value); err == nil {
					r.Size = st.Size()
				}
			}
		case "csv":
			if v.Kind != yaml.MappingNode {
				fail("csv: expected a mapping of field names to values, in header order")
				return
			}
			var names, fields []string
			for j := 0; j+1 < len(v.Content); j += 2 {
				names = append(names, v.Content[j].Value)
				fields = append(fields, v.Content[j+1].Value)
			}
			var b strings.Builder
			w := csv.NewWriter(&b)
			w.Write(fields)
			w.Flush()
			r.Type, r.Header, r.Fields = stagepkg.CSV, stagepkg.NewHeader(names), fields
			r.Data = []byte(strings.TrimSuffix(b.String(), "\n"))
		case "json":
			text := v.Value
			if v.Kind != yaml.ScalarNode || v.Tag != "!!str" {
				js, err := jsonOf(v)
				if err != nil {
					fail("json: %v", err)
					return
				}
				text = js
			} else if !json.Valid([]byte(text)) {
				fail("json: %q is not valid JSON; write the value as YAML to have it encoded", text)
				return
			}
			r.Type, r.Data = stagepkg.JSON, []byte(text)
		case "category":
			r.Category = v.Value
		case "labels":
			if v.Kind != yaml.MappingNode {
				fail("labels: expected a mapping of label names to values")
				return
			}
			r.Labels = map[string]string{}
			for j := 0; j+1 < len(v.Content); j += 2 {
				r.Labels[v.Content[j].Value] = v.Content[j+1].Value
			}
		}
	})
	if kinds != 1 {
		p.errorf(n, "a record has exactly one of %s, got %d", strings.Join(recordKinds, ", "), kinds)
		return r, false
	}
	if r.Type != stagepkg.File {
		r.Size = int64(len(r.Data))
	}
	return r, ok
}

// jsonOf encodes a YAML value as compact JSON with sorted keys.
func jsonOf(n *yaml.Node) (string, error) {
	var v any
	if err := n.Decode(&v); err != nil {
		return "", err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("cannot be written as JSON: %v", err)
	}
	return string(b), nil
}

// render gives a record as one line of text, the same for a record a
// stage emitted and one a test expects, so that they compare as text and
// differ readably: "category | kind data | labels".
func render(r *stagepkg.Record) string {
	cat := r.Category
	if cat == "" {
		cat = "(none)"
	}
	var body string
	switch r.Type {
	case stagepkg.XML:
		body = "xml " + string(r.Data)
	case stagepkg.Line:
		body = "line " + string(r.Data)
	case stagepkg.JSON:
		body = "json " + canonicalJSON(r.Data)
	case stagepkg.CSV:
		parts := make([]string, len(r.Fields))
		for i, f := range r.Fields {
			name := strconv.Itoa(i + 1)
			if r.Header != nil && i < len(r.Header.Names) {
				name = r.Header.Names[i]
			}
			parts[i] = name + "=" + strconv.Quote(f)
		}
		body = "csv " + strings.Join(parts, " ")
	case stagepkg.File:
		body = "file " + r.Source.File
	default:
		body = r.Type.String() + " " + string(r.Data)
	}
	out := cat + " | " + body
	if len(r.Labels) > 0 {
		keys := make([]string, 0, len(r.Labels))
		for k := range r.Labels {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for i, k := range keys {
			keys[i] = k + "=" + strconv.Quote(r.Labels[k])
		}
		out += " | labels " + strings.Join(keys, " ")
	}
	return out
}

// canonicalJSON re-encodes JSON text compactly with sorted keys, or
// returns it as it is when it is not valid.
func canonicalJSON(b []byte) string {
	var v any
	if json.Unmarshal(b, &v) != nil {
		return string(b)
	}
	out, _ := json.Marshal(v)
	return string(out)
}
