package pipeline

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/sluicehq/sluice/internal/yamlnode"
)

// parser reads a pipeline file with its includes, and expands its template
// uses, into one Config. Every node it reads is in src, so that an error
// anywhere can say which file it is in and through which template uses.
type parser struct {
	l    *Loader
	file string // the pipeline file
	cfg  *Config
	errs ErrorList
	src  sources

	defined   map[string]Pos       // stage names at the top level, where defined
	included  map[string]bool      // files included so far
	templates map[string]*Template // templates read, by file; nil for a broken one
}

func newParser(l *Loader, file string) *parser {
	return &parser{
		l: l, file: file, src: sources{},
		defined: map[string]Pos{}, included: map[string]bool{}, templates: map[string]*Template{},
	}
}

// errorAt records a problem at pos; trace adds places that explain it.
func (p *parser) errorAt(at Pos, stage string, trace []Location, format string, args ...any) {
	p.errs.Add(newError(p.file, at, stage, fmt.Sprintf(format, args...), trace...))
}

func (p *parser) errorf(at Pos, stage, format string, args ...any) {
	p.errorAt(at, stage, nil, format, args...)
}

func (p *parser) pos(n *yaml.Node) Pos { return p.src.pos(n) }

// where describes the position of a definition for a "defined twice"
// message: the line when it is in the same file as at, else the place.
func (p *parser) where(first, at Pos) string {
	f, a := first.frames(p.file), at.frames(p.file)
	if f[0].File == a[0].File {
		return fmt.Sprintf("line %d", f[0].Line)
	}
	return f[0].String()
}

// entry is one stage mapping as written: its name and its body.
type entry struct{ k, v *yaml.Node }

func (p *parser) parse(src []byte) *Config {
	cfg := &Config{File: p.file, Files: []string{p.file}, BatchSize: DefaultBatchSize, Queue: DefaultQueue, src: p.src, broken: map[string]bool{}, readBy: map[string]bool{}, inputs: map[string][]string{}, uses: map[string]string{}}
	p.cfg = cfg
	p.included[cleanPath(p.file)] = true
	root := p.readYAML(p.file, src, nil, false)
	if root == nil {
		return nil
	}
	if k, _ := mappingKey(root, "template"); k != nil {
		p.errorf(p.pos(k), "", "this file is a template, not a pipeline: use it from a pipeline's stage (use: ./%s)", p.file)
		return nil
	}
	var entries []entry
	var stagesNode, queueAt *yaml.Node
	hasInclude := false
	p.eachKey(root, "", topKeys, func(k, v *yaml.Node) {
		switch k.Value {
		case "name":
			cfg.Name = p.str(v, "")
		case "batch_size":
			cfg.BatchSize = p.positiveInt(v, "", "batch_size", MaxBatchSize)
		case "queue":
			cfg.Queue = p.positiveInt(v, "", "queue", MaxQueue)
			queueAt = v
		case "include":
			hasInclude = true
			p.include(v, p.file, []string{p.file}, &entries)
		case "stages":
			stagesNode = v
		}
	})
	if n := cfg.BatchSize * cfg.Queue; n > MaxHeld && queueAt != nil {
		p.errorf(p.pos(queueAt), "", "queue: batch_size × queue is %d records held between two stages, more than %d: lower one of them", n, MaxHeld)
	}
	switch {
	case stagesNode != nil:
		p.collect(stagesNode, &entries, hasInclude)
	case !hasInclude:
		p.errorf(p.pos(root), "", "missing `stages:`: a pipeline needs at least one stage")
		return cfg
	}
	if stagesNode == nil && len(entries) == 0 && len(p.errs) == 0 {
		p.errorf(p.pos(root), "", "no stages: the included files define none, and there is no `stages:`")
	}
	cfg.Stages = p.expandScope(entries, &scope{})
	return cfg
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// readYAML parses one file and returns its top node, with environment
// variables interpolated and every node marked with o (nil for the
// pipeline file), or nil after reporting why it could not.
func (p *parser) readYAML(name string, src []byte, o *origin, template bool) *yaml.Node {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		msg, line := err.Error(), 0
		if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
			line, _ = strconv.Atoi(m[1])
			msg = m[2]
			// yaml.v3 reports parser errors (as opposed to scanner errors)
			// at the 0-based line of their context; make it 1-based.
			if strings.HasPrefix(msg, "did not find expected") {
				line++
			}
		}
		p.errorf(Pos{Line: line, Col: 1, src: o}, "", "invalid YAML: %s", strings.TrimPrefix(msg, "yaml: "))
		return nil
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		what := "pipeline: expected a mapping with `stages:`"
		switch {
		case template:
			what = "template: expected a mapping with `template:`, `params:` and `stages:`"
		case o != nil:
			what = "file: expected a mapping with `stages:`"
		}
		p.errorf(Pos{Line: 1, Col: 1, src: o}, "", "empty %s", what)
		return nil
	}
	if what := notLike(doc.Content[0], o != nil, template); what != "" {
		p.errorf(Pos{Line: 1, Col: 1, src: o}, "", "this file does not look like %s (its content is not shown)", what)
		return nil
	}
	if o != nil {
		p.src.mark(&doc, o)
	}
	p.interpolate(&doc, template)
	return doc.Content[0]
}

// notLike says what a file should have been when its top node does not
// look like one (a pipeline, an included file or a template: a mapping
// with one of their keys), and "" when it does. Such a file (a path
// mistyped for another, /etc/shadow) is reported without echoing any of
// its content, which errors about its keys or values would do.
func notLike(root *yaml.Node, included, template bool) string {
	keys, what := topKeys, "a pipeline file: a YAML mapping with `stages:`"
	switch {
	case template:
		keys, what = templateKeys, "a template: a YAML mapping with `template:`, `params:` and `stages:`"
	case included:
		keys, what = []string{"stages", "include", "template"}, "a pipeline file to include: a YAML mapping with `stages:`"
	}
	if root.Kind == yaml.MappingNode {
		for i := 0; i < len(root.Content); i += 2 {
			if slices.Contains(keys, root.Content[i].Value) {
				return ""
			}
		}
	}
	return what
}

// include reads the files named by an `include:` value (in file from),
// adding their stages to entries. stack holds the files being included,
// to report cycles; a file included twice (a diamond) counts once.
func (p *parser) include(v *yaml.Node, from string, stack []string, entries *[]entry) {
	items := []*yaml.Node{v}
	if v.Kind == yaml.SequenceNode {
		items = v.Content
	}
	for _, it := range items {
		if it.Kind != yaml.ScalarNode || it.Value == "" || it.Tag == "!!null" {
			p.errorf(p.pos(it), "", "include: expected a file path or a list of file paths, got %s", yamlnode.Describe(it))
			continue
		}
		path := relTo(from, it.Value)
		key := cleanPath(path)
		if i := inStack(stack, path); i >= 0 {
			p.errorf(p.pos(it), "", "include cycle: %s -> %s", strings.Join(stack[i:], " -> "), path)
			return
		}
		if p.included[key] {
			continue
		}
		p.included[key] = true
		src, err := p.l.Read(path)
		if err != nil {
			p.errorf(p.pos(it), "", "include: %v", err)
			continue
		}
		p.cfg.Files = append(p.cfg.Files, path)
		root := p.readYAML(path, src, &origin{file: path}, false)
		if root == nil {
			continue
		}
		if k, _ := mappingKey(root, "template"); k != nil {
			p.errorf(p.pos(it), "", "%s is a template: use it from a stage (use: %s), not with include:", path, it.Value)
			continue
		}
		var stagesNode *yaml.Node
		kept := &yaml.Node{Kind: yaml.MappingNode}
		for i := 0; i+1 < len(root.Content); i += 2 {
			if k := root.Content[i]; k.Value != "include" && k.Value != "stages" && slices.Contains(topKeys, k.Value) {
				p.errorf(p.pos(k), "", "%s: set it in the pipeline file; an included file has only include: and stages:", k.Value)
				continue
			}
			kept.Content = append(kept.Content, root.Content[i], root.Content[i+1])
		}
		p.eachKey(kept, "", []string{"include", "stages"}, func(k, v *yaml.Node) {
			switch k.Value {
			case "include":
				p.include(v, path, append(slices.Clip(stack), path), entries)
			case "stages":
				stagesNode = v
			}
		})
		if stagesNode != nil {
			p.collect(stagesNode, entries, true)
		}
	}
}

// collect appends the entries of a `stages:` mapping, reporting names
// defined twice in any of the files.
func (p *parser) collect(stagesNode *yaml.Node, entries *[]entry, emptyOK bool) {
	if stagesNode.Kind != yaml.MappingNode {
		if !emptyOK || stagesNode.Tag != "!!null" {
			p.errorf(p.pos(stagesNode), "", "`stages:` must be a mapping of stage names to stages, got %s", yamlnode.Describe(stagesNode))
		}
		return
	}
	if len(stagesNode.Content) == 0 && !emptyOK {
		p.errorf(p.pos(stagesNode), "", "`stages:` is empty: a pipeline needs at least one stage")
	}
	for i := 0; i+1 < len(stagesNode.Content); i += 2 {
		k, v := stagesNode.Content[i], stagesNode.Content[i+1]
		at := p.pos(k)
		if prev, dup := p.defined[k.Value]; dup {
			p.errorf(at, k.Value, "stage defined twice (first at %s)", p.where(prev, at))
			continue
		}
		p.defined[k.Value] = at
		if !nameRE.MatchString(k.Value) {
			p.errorf(at, k.Value, "invalid stage name: use letters, digits, '_' and '-', starting with a letter or '_'")
		}
		*entries = append(*entries, entry{k, v})
	}
}

// scope is a set of stage entries whose from: names refer to each other:
// the pipeline with its includes, or the stages of one template use.
type scope struct {
	use   *use     // the template use; nil at the top level
	stack []string // template files being expanded, outermost first
}

// expandScope parses the entries of one scope into stage configs,
// expanding template uses, and resolves from: names within the scope.
func (p *parser) expandScope(entries []entry, sc *scope) []*StageConfig {
	type parsed struct {
		st   *StageConfig
		tmpl *Template
	}
	var list []parsed
	refs := map[string]string{} // entry name → stage name to read; "" when it has none
	tmplOf := map[string]*Template{}
	for _, e := range entries {
		name := e.k.Value
		if sc.use != nil {
			name = sc.use.stageName(e.k.Value)
		}
		st := p.stage(e.k, e.v, name)
		if st == nil {
			p.cfg.broken[name] = true
			continue
		}
		var t *Template
		if path := p.l.resolveUse(st.Use, p.fileOf(e.v)); path != "" {
			st.Template = path
			t = p.template(path, st.usePos)
			if t == nil {
				p.cfg.broken[name] = true
				for _, f := range st.From {
					p.cfg.readBy[f] = true
				}
				continue
			}
			tmplOf[e.k.Value] = t
		}
		refs[e.k.Value] = name
		if t != nil {
			refs[e.k.Value] = p.outputOf(t, name, sc.stack)
		}
		list = append(list, parsed{st, t})
	}
	var out []*StageConfig
	for _, it := range list {
		st := it.st
		p.resolveFrom(st, refs, tmplOf, sc)
		if sc.use != nil && sc.use.isInput(st) {
			st.From = append(st.From, sc.use.site.From...)
			st.fromPos = append(st.fromPos, sc.use.site.fromPos...)
		}
		if sc.use != nil && sc.use.t.Output == sc.use.inner(st.Name) {
			st.ref = sc.use.site.ref
		}
		input := sc.use != nil && sc.use.isInput(st)
		if it.tmpl == nil {
			if sc.use != nil {
				st.Template = sc.use.t.File
			}
			if input {
				p.cfg.inputs[sc.use.site.Name] = append(p.cfg.inputs[sc.use.site.Name], st.Name)
			}
			out = append(out, st)
			continue
		}
		out = append(out, p.expand(it.tmpl, st, sc)...)
		if input {
			p.cfg.inputs[sc.use.site.Name] = append(p.cfg.inputs[sc.use.site.Name], p.cfg.inputs[st.Name]...)
		}
	}
	return out
}

// resolveFrom rewrites the from: names of st, written in scope sc, to the
// names of the stages they refer to.
func (p *parser) resolveFrom(st *StageConfig, refs map[string]string, tmplOf map[string]*Template, sc *scope) {
	for i, from := range st.From {
		ref, ok := refs[from]
		switch {
		case ok && ref == "":
			p.errorf(st.fromPos[i], st.Name, "input %q uses template %s, which has no output (it declares no `output:`)", from, tmplOf[from].Name)
			if sc.use != nil {
				st.From[i] = sc.use.stageName(from)
			}
			p.cfg.broken[st.From[i]] = true
		case ok:
			st.From[i] = ref
		case sc.use != nil && !p.cfg.broken[sc.use.stageName(from)]:
			names := make([]string, 0, len(refs))
			for n := range refs {
				names = append(names, n)
			}
			p.errorf(st.fromPos[i], st.Name, "input %q doesn't match any stage of template %s%s", from, sc.use.t.Name, suggest(from, names))
			st.From[i] = sc.use.stageName(from)
			p.cfg.broken[st.From[i]] = true
		case sc.use != nil:
			st.From[i] = sc.use.stageName(from) // broken: reported already
		}
	}
}

// fileOf returns the file node n was read from.
func (p *parser) fileOf(n *yaml.Node) string {
	if o := p.src[n]; o != nil {
		return o.file
	}
	return p.file
}

// eachKey calls f for every key of mapping n that is in allowed, reporting
// unknown and repeated keys.
func (p *parser) eachKey(n *yaml.Node, stage string, allowed []string, f func(k, v *yaml.Node)) {
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if line, dup := seen[k.Value]; dup {
			p.errorf(p.pos(k), stage, "%q repeated (first at line %d)", k.Value, line)
			continue
		}
		seen[k.Value] = k.Line
		known := false
		for _, a := range allowed {
			known = known || a == k.Value
		}
		if !known {
			p.errorf(p.pos(k), stage, "unknown key %q%s", k.Value, suggest(k.Value, allowed))
			continue
		}
		f(k, v)
	}
}

// mappingKey returns the key and value nodes of key in mapping n.
func mappingKey(n *yaml.Node, key string) (k, v *yaml.Node) {
	if n.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i], n.Content[i+1]
		}
	}
	return nil, nil
}

// stage parses one stage mapping; name is the stage's name in the
// pipeline (prefixed when it comes from a template).
func (p *parser) stage(k, v *yaml.Node, name string) *StageConfig {
	sc := &StageConfig{Name: name, ref: name, pos: p.pos(k), OnError: OnErrorFail, fieldPos: map[string]Pos{}}
	if v.Kind != yaml.MappingNode {
		p.errorf(p.pos(v), sc.Name, "expected a mapping with `use:`, got %s", yamlnode.Describe(v))
		return nil
	}
	p.eachKey(v, sc.Name, stageKeys, func(k, v *yaml.Node) {
		sc.fieldPos[k.Value] = p.pos(v)
		switch k.Value {
		case "use":
			sc.Use, sc.usePos = p.str(v, sc.Name), p.pos(v)
			if sc.Use == "" {
				p.errorf(p.pos(v), sc.Name, "`use:` must name a stage kind or a template")
			}
		case "from":
			p.from(v, sc)
		case "workers":
			if v.Kind == yaml.ScalarNode && v.Value == "auto" {
				sc.Workers = 0
				return
			}
			sc.Workers = p.positiveInt(v, sc.Name, "workers", MaxWorkers)
		case "ordered":
			var b bool
			if v.Kind != yaml.ScalarNode || v.Decode(&b) != nil {
				p.errorf(p.pos(v), sc.Name, "ordered: expected true or false, got %s", yamlnode.Describe(v))
			}
			sc.Ordered = b
		case "on_error":
			s := ErrorPolicy(p.str(v, sc.Name))
			switch s {
			case OnErrorFail, OnErrorSkip, OnErrorDeadLetter:
				sc.OnError = s
			default:
				p.errorf(p.pos(v), sc.Name, "on_error: expected fail, skip or dead_letter, got %q%s", s, suggest(string(s), []string{"fail", "skip", "dead_letter"}))
			}
		case "dead_letter":
			sc.DeadLetter = p.str(v, sc.Name)
		case "with":
			if v.Kind != yaml.MappingNode && !(v.Kind == yaml.ScalarNode && v.Tag == "!!null") {
				p.errorf(p.pos(v), sc.Name, "with: expected a mapping of options, got %s", yamlnode.Describe(v))
				return
			}
			sc.With = v
		}
	})
	if _, ok := sc.fieldPos["use"]; !ok {
		p.errorf(sc.pos, sc.Name, "missing `use:` (the stage kind)")
	}
	if sc.DeadLetter != "" && sc.OnError != OnErrorDeadLetter {
		p.errorf(sc.fieldPos["dead_letter"], sc.Name, "dead_letter is set but on_error is %q: set on_error: dead_letter", sc.OnError)
	}
	if sc.OnError == OnErrorDeadLetter && sc.DeadLetter == "" {
		sc.DeadLetter = "dead-letters/" + sc.Name + ".jsonl"
	}
	return sc
}

func (p *parser) from(v *yaml.Node, sc *StageConfig) {
	items := []*yaml.Node{v}
	if v.Kind == yaml.SequenceNode {
		items = v.Content
		if len(items) == 0 {
			p.errorf(p.pos(v), sc.Name, "from: empty list: name at least one stage")
		}
	}
	for _, it := range items {
		if it.Kind != yaml.ScalarNode || it.Value == "" {
			p.errorf(p.pos(it), sc.Name, "from: expected a stage name or a list of stage names, got %s", yamlnode.Describe(it))
			continue
		}
		sc.From = append(sc.From, it.Value)
		sc.fromPos = append(sc.fromPos, p.pos(it))
	}
}

func (p *parser) str(v *yaml.Node, stage string) string {
	if v.Kind != yaml.ScalarNode {
		p.errorf(p.pos(v), stage, "expected a string, got %s", yamlnode.Describe(v))
		return ""
	}
	return v.Value
}

// positiveInt reads an integer from 1 to most, reporting anything else at
// v.
func (p *parser) positiveInt(v *yaml.Node, stage, key string, most int) int {
	n, err := strconv.Atoi(v.Value)
	if v.Kind == yaml.ScalarNode && (n > most || errors.Is(err, strconv.ErrRange)) {
		p.errorf(p.pos(v), stage, "%s: at most %d, got %s: a larger value would exhaust memory at run time", key, most, v.Value)
		return 0
	}
	if v.Kind != yaml.ScalarNode || err != nil || n < 1 {
		hint := ""
		if key == "workers" {
			hint = " or auto"
		}
		p.errorf(p.pos(v), stage, "%s: expected a positive integer%s, got %s", key, hint, yamlnode.Describe(v))
		return 0
	}
	return n
}

// interpolate replaces environment references in every scalar value (not
// in keys), reporting each problem at its scalar. Template parameter
// references (${{ params.x }}) are left for template expansion, and are
// errors outside a template.
func (p *parser) interpolate(n *yaml.Node, template bool) {
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for _, c := range n.Content {
			p.interpolate(c, template)
		}
	case yaml.MappingNode:
		for i := 1; i < len(n.Content); i += 2 {
			p.interpolate(n.Content[i], template)
		}
	case yaml.ScalarNode:
		if !strings.Contains(n.Value, "${") {
			return
		}
		s, err := expandEnv(n.Value, p.l.lookupEnv)
		if err != nil {
			p.errorf(p.pos(n), "", "%v", err)
			return
		}
		if !template && strings.Contains(n.Value, "${{") {
			p.errorf(p.pos(n), "", "%s: template parameters can only be used in a template file (a file with `template:`)", strings.TrimSpace(n.Value))
			return
		}
		if s == n.Value {
			return
		}
		// An interpolated scalar is typed by its new value, quoted or not
		// (quotes are needed in flow style): workers: "${N:-4}" is an int.
		n.Value, n.Tag, n.Style = s, "", 0
	}
}

var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// expandEnv expands ${NAME} and ${NAME:-default}; $${ stands for ${.
// Template parameter references, ${{ ... }}, are kept as they are.
func expandEnv(s string, lookup func(string) (string, bool)) (string, error) {
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		if i > 0 && s[i-1] == '$' {
			b.WriteString(s[:i]) // keeps one '$' of "$${"
			b.WriteString("{")
			s = s[i+2:]
			continue
		}
		if strings.HasPrefix(s[i:], "${{") {
			end := strings.Index(s[i:], "}}")
			if end < 0 {
				return "", fmt.Errorf("unterminated ${{ in %q: write ${{ params.NAME }}", s)
			}
			b.WriteString(s[:i+end+2])
			s = s[i+end+2:]
			continue
		}
		b.WriteString(s[:i])
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return "", fmt.Errorf("unterminated ${ in %q: write ${NAME} or ${NAME:-default} (or $${ for a literal ${)", s)
		}
		ref := s[i+2 : i+end]
		name, def, hasDef := strings.Cut(ref, ":-")
		if !envNameRE.MatchString(name) {
			return "", fmt.Errorf("invalid environment variable name %q in ${%s}", name, ref)
		}
		val, ok := lookup(name)
		switch {
		case ok && val != "":
			b.WriteString(val)
		case hasDef:
			b.WriteString(def)
		case ok:
			// set but empty, no default: empty
		default:
			return "", fmt.Errorf("environment variable %s is not set (give a default with ${%s:-value})", name, name)
		}
		s = s[i+end+1:]
	}
}
