package pipeline

import (
	"encoding"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/sluicehq/sluice/internal/yamlnode"
	"github.com/sluicehq/sluice/stage"
)

// decodeOptions decodes node (a stage's `with:` mapping, or nil) into dst, a
// pointer to an options struct, checking every key against the struct's
// yaml tags. yaml.v3's Node.Decode ignores KnownFields, so the walk is done
// here, which also keeps a position for every problem. It returns the
// problems and, for each decoded option path, its node (for positioning
// errors that the build step reports later).
func decodeOptions(node *yaml.Node, dst any, src sources, file string) (ErrorList, map[string]*yaml.Node) {
	d := &optionDecoder{nodes: map[string]*yaml.Node{}, src: src, file: file}
	if node != nil {
		d.value(node, reflect.ValueOf(dst).Elem(), "")
		d.checkEnums(reflect.ValueOf(dst).Elem(), "")
	}
	return d.errs, d.nodes
}

type optionDecoder struct {
	errs  ErrorList
	nodes map[string]*yaml.Node
	src   sources // where the nodes come from
	file  string  // the pipeline file
}

func (d *optionDecoder) fail(n *yaml.Node, format string, args ...any) {
	d.errs.Add(newError(d.file, d.src.pos(n), "", fmt.Sprintf(format, args...)))
}

var (
	unmarshalerType     = reflect.TypeOf((*yaml.Unmarshaler)(nil)).Elem()
	textUnmarshalerType = reflect.TypeOf((*encoding.TextUnmarshaler)(nil)).Elem()
)

// newWithDefaults returns a pointer to a new t, with SetDefaults applied
// when *t implements Defaulter.
func newWithDefaults(t reflect.Type) reflect.Value {
	p := reflect.New(t)
	if d, ok := p.Interface().(stage.Defaulter); ok {
		d.SetDefaults()
	}
	return p
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func (d *optionDecoder) value(n *yaml.Node, v reflect.Value, path string) {
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	d.nodes[path] = n
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return // an empty value keeps the default
	}
	if v.Type() == pairsType {
		d.pairs(n, v, path)
		return
	}
	if v.CanAddr() && v.Addr().Type().Implements(unmarshalerType) {
		if err := n.Decode(v.Addr().Interface()); err != nil {
			d.fail(n, "%s: %s", path, cleanYAMLError(err))
		}
		return
	}
	if v.CanAddr() && v.Addr().Type().Implements(textUnmarshalerType) {
		// An option type of the stage contract, which knows no YAML: it
		// reads the scalar's text (a mapping's is empty, and rejected).
		if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(n.Value)); err != nil {
			d.fail(n, "%s: %s", path, cleanYAMLError(err))
		}
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(newWithDefaults(v.Type().Elem()))
		}
		d.value(n, v.Elem(), path)
	case reflect.Struct:
		d.structValue(n, v, path)
	case reflect.Slice:
		items := n.Content
		switch {
		case n.Kind == yaml.ScalarNode && isScalarKind(v.Type().Elem().Kind()):
			items = []*yaml.Node{n} // `by: category` means `by: [category]`
		case n.Kind != yaml.SequenceNode:
			d.fail(n, "%s: expected a list, got %s", path, yamlnode.Describe(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(items), len(items))
		for i, item := range items {
			d.value(item, s.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
		v.Set(s)
	case reflect.Map:
		if n.Kind != yaml.MappingNode || v.Type().Key().Kind() != reflect.String {
			d.fail(n, "%s: expected a mapping, got %s", path, yamlnode.Describe(n))
			return
		}
		if v.IsNil() {
			v.Set(reflect.MakeMap(v.Type()))
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			elem := reflect.New(v.Type().Elem()).Elem()
			d.value(val, elem, join(path, k.Value))
			v.SetMapIndex(reflect.ValueOf(k.Value).Convert(v.Type().Key()), elem)
		}
	case reflect.Interface:
		var x any
		if err := n.Decode(&x); err != nil {
			d.fail(n, "%s: %s", path, cleanYAMLError(err))
			return
		}
		if x != nil {
			v.Set(reflect.ValueOf(x))
		}
	default:
		if n.Kind != yaml.ScalarNode {
			d.fail(n, "%s: expected %s, got %s", path, describeType(v.Type()), yamlnode.Describe(n))
			return
		}
		if err := n.Decode(v.Addr().Interface()); err != nil {
			d.fail(n, "%s: expected %s, got %q", path, describeType(v.Type()), n.Value)
		}
	}
}

func (d *optionDecoder) structValue(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.fail(n, "%s: expected a mapping, got %s", orOptions(path), yamlnode.Describe(n))
		return
	}
	fields := optionFields(v.Type())
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	sort.Strings(names)
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if prev, dup := seen[k.Value]; dup {
			d.fail(k, "%s: repeated (first at line %d)", join(path, k.Value), prev.Line)
			continue
		}
		seen[k.Value] = k
		idx, ok := fields[k.Value]
		if !ok {
			d.fail(k, "unknown option %q%s", join(path, k.Value), suggest(k.Value, names))
			continue
		}
		d.value(val, v.FieldByIndex(idx), join(path, k.Value))
		d.checkMax(val, v.Type().FieldByIndex(idx), v.FieldByIndex(idx), join(path, k.Value))
	}
}

// OptionMax returns the upper bound that an option field declares with its
// `max` tag (`max:"65536"`, `max:"1GiB"`), and whether it declares one.
// Every integer and size option of a stage kind declares one, so that
// `sluice validate` refuses a value that would exhaust memory at run time
// (batch_size: 1000000000); the decoder reports a value above it at its
// position. A malformed tag is a programmer error and panics.
func OptionMax(f reflect.StructField) (int64, bool) {
	tag, ok := f.Tag.Lookup("max")
	if !ok {
		return 0, false
	}
	v, err := stage.ParseByteSize(tag)
	if err != nil {
		panic(fmt.Sprintf("option field %s: invalid max tag %q", f.Name, tag))
	}
	return int64(v), true
}

// checkMax reports the integer option v, decoded from n, when it exceeds
// the bound its field f declares.
func (d *optionDecoder) checkMax(n *yaml.Node, f reflect.StructField, v reflect.Value, path string) {
	limit, ok := OptionMax(f)
	if !ok {
		return
	}
	var x int64
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		x = v.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if v.Uint() > uint64(limit) {
			x = limit + 1
		}
	default:
		return
	}
	if x > limit {
		d.fail(n, "%s: at most %s, got %s: a larger value would exhaust memory or handles at run time", path, formatBound(v.Type(), limit), n.Value)
	}
}

// formatBound writes a bound as its option is written: a size with its
// unit, a count as a number.
func formatBound(t reflect.Type, n int64) string {
	if t == reflect.TypeOf(stage.ByteSize(0)) {
		return stage.ByteSize(n).String()
	}
	return strconv.FormatInt(n, 10)
}

func orOptions(path string) string {
	if path == "" {
		return "with"
	}
	return path
}

// optionName is the key of an options struct's field: its yaml tag's name,
// or its name in lower case; ok is false for a field that is no option
// (unexported, or tagged yaml:"-").
func optionName(f reflect.StructField) (name string, ok bool) {
	if !f.IsExported() {
		return "", false
	}
	name, _, _ = strings.Cut(f.Tag.Get("yaml"), ",")
	switch name {
	case "-":
		return "", false
	case "":
		return strings.ToLower(f.Name), true
	}
	return name, true
}

// optionFields maps yaml keys to struct field indexes.
func optionFields(t reflect.Type) map[string][]int {
	out := map[string][]int{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, ok := optionName(f)
		if !ok {
			continue
		}
		out[name] = f.Index
	}
	return out
}

func isScalarKind(k reflect.Kind) bool {
	switch k {
	case reflect.String, reflect.Bool, reflect.Int, reflect.Int64, reflect.Int32,
		reflect.Uint, reflect.Uint64, reflect.Float64:
		return true
	}
	return false
}

func describeType(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a non-negative integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "a mapping"
	}
	return t.String()
}

// cleanYAMLError strips yaml.v3's "yaml: unmarshal errors:\n  line N: "
// framing, since our errors carry the position already.
func cleanYAMLError(err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg := te.Errors[0]
		if i := strings.Index(msg, ": "); strings.HasPrefix(msg, "line ") && i > 0 {
			msg = msg[i+2:]
		}
		return msg
	}
	return strings.TrimPrefix(err.Error(), "yaml: ")
}

// OptionDoc describes one option of a stage kind, for `sluice stages` and
// the README's reference.
type OptionDoc struct {
	Path    string // dotted yaml key
	Type    string // "string", "integer", "list of string", ...
	Default string // the default, formatted as YAML; "" when empty
	Doc     string // from the field's `doc` tag
}

// DescribeOptions lists the options of a kind with their defaults, walking
// nested structs. Fields without a doc tag are listed all the same.
func DescribeOptions(k stage.Kind) []OptionDoc {
	var out []OptionDoc
	describeStruct(reflect.ValueOf(k.Defaults()).Elem(), "", &out)
	return out
}

func describeStruct(v reflect.Value, path string, out *[]OptionDoc) {
	eachOption(v, func(name string, f reflect.StructField, fv, sub reflect.Value) {
		p, doc := join(path, name), f.Tag.Get("doc")
		if sub.IsValid() {
			*out = append(*out, OptionDoc{Path: p, Type: "mapping", Doc: doc})
			describeStruct(sub, p, out)
			return
		}
		if limit, ok := OptionMax(f); ok {
			doc += " At most " + formatBound(f.Type, limit) + "."
		}
		*out = append(*out, OptionDoc{Path: p, Type: typeName(f.Type), Default: formatDefault(fv), Doc: doc})
	})
}

func typeName(t reflect.Type) string {
	switch t {
	case reflect.TypeOf(stage.Duration(0)):
		return "duration"
	case reflect.TypeOf(stage.ByteSize(0)):
		return "size"
	case pairsType:
		return "ordered mapping"
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "bool"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Struct || (t.Elem().Kind() == reflect.Pointer && t.Elem().Elem().Kind() == reflect.Struct) {
			return "list of mappings"
		}
		return "list of " + typeName(t.Elem())
	case reflect.Map:
		return "mapping"
	case reflect.Interface:
		return "any"
	case reflect.Pointer:
		return typeName(t.Elem())
	}
	return t.String()
}

func formatDefault(v reflect.Value) string {
	if v.IsZero() {
		return ""
	}
	if s, ok := v.Interface().(fmt.Stringer); ok {
		return s.String()
	}
	b, err := yaml.Marshal(v.Interface())
	if err != nil {
		return fmt.Sprint(v.Interface())
	}
	s := strings.TrimSpace(string(b))
	if strings.Contains(s, "\n") {
		b, _ := yaml.Marshal(v.Interface())
		var node yaml.Node
		_ = yaml.Unmarshal(b, &node)
		node.Content[0].Style = yaml.FlowStyle
		f, _ := yaml.Marshal(node.Content[0])
		s = strings.TrimSpace(string(f))
	}
	return s
}

// checkEnums reports each string option of the options struct v that is
// tagged enum:"a|b|c", was set, and holds none of those values.
func (d *optionDecoder) checkEnums(v reflect.Value, path string) {
	eachOption(v, func(name string, f reflect.StructField, fv, sub reflect.Value) {
		p := join(path, name)
		n, set := d.nodes[p]
		switch enum := f.Tag.Get("enum"); {
		case !set:
		case sub.IsValid():
			d.checkEnums(sub, p)
		case enum != "" && fv.Kind() == reflect.String && fv.String() != "":
			if values := strings.Split(enum, "|"); !slices.Contains(values, fv.String()) {
				d.fail(n, "%s: expected one of %s, got %q%s", p, strings.Join(values, ", "), fv.String(), suggest(fv.String(), values))
			}
		}
	})
}

// eachOption calls fn for each option of the options struct v (holding
// defaults), in field order, with its field and value. For a nested
// options struct (a struct, or a pointer to one, that does not decode
// itself), sub is that struct, with its defaults when the pointer is nil;
// otherwise sub is the zero Value.
func eachOption(v reflect.Value, fn func(name string, f reflect.StructField, fv, sub reflect.Value)) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, ok := optionName(f)
		if !ok {
			continue
		}
		fv := v.Field(i)
		var sub reflect.Value
		switch ft := f.Type; {
		case ft.Kind() == reflect.Pointer && ft.Elem().Kind() == reflect.Struct && !decodesItself(ft.Elem()):
			sub = fv
			if sub.IsNil() {
				sub = newWithDefaults(ft.Elem())
			}
			sub = sub.Elem()
		case ft.Kind() == reflect.Struct && !decodesItself(ft):
			sub = fv
		}
		fn(name, f, fv, sub)
	}
}

// decodesItself says whether a *t is a yaml.Unmarshaler or an
// encoding.TextUnmarshaler.
func decodesItself(t reflect.Type) bool {
	pt := reflect.PointerTo(t)
	return pt.Implements(unmarshalerType) || pt.Implements(textUnmarshalerType)
}
