package core

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Config is a parsed pipeline file: what the user asked for, before any
// stage kind is looked up. Plan turns it into a runnable Graph.
type Config struct {
	// File is the name the pipeline was parsed under, used in errors.
	File string
	// Name is the pipeline's `name:`.
	Name string
	// BatchSize is the number of records per batch between stages.
	BatchSize int
	// Queue is the capacity, in batches, of each stage's input channel.
	Queue int
	// Stages are in the order the file lists them.
	Stages []*StageConfig
}

// Default pipeline settings.
const (
	DefaultBatchSize = 512
	DefaultQueue     = 8
)

// ErrorPolicy says what a stage does with a record it cannot process.
type ErrorPolicy string

// The error policies.
const (
	// OnErrorFail cancels the run and reports the record (the default).
	OnErrorFail ErrorPolicy = "fail"
	// OnErrorSkip counts and logs the record, and goes on.
	OnErrorSkip ErrorPolicy = "skip"
	// OnErrorDeadLetter writes the record and the reason to the stage's
	// dead-letter file, and goes on.
	OnErrorDeadLetter ErrorPolicy = "dead_letter"
)

// StageConfig is one entry of `stages:`.
type StageConfig struct {
	Name string
	// Use is the stage kind.
	Use string
	// From lists the stages whose output this stage consumes.
	From []string
	// Workers is the number of concurrent workers; 0 means one per core
	// (`workers: auto`, the default).
	Workers int
	// Ordered keeps the order of input batches in the output.
	Ordered bool
	// OnError is the stage's error policy.
	OnError ErrorPolicy
	// DeadLetter is the dead-letter file for OnErrorDeadLetter.
	DeadLetter string

	pos      Pos            // of the stage's name
	usePos   Pos            // of the `use:` value
	fromPos  []Pos          // of each `from:` entry
	fieldPos map[string]Pos // of each key of the stage mapping
	with     *yaml.Node     // the `with:` mapping, decoded by Plan
}

// Pos is a position in a pipeline file: 1-based line and column.
type Pos struct{ Line, Col int }

func posOf(n *yaml.Node) Pos { return Pos{n.Line, n.Column} }

// KeyDoc documents one key of the pipeline file.
type KeyDoc struct{ Key, Type, Default, Doc string }

var pipelineKeys = []KeyDoc{
	{"name", "string", "", "The pipeline's name, shown in summaries and graphs."},
	{"batch_size", "integer", "512", "Records per batch between stages: larger batches amortise channel costs, smaller ones lower latency and memory."},
	{"queue", "integer", "8", "Capacity of each stage's input channel, in batches; with batch_size it bounds the memory held between two stages."},
	{"stages", "mapping", "", "The stages, by name (letters, digits, `_`, `-`). Each stage is a mapping with the keys below."},
}

var stageKeyDocs = []KeyDoc{
	{"use", "string", "", "The stage kind (see the stage reference). Required."},
	{"from", "string or list", "", "The stage(s) whose output this stage reads. Several names are a fan-in; a stage named by several others is a fan-out (each consumer gets every record). Required except for sources."},
	{"workers", "integer or `auto`", "auto", "Concurrent workers; `auto` is one per core. Sources always run on one."},
	{"ordered", "bool", "false", "Keep input order in the output when workers > 1: each batch's output waits in a bounded queue until the batches before it are sent, so a worker may idle but memory stays bounded."},
	{"on_error", "`fail`, `skip` or `dead_letter`", "fail", "What to do with a record the stage cannot process: stop the run and report it, count and log it, or write it with the reason to the dead-letter file."},
	{"dead_letter", "path", "dead-letters/STAGE.jsonl", "The dead-letter file (JSON lines) for `on_error: dead_letter`."},
	{"with", "mapping", "", "The kind's options. Unknown options are errors."},
}

// PipelineKeys documents the top-level keys of a pipeline file.
func PipelineKeys() []KeyDoc { return append([]KeyDoc(nil), pipelineKeys...) }

// StageKeys documents the keys of each entry of `stages:`.
func StageKeys() []KeyDoc { return append([]KeyDoc(nil), stageKeyDocs...) }

func keyNames(docs []KeyDoc) []string {
	out := make([]string, len(docs))
	for i, d := range docs {
		out[i] = d.Key
	}
	return out
}

var (
	topKeys   = keyNames(pipelineKeys)
	stageKeys = keyNames(stageKeyDocs)
	nameRE    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)
)

// Parse parses a pipeline file. name is used in error messages only, so
// tests can parse bytes with no file behind them. Environment variables
// are interpolated in every scalar value: ${NAME}, ${NAME:-default} (used
// when NAME is unset or empty), and $${ for a literal ${. Every problem is
// reported at once as an ErrorList. As go/parser does, Parse returns what
// it could parse along with the errors (nil only when the file is not a
// YAML mapping), so that Load can report planning problems too.
func Parse(name string, src []byte) (*Config, error) {
	return ParseEnv(name, src, os.LookupEnv)
}

// ParseEnv is Parse with the environment lookup given (os.LookupEnv for
// the process environment).
func ParseEnv(name string, src []byte, lookup func(string) (string, bool)) (*Config, error) {
	p := &parser{file: name, lookup: lookup}
	cfg := p.parse(src)
	p.errs.Sort()
	return cfg, p.errs.Err()
}

type parser struct {
	file   string
	lookup func(string) (string, bool)
	errs   ErrorList
}

func (p *parser) errorf(n Pos, stage, format string, args ...any) {
	p.errs.Add(&Error{File: p.file, Line: n.Line, Col: n.Col, Stage: stage, Msg: fmt.Sprintf(format, args...)})
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func (p *parser) parse(src []byte) *Config {
	cfg := &Config{File: p.file, BatchSize: DefaultBatchSize, Queue: DefaultQueue}
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
		p.errs.Add(&Error{File: p.file, Line: line, Col: 1, Msg: "invalid YAML: " + strings.TrimPrefix(msg, "yaml: ")})
		return nil
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		p.errorf(Pos{1, 1}, "", "empty pipeline: expected a mapping with `stages:`")
		return nil
	}
	p.interpolate(&doc)
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		p.errorf(posOf(root), "", "expected a mapping with `name:` and `stages:`, got %s", describeNode(root))
		return nil
	}
	var stagesNode *yaml.Node
	p.eachKey(root, "", topKeys, func(k, v *yaml.Node) {
		switch k.Value {
		case "name":
			cfg.Name = p.str(v, "")
		case "batch_size":
			cfg.BatchSize = p.positiveInt(v, "", "batch_size")
		case "queue":
			cfg.Queue = p.positiveInt(v, "", "queue")
		case "stages":
			stagesNode = v
		}
	})
	if stagesNode == nil {
		p.errorf(posOf(root), "", "missing `stages:`: a pipeline needs at least one stage")
		return cfg
	}
	if stagesNode.Kind != yaml.MappingNode {
		p.errorf(posOf(stagesNode), "", "`stages:` must be a mapping of stage names to stages, got %s", describeNode(stagesNode))
		return cfg
	}
	if len(stagesNode.Content) == 0 {
		p.errorf(posOf(stagesNode), "", "`stages:` is empty: a pipeline needs at least one stage")
	}
	seen := map[string]Pos{}
	for i := 0; i+1 < len(stagesNode.Content); i += 2 {
		k, v := stagesNode.Content[i], stagesNode.Content[i+1]
		if prev, dup := seen[k.Value]; dup {
			p.errorf(posOf(k), k.Value, "stage defined twice (first at line %d)", prev.Line)
			continue
		}
		seen[k.Value] = posOf(k)
		if !nameRE.MatchString(k.Value) {
			p.errorf(posOf(k), k.Value, "invalid stage name: use letters, digits, '_' and '-', starting with a letter or '_'")
		}
		if sc := p.stage(k, v); sc != nil {
			cfg.Stages = append(cfg.Stages, sc)
		}
	}
	return cfg
}

// eachKey calls f for every key of mapping n that is in allowed, reporting
// unknown and repeated keys.
func (p *parser) eachKey(n *yaml.Node, stage string, allowed []string, f func(k, v *yaml.Node)) {
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if line, dup := seen[k.Value]; dup {
			p.errorf(posOf(k), stage, "%q repeated (first at line %d)", k.Value, line)
			continue
		}
		seen[k.Value] = k.Line
		known := false
		for _, a := range allowed {
			known = known || a == k.Value
		}
		if !known {
			p.errorf(posOf(k), stage, "unknown key %q%s", k.Value, suggest(k.Value, allowed))
			continue
		}
		f(k, v)
	}
}

func (p *parser) stage(k, v *yaml.Node) *StageConfig {
	sc := &StageConfig{Name: k.Value, pos: posOf(k), OnError: OnErrorFail, fieldPos: map[string]Pos{}}
	if v.Kind != yaml.MappingNode {
		p.errorf(posOf(v), sc.Name, "expected a mapping with `use:`, got %s", describeNode(v))
		return nil
	}
	p.eachKey(v, sc.Name, stageKeys, func(k, v *yaml.Node) {
		sc.fieldPos[k.Value] = posOf(v)
		switch k.Value {
		case "use":
			sc.Use, sc.usePos = p.str(v, sc.Name), posOf(v)
			if sc.Use == "" {
				p.errorf(posOf(v), sc.Name, "`use:` must name a stage kind")
			}
		case "from":
			p.from(v, sc)
		case "workers":
			if v.Kind == yaml.ScalarNode && v.Value == "auto" {
				sc.Workers = 0
				return
			}
			sc.Workers = p.positiveInt(v, sc.Name, "workers")
		case "ordered":
			var b bool
			if v.Kind != yaml.ScalarNode || v.Decode(&b) != nil {
				p.errorf(posOf(v), sc.Name, "ordered: expected true or false, got %s", describeNode(v))
			}
			sc.Ordered = b
		case "on_error":
			s := ErrorPolicy(p.str(v, sc.Name))
			switch s {
			case OnErrorFail, OnErrorSkip, OnErrorDeadLetter:
				sc.OnError = s
			default:
				p.errorf(posOf(v), sc.Name, "on_error: expected fail, skip or dead_letter, got %q%s", s, suggest(string(s), []string{"fail", "skip", "dead_letter"}))
			}
		case "dead_letter":
			sc.DeadLetter = p.str(v, sc.Name)
		case "with":
			if v.Kind != yaml.MappingNode && !(v.Kind == yaml.ScalarNode && v.Tag == "!!null") {
				p.errorf(posOf(v), sc.Name, "with: expected a mapping of options, got %s", describeNode(v))
				return
			}
			sc.with = v
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
			p.errorf(posOf(v), sc.Name, "from: empty list: name at least one stage")
		}
	}
	for _, it := range items {
		if it.Kind != yaml.ScalarNode || it.Value == "" {
			p.errorf(posOf(it), sc.Name, "from: expected a stage name or a list of stage names, got %s", describeNode(it))
			continue
		}
		sc.From = append(sc.From, it.Value)
		sc.fromPos = append(sc.fromPos, posOf(it))
	}
}

func (p *parser) str(v *yaml.Node, stage string) string {
	if v.Kind != yaml.ScalarNode {
		p.errorf(posOf(v), stage, "expected a string, got %s", describeNode(v))
		return ""
	}
	return v.Value
}

func (p *parser) positiveInt(v *yaml.Node, stage, key string) int {
	n, err := strconv.Atoi(v.Value)
	if v.Kind != yaml.ScalarNode || err != nil || n < 1 {
		hint := ""
		if key == "workers" {
			hint = " or auto"
		}
		p.errorf(posOf(v), stage, "%s: expected a positive integer%s, got %s", key, hint, describeNode(v))
		return 0
	}
	return n
}

// interpolate replaces environment references in every scalar value (not
// in keys), reporting each problem at its scalar.
func (p *parser) interpolate(n *yaml.Node) {
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for _, c := range n.Content {
			p.interpolate(c)
		}
	case yaml.MappingNode:
		for i := 1; i < len(n.Content); i += 2 {
			p.interpolate(n.Content[i])
		}
	case yaml.ScalarNode:
		if !strings.Contains(n.Value, "${") {
			return
		}
		s, err := expandEnv(n.Value, p.lookup)
		if err != nil {
			p.errorf(posOf(n), "", "%v", err)
			return
		}
		// An interpolated scalar is typed by its new value, quoted or not
		// (quotes are needed in flow style): workers: "${N:-4}" is an int.
		n.Value, n.Tag, n.Style = s, "", 0
	}
}

var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// expandEnv expands ${NAME} and ${NAME:-default}; $${ stands for ${.
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
