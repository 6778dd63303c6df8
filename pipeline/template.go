package pipeline

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/sluicehq/sluice/internal/yamlnode"
	"github.com/sluicehq/sluice/stage"
)

// Template is a reusable stage, or a small graph of stages, defined in a
// YAML file with typed parameters. A pipeline uses it like a stage kind
// (`use: ./lib/xml-records.yaml`, or `use: xml-records` found on the
// search path) and passes parameters in `with:`:
//
//	template: xml-records
//	doc: Split XML files into records and count their attributes.
//	params:
//	  element: {type: string, default: record, doc: The record element.}
//	  counts: {type: string, doc: Where the counts go.}
//	input: records         # the stages that read the use's from:
//	output: records        # the stage whose output the use emits
//	stages:
//	  records:
//	    use: split
//	    with: {xml: {element: "${{ params.element }}"}}
//	  attributes:
//	    use: count
//	    from: records
//	    with: {attributes: true, output: "${{ params.counts }}"}
//
// A value that is exactly one reference takes the parameter's value with
// its type (a list stays a list); a reference inside a longer string is
// replaced by the value's text. A use named N expands to stages named
// N.S, one per template stage S, or to one stage named N when the
// template has a single stage (which is then its input and output unless
// it says otherwise). Templates can use templates; a cycle is an error.
type Template struct {
	// Name is the template's `template:` name.
	Name string
	// File is where it was read from.
	File string
	// Doc describes it.
	Doc string
	// Params are its parameters, in file order.
	Params []Param
	// Input lists the stages that read what the use's from: names.
	Input []string
	// Output is the stage whose output the use emits; "" when none.
	Output string
	// Stages are the names of its stages, in file order.
	Stages []string

	pos     Pos // of the `template:` value
	params  map[string]*Param
	entries []entry
	uses    map[string]string // stage name → its use: value, as written
	usesAt  map[string]Pos    // stage name → where its use: value is
}

// Param is one parameter of a template.
type Param struct {
	Name string
	// Type is one of string, int, number, bool, duration, size, list,
	// mapping and any.
	Type string
	Doc  string
	// Default is the default value as YAML text; "" with Required.
	Default  string
	Required bool
	// Enum, when set, lists the values the parameter may take.
	Enum []string

	pos Pos        // of the parameter's name
	def *yaml.Node // the default value
}

// ParamTypes lists the parameter types a template can declare.
var paramTypes = []string{"string", "int", "number", "bool", "duration", "size", "list", "mapping", "any"}

var (
	templateKeys = []string{"template", "doc", "params", "input", "output", "stages"}
	paramKeys    = []string{"type", "doc", "default", "enum"}
	paramRefRE   = regexp.MustCompile(`\$\{\{\s*([^}]*?)\s*\}\}`)
	paramNameRE  = regexp.MustCompile(`^params\.([A-Za-z_][A-Za-z0-9_-]*)$`)
)

// ReadTemplate reads and checks the template file at path.
func (l *Loader) ReadTemplate(path string) (*Template, error) {
	p := newParser(l, path)
	p.cfg = &Config{File: path, broken: map[string]bool{}, readBy: map[string]bool{}, inputs: map[string][]string{}, uses: map[string]string{}}
	src, err := l.Read(path)
	if err != nil {
		return nil, err
	}
	t := p.parseTemplate(path, src)
	p.errs.Sort()
	if err := p.errs.Err(); err != nil {
		return nil, err
	}
	return t, nil
}

// Templates returns the templates found on the search path: every .yaml
// or .yml file with a top-level `template:`, by directory then name. A
// name found in two directories is used from the first, as for `use:`.
// Files that fail to load are reported in the error, after the others.
func (l *Loader) Templates() ([]*Template, error) {
	var out []*Template
	var errs []string
	seen := map[string]bool{}
	readDir := l.ReadDir
	if readDir == nil {
		readDir = os.ReadDir
	}
	for _, dir := range l.SearchPath {
		entries, _ := readDir(dir) // a missing directory has no templates
		var files []string
		for _, e := range entries {
			if !e.IsDir() {
				files = append(files, filepath.Join(dir, e.Name()))
			}
		}
		sort.Strings(files)
		for _, f := range files {
			base := strings.TrimSuffix(strings.TrimSuffix(filepath.Base(f), ".yaml"), ".yml")
			if base == filepath.Base(f) || seen[base] || !l.isTemplateFile(f) {
				continue
			}
			seen[base] = true
			t, err := l.ReadTemplate(f)
			if err != nil {
				errs = append(errs, err.Error())
				continue
			}
			out = append(out, t)
		}
	}
	if len(errs) > 0 {
		return out, fmt.Errorf("%s", strings.Join(errs, "\n"))
	}
	return out, nil
}

// isTemplateFile reports whether the YAML file at path has a top-level
// `template:` key.
func (l *Loader) isTemplateFile(path string) bool {
	src, err := l.Read(path)
	if err != nil {
		return false
	}
	var doc yaml.Node
	if yaml.Unmarshal(src, &doc) != nil || len(doc.Content) == 0 {
		return false
	}
	k, _ := mappingKey(doc.Content[0], "template")
	return k != nil
}

// template returns the template in file path, reading and checking it
// the first time; nil (after reporting why) when it cannot be used. at is
// the `use:` that names it.
func (p *parser) template(path string, at Pos) *Template {
	key := cleanPath(path)
	if t, ok := p.templates[key]; ok {
		return t
	}
	p.templates[key] = nil
	src, err := p.l.Read(path)
	if err != nil {
		p.errorf(at, "", "use: %v", err)
		return nil
	}
	p.cfg.Files = append(p.cfg.Files, path)
	n := len(p.errs)
	t := p.parseTemplate(path, src)
	if len(p.errs) > n {
		return nil
	}
	p.templates[key] = t
	return t
}

// parseTemplate reads a template file and checks it on its own: its keys,
// its parameters and their defaults, and every parameter reference.
func (p *parser) parseTemplate(path string, src []byte) *Template {
	t := &Template{File: path, params: map[string]*Param{}, uses: map[string]string{}, usesAt: map[string]Pos{}}
	o := &origin{file: path}
	root := p.readYAML(path, src, o, true)
	if root == nil {
		return nil
	}
	var input, output, stagesNode *yaml.Node
	p.eachKey(root, "", templateKeys, func(k, v *yaml.Node) {
		switch k.Value {
		case "template":
			t.Name, t.pos = p.str(v, ""), p.pos(v)
			if t.Name != "" && !nameRE.MatchString(t.Name) {
				p.errorf(p.pos(v), "", "template: invalid name %q: use letters, digits, '_' and '-'", t.Name)
			}
		case "doc":
			t.Doc = p.str(v, "")
		case "params":
			p.templateParams(t, v)
		case "input":
			input = v
		case "output":
			output = v
		case "stages":
			stagesNode = v
		}
	})
	if t.Name == "" && t.pos.Line == 0 {
		p.errorf(p.pos(root), "", "missing `template:` (the template's name)")
	}
	if stagesNode == nil || stagesNode.Kind != yaml.MappingNode || len(stagesNode.Content) == 0 {
		at := p.pos(root)
		if stagesNode != nil {
			at = p.pos(stagesNode)
		}
		p.errorf(at, "", "a template needs `stages:`, a mapping of one or more stages")
		return t
	}
	for i := 0; i+1 < len(stagesNode.Content); i += 2 {
		k, v := stagesNode.Content[i], stagesNode.Content[i+1]
		if slices.Contains(t.Stages, k.Value) {
			p.errorf(p.pos(k), k.Value, "stage defined twice in template %s", t.Name)
			continue
		}
		if !nameRE.MatchString(k.Value) {
			p.errorf(p.pos(k), k.Value, "invalid stage name: use letters, digits, '_' and '-', starting with a letter or '_'")
		}
		t.Stages = append(t.Stages, k.Value)
		t.entries = append(t.entries, entry{k, v})
		if _, u := mappingKey(v, "use"); u != nil && u.Kind == yaml.ScalarNode {
			t.uses[k.Value], t.usesAt[k.Value] = u.Value, p.pos(u)
		}
	}
	t.Input = p.templateStageNames(t, input, "input")
	if out := p.templateStageNames(t, output, "output"); len(out) > 1 {
		p.errorf(p.pos(output), "", "output: a template has one output stage, got %d", len(out))
	} else if len(out) == 1 {
		t.Output = out[0]
	}
	if len(t.Stages) == 1 {
		if input == nil {
			t.Input = t.Stages
		}
		if output == nil {
			t.Output = t.Stages[0]
		}
	}
	p.checkRefs(t)
	return t
}

// templateParams reads the `params:` mapping of t.
func (p *parser) templateParams(t *Template, v *yaml.Node) {
	if v.Kind != yaml.MappingNode {
		if v.Tag != "!!null" {
			p.errorf(p.pos(v), "", "params: expected a mapping of parameter names to {type, doc, default}, got %s", yamlnode.Describe(v))
		}
		return
	}
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, d := v.Content[i], v.Content[i+1]
		prm := &Param{Name: k.Value, Type: "string", Required: true, pos: p.pos(k)}
		if _, dup := t.params[k.Value]; dup {
			p.errorf(p.pos(k), "", "parameter %q declared twice", k.Value)
			continue
		}
		if !envNameRE.MatchString(strings.ReplaceAll(k.Value, "-", "_")) {
			p.errorf(p.pos(k), "", "invalid parameter name %q: use letters, digits, '_' and '-'", k.Value)
		}
		if d.Kind != yaml.MappingNode {
			p.errorf(p.pos(d), "", "parameter %s: expected a mapping with type, doc and default, got %s", k.Value, yamlnode.Describe(d))
			continue
		}
		p.eachKey(d, "", paramKeys, func(pk, pv *yaml.Node) {
			switch pk.Value {
			case "type":
				prm.Type = p.str(pv, "")
				if !slices.Contains(paramTypes, prm.Type) {
					p.errorf(p.pos(pv), "", "parameter %s: unknown type %q%s (types: %s)", k.Value, prm.Type, suggest(prm.Type, paramTypes), strings.Join(paramTypes, ", "))
					prm.Type = "any"
				}
			case "doc":
				prm.Doc = p.str(pv, "")
			case "default":
				prm.def, prm.Required = pv, false
			case "enum":
				if pv.Kind != yaml.SequenceNode || len(pv.Content) == 0 {
					p.errorf(p.pos(pv), "", "parameter %s: enum: expected a list of values, got %s", k.Value, yamlnode.Describe(pv))
					return
				}
				for _, e := range pv.Content {
					if e.Kind != yaml.ScalarNode {
						p.errorf(p.pos(e), "", "parameter %s: enum: expected single values, got %s", k.Value, yamlnode.Describe(e))
						continue
					}
					prm.Enum = append(prm.Enum, e.Value)
				}
			}
		})
		if prm.def != nil {
			if msg := prm.check(prm.def); msg != "" {
				p.errorf(p.pos(prm.def), "", "parameter %s: default: %s", k.Value, msg)
			}
			b, _ := yaml.Marshal(prm.def)
			prm.Default = strings.TrimSpace(string(b))
		}
		t.params[prm.Name] = prm
		t.Params = append(t.Params, *prm)
	}
}

// templateStageNames reads an `input:` or `output:` value: one or more
// names of the template's stages.
func (p *parser) templateStageNames(t *Template, v *yaml.Node, key string) []string {
	if v == nil {
		return nil
	}
	items := []*yaml.Node{v}
	if v.Kind == yaml.SequenceNode {
		items = v.Content
	}
	var names []string
	for _, it := range items {
		if it.Kind != yaml.ScalarNode || it.Value == "" {
			p.errorf(p.pos(it), "", "%s: expected a stage name of the template, got %s", key, yamlnode.Describe(it))
			continue
		}
		if !slices.Contains(t.Stages, it.Value) {
			p.errorf(p.pos(it), "", "%s: %q doesn't match any stage of the template%s", key, it.Value, suggest(it.Value, t.Stages))
			continue
		}
		names = append(names, it.Value)
	}
	return names
}

// checkRefs checks every ${{ ... }} in the template's stages: each names a
// declared parameter, a reference inside a longer string names one with a
// single value, and every parameter is used.
func (p *parser) checkRefs(t *Template) {
	used := map[string]bool{}
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		switch n.Kind {
		case yaml.MappingNode:
			for i := 1; i < len(n.Content); i += 2 {
				walk(n.Content[i])
			}
		case yaml.SequenceNode:
			for _, c := range n.Content {
				walk(c)
			}
		case yaml.ScalarNode:
			refs := paramRefRE.FindAllStringSubmatchIndex(n.Value, -1)
			whole := len(refs) == 1 && refs[0][0] == 0 && refs[0][1] == len(n.Value)
			for _, m := range refs {
				expr := n.Value[m[2]:m[3]]
				name := paramNameRE.FindStringSubmatch(expr)
				if name == nil {
					p.errorf(p.pos(n), "", "${{ %s }}: expected ${{ params.NAME }}", expr)
					continue
				}
				prm := t.params[name[1]]
				if prm == nil {
					p.errorf(p.pos(n), "", "${{ %s }}: template %s has no parameter %q%s", expr, t.Name, name[1], suggest(name[1], slices.Sorted(maps.Keys(t.params))))
					continue
				}
				used[prm.Name] = true
				if !whole && (prm.Type == "list" || prm.Type == "mapping") {
					p.errorf(p.pos(n), "", "${{ %s }} is inside a string, but parameter %s is a %s: use it as the whole value", expr, prm.Name, prm.Type)
				}
			}
		}
	}
	for _, e := range t.entries {
		walk(e.v)
	}
	for _, prm := range t.Params {
		if !used[prm.Name] {
			p.errorf(prm.pos, "", "parameter %s is declared but never used: refer to it as ${{ params.%s }} or remove it", prm.Name, prm.Name)
		}
	}
}

// check returns what is wrong with v as a value of the parameter, or "".
func (prm *Param) check(v *yaml.Node) string {
	for v.Kind == yaml.AliasNode && v.Alias != nil {
		v = v.Alias
	}
	scalar := v.Kind == yaml.ScalarNode && v.Tag != "!!null"
	bad := func(what string) string { return fmt.Sprintf("expected %s, got %s", what, yamlnode.Describe(v)) }
	switch prm.Type {
	case "string":
		if !scalar {
			return bad("a string")
		}
	case "int":
		if _, err := strconv.ParseInt(v.Value, 0, 64); !scalar || err != nil {
			return bad("an integer")
		}
	case "number":
		if _, err := strconv.ParseFloat(v.Value, 64); !scalar || err != nil {
			return bad("a number")
		}
	case "bool":
		var b bool
		if !scalar || v.Decode(&b) != nil {
			return bad("true or false")
		}
	case "duration":
		if _, err := time.ParseDuration(v.Value); !scalar || err != nil {
			return bad("a duration such as 30s or 1m30s")
		}
	case "size":
		if _, err := stage.ParseByteSize(v.Value); !scalar || err != nil {
			return bad("a size such as 4MiB")
		}
	case "list":
		if v.Kind != yaml.SequenceNode {
			return bad("a list")
		}
	case "mapping":
		if v.Kind != yaml.MappingNode {
			return bad("a mapping")
		}
	}
	if len(prm.Enum) > 0 && (!scalar || !slices.Contains(prm.Enum, v.Value)) {
		return fmt.Sprintf("expected one of %s, got %s%s", strings.Join(prm.Enum, ", "), yamlnode.Describe(v), suggest(v.Value, prm.Enum))
	}
	return ""
}

// loc returns where in the template file a raw template node position is.
func (t *Template) loc(at Pos) Location { return Location{File: t.File, Line: at.Line, Col: at.Col} }

// use is one use of a template: the stage that names it, and the values
// bound to the template's parameters.
type use struct {
	t    *Template
	site *StageConfig
	args map[string]*yaml.Node
}

// stageName is the pipeline name of the template's stage inner.
func (u *use) stageName(inner string) string {
	if len(u.t.Stages) == 1 {
		return u.site.Name
	}
	return u.site.Name + "." + inner
}

// inner is the template's name for the stage named name in the pipeline.
func (u *use) inner(name string) string {
	if len(u.t.Stages) == 1 {
		return u.t.Stages[0]
	}
	return strings.TrimPrefix(name, u.site.Name+".")
}

// isInput reports whether st is one of the template's input stages.
func (u *use) isInput(st *StageConfig) bool { return slices.Contains(u.t.Input, u.inner(st.Name)) }

// outputOf returns the name of the stage whose output a use of t named
// name emits, following templates that use templates; "" when none.
func (p *parser) outputOf(t *Template, name string, stack []string) string {
	if t.Output == "" {
		return ""
	}
	inner := name
	if len(t.Stages) > 1 {
		inner = name + "." + t.Output
	}
	path := p.l.resolveUse(t.uses[t.Output], t.File)
	if path == "" || inStack(stack, path) >= 0 || cleanPath(path) == cleanPath(t.File) {
		return inner // a kind; or a cycle, reported by expand
	}
	inside := p.template(path, t.usesAt[t.Output])
	if inside == nil {
		return inner
	}
	return p.outputOf(inside, inner, append(slices.Clip(stack), t.File))
}

// expand replaces the template use site (a stage whose use: names t) by
// the template's stages, its parameters bound to the site's with: values.
func (p *parser) expand(t *Template, site *StageConfig, outer *scope) []*StageConfig {
	if i := inStack(outer.stack, t.File); i >= 0 {
		p.errorf(site.usePos, site.Name, "template cycle: %s -> %s", strings.Join(outer.stack[i:], " -> "), t.File)
		p.cfg.broken[site.Name] = true
		return nil
	}
	ok := true
	for _, k := range []string{"workers", "ordered", "on_error", "dead_letter"} {
		if at, set := site.fieldPos[k]; set {
			p.errorAt(at, site.Name, []Location{t.loc(t.pos)}, "%s: a template use takes only use:, from: and with:; make it a parameter of template %s", k, t.Name)
			ok = false
		}
	}
	if len(site.From) > 0 && len(t.Input) == 0 {
		p.errorAt(site.fromPos[0], site.Name, []Location{t.loc(t.pos)}, "template %s takes no input (it declares no `input:`): remove from:", t.Name)
		ok = false
	}
	u := &use{t: t, site: site, args: map[string]*yaml.Node{}}
	if outer.use == nil {
		p.cfg.uses[site.Name] = t.Name
	}
	o := &origin{file: t.File, outer: site.usePos.frames(p.file)}
	if !p.bind(u, o) || !ok {
		for _, s := range t.Stages {
			p.cfg.broken[u.stageName(s)] = true
		}
		for _, f := range site.From {
			p.cfg.readBy[f] = true
		}
		return nil
	}
	entries := make([]entry, len(t.entries))
	for i, e := range t.entries {
		entries[i] = entry{p.src.clone(e.k, o), p.substitute(p.src.clone(e.v, o), u)}
	}
	return p.expandScope(entries, &scope{use: u, stack: append(slices.Clip(outer.stack), t.File)})
}

// bind checks the site's with: against the template's parameters and
// binds every parameter to its value or default. o is the origin of the
// template's nodes in this use.
func (p *parser) bind(u *use, o *origin) bool {
	t, site, ok := u.t, u.site, true
	paramsAt := []Location{t.loc(t.pos)}
	names := slices.Sorted(maps.Keys(t.params))
	if w := site.With; w != nil && w.Kind == yaml.MappingNode {
		seen := map[string]bool{}
		for i := 0; i+1 < len(w.Content); i += 2 {
			k, v := w.Content[i], w.Content[i+1]
			prm := t.params[k.Value]
			switch {
			case seen[k.Value]:
				p.errorf(p.pos(k), site.Name, "parameter %s repeated", k.Value)
				ok = false
			case prm == nil:
				list := "it has none"
				if len(names) > 0 {
					list = "parameters: " + strings.Join(names, ", ")
				}
				p.errorAt(p.pos(k), site.Name, paramsAt, "unknown parameter %q of template %s%s (%s)", k.Value, t.Name, suggest(k.Value, names), list)
				ok = false
			default:
				if msg := prm.check(v); msg != "" {
					p.errorAt(p.pos(v), site.Name, []Location{t.loc(prm.pos)}, "parameter %s: %s", k.Value, msg)
					ok = false
				}
				u.args[k.Value] = v
			}
			seen[k.Value] = true
		}
	}
	for _, prm := range t.Params {
		if _, set := u.args[prm.Name]; set {
			continue
		}
		if prm.def == nil {
			doc := ""
			if prm.Doc != "" {
				doc = ": " + prm.Doc
			}
			p.errorAt(site.usePos, site.Name, []Location{t.loc(prm.pos)}, "missing parameter %s of template %s (%s%s)", prm.Name, t.Name, prm.Type, doc)
			ok = false
			continue
		}
		u.args[prm.Name] = p.src.clone(prm.def, o)
	}
	return ok
}

// substitute replaces the parameter references in n, a copy of a template
// node, and returns the node to use in its place.
func (p *parser) substitute(n *yaml.Node, u *use) *yaml.Node {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 1; i < len(n.Content); i += 2 {
			n.Content[i] = p.substitute(n.Content[i], u)
		}
	case yaml.SequenceNode:
		for i := range n.Content {
			n.Content[i] = p.substitute(n.Content[i], u)
		}
	case yaml.ScalarNode:
		refs := paramRefRE.FindAllStringSubmatchIndex(n.Value, -1)
		if len(refs) == 0 {
			return n
		}
		at := u.t.loc(Pos{Line: n.Line, Col: n.Column})
		argOf := func(m []int) *yaml.Node {
			name := paramNameRE.FindStringSubmatch(n.Value[m[2]:m[3]])
			return u.args[name[1]] // checkRefs saw to it that it exists
		}
		if len(refs) == 1 && refs[0][0] == 0 && refs[0][1] == len(n.Value) {
			arg := argOf(refs[0])
			from := origin{file: p.file}
			if ao := p.src[arg]; ao != nil {
				from = *ao
			}
			return p.src.clone(arg, &origin{file: from.file, outer: from.outer, inner: append(slices.Clip(from.inner), at)})
		}
		var b strings.Builder
		last := 0
		for _, m := range refs {
			arg := argOf(m)
			if arg.Kind != yaml.ScalarNode {
				p.errorAt(p.pos(arg), u.site.Name, []Location{at}, "parameter %s is used inside a string, so it must be a single value, got %s", n.Value[m[2]:m[3]], yamlnode.Describe(arg))
				continue
			}
			b.WriteString(n.Value[last:m[0]])
			b.WriteString(arg.Value)
			last = m[1]
		}
		b.WriteString(n.Value[last:])
		n.Value, n.Tag, n.Style = b.String(), "!!str", 0
	}
	return n
}

// inStack returns the index of the file path in stack, comparing
// cleaned absolute paths, or -1.
func inStack(stack []string, path string) int {
	key := cleanPath(path)
	return slices.IndexFunc(stack, func(s string) bool { return cleanPath(s) == key })
}

// cleanPath is the key under which a file is remembered: its absolute
// path when it can be had.
func cleanPath(path string) string {
	if abs, err := filepath.Abs(path); err == nil {
		return abs
	}
	return filepath.Clean(path)
}
