package stages_test

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	pipelinepkg "github.com/sluicehq/sluice/pipeline"
	stagepkg "github.com/sluicehq/sluice/stage"
	"github.com/sluicehq/sluice/stages"
)

// boundedOption is an integer option of a stage kind and its bound.
type boundedOption struct {
	kind, path string
	max        int64
	size       bool // a stagepkg.ByteSize
}

// integerOptions walks the options struct type t and returns every integer
// option in it (sizes included, durations not), failing the test for one
// that declares no bound with a `max` tag: a new unbounded option cannot
// slip in (issue 14 item 7).
func integerOptions(t *testing.T, kind string, typ reflect.Type, path string) []boundedOption {
	var out []boundedOption
	for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice || typ.Kind() == reflect.Map {
		if typ.Kind() == reflect.Slice && path != "" {
			path += "[0]" // the first item of a list of option structs
		}
		typ = typ.Elem()
	}
	if typ.Kind() != reflect.Struct {
		return nil
	}
	for i := range typ.NumField() {
		f := typ.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		p := name
		if path != "" {
			p = path + "." + name
		}
		ft := f.Type
		switch ft.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			if ft == reflect.TypeOf(stagepkg.Duration(0)) {
				continue // a time, not a size
			}
			limit, ok := pipelinepkg.OptionMax(f)
			if !ok {
				t.Errorf("stage kind %s: integer option %s has no upper bound: add a max tag (e.g. max:\"65536\" or max:\"1GiB\") that keeps it from exhausting memory", kind, p)
				continue
			}
			out = append(out, boundedOption{kind, p, limit, ft == reflect.TypeOf(stagepkg.ByteSize(0))})
		default:
			out = append(out, integerOptions(t, kind, ft, p)...)
		}
	}
	return out
}

// baseOptions are options that make each kind's `with:` complete, so that
// the only problem in a test pipeline is the one under test.
var baseOptions = map[string]string{
	"read":     `{path: in.xml}`,
	"split":    `{xml: {element: record}}`,
	"classify": `{plugin: {command: [classifier]}}`,
	"count":    `{by: [category], output: counts.csv}`,
	"write":    `{dir: out, by: category}`,
}

// baseItems are the options that make the first item of a list of option
// structs complete, by the list's path.
var baseItems = map[string]string{
	"count/aggregate": `{name: n, fn: distinct, value: category}`,
}

// TestEveryIntegerOptionBounded sets every integer option of every built-in
// kind just above its bound, and at it: above, `sluice validate` (Load)
// must refuse it at the value's line and column, saying the bound; at the
// bound, it must not complain about it (the kind's own checks agree).
func TestEveryIntegerOptionBounded(t *testing.T) {
	var opts []boundedOption
	for _, k := range stages.Registry().Kinds() {
		opts = append(opts, integerOptions(t, k.Name, reflect.TypeOf(k.Defaults()), "")...)
	}
	if len(opts) < 10 {
		t.Fatalf("found %d integer options; the walk misses some", len(opts))
	}
	for _, o := range opts {
		t.Run(o.kind+"/"+o.path, func(t *testing.T) {
			for _, v := range []int64{o.max + 1, o.max} {
				src, line := pipelineSetting(t, o, v)
				_, err := pipelinepkg.Load("p.yaml", []byte(src), stages.Registry())
				msg := ""
				if err != nil {
					msg = err.Error()
				}
				bound := strconv.FormatInt(o.max, 10)
				if o.size {
					bound = stagepkg.ByteSize(o.max).String()
				}
				want := fmt.Sprintf(`stage "t": %s: at most %s, got %d`, o.path, bound, v)
				at := fmt.Sprintf("p.yaml:%d:", line)
				if v > o.max && !strings.Contains(msg, at) || v > o.max && !strings.Contains(msg, want) {
					t.Errorf("%s: %d: want %q at %s, got:\n%s\npipeline:\n%s", o.path, v, want, at, msg, src)
				}
				if v == o.max && strings.Contains(msg, o.path[strings.LastIndex(o.path, ".")+1:]+":") {
					t.Errorf("%s at its bound %d is refused:\n%s\npipeline:\n%s", o.path, v, msg, src)
				}
			}
		})
	}
}

// pipelineSetting returns a pipeline whose stage "t" has option o set to
// v, and the line of the value.
func pipelineSetting(t *testing.T, o boundedOption, v int64) (string, int) {
	t.Helper()
	var with map[string]any
	if err := yaml.Unmarshal([]byte(baseOptions[o.kind]), &with); err != nil || with == nil {
		t.Fatalf("no base options for kind %s", o.kind)
	}
	m := with
	parts := strings.Split(o.path, ".")
	for _, p := range parts[:len(parts)-1] {
		if list, ok := strings.CutSuffix(p, "[0]"); ok {
			var item map[string]any
			if err := yaml.Unmarshal([]byte(baseItems[o.kind+"/"+list]), &item); err != nil || item == nil {
				t.Fatalf("no base item for %s/%s", o.kind, list)
			}
			m[list] = []any{item}
			m = item
			continue
		}
		sub, _ := m[p].(map[string]any)
		if sub == nil {
			sub = map[string]any{}
			m[p] = sub
		}
		m = sub
	}
	m[parts[len(parts)-1]] = v
	stage := map[string]any{"use": o.kind, "with": with}
	pipeline := map[string]any{"stages": map[string]any{"t": stage}}
	if o.kind != "read" {
		stage["from"] = "src"
		pipeline["stages"].(map[string]any)["src"] = map[string]any{"use": "read", "with": map[string]any{"path": "in.xml"}}
	}
	b, err := yaml.Marshal(pipeline)
	if err != nil {
		t.Fatal(err)
	}
	src := string(b)
	i := strings.Index(src, " "+strconv.FormatInt(v, 10)+"\n")
	if i < 0 {
		t.Fatalf("value not found in:\n%s", src)
	}
	return src, strings.Count(src[:i], "\n") + 1
}

// TestPipelineSettingsBounded: the reproductions, batch_size:
// 1000000000 and queue: 100000000000, and workers, are refused by
// validate at their position.
func TestPipelineSettingsBounded(t *testing.T) {
	for _, tc := range []struct{ setting, want string }{
		{"batch_size: 1000000000\n", "p.yaml:1:13: batch_size: at most 65536, got 1000000000"},
		{"queue: 100000000000\n", "p.yaml:1:8: queue: at most 4096, got 100000000000"},
		{"queue: 99999999999999999999999\n", "p.yaml:1:8: queue: at most 4096, got 99999999999999999999999"},
		{"batch_size: 65536\nqueue: 64\n", "p.yaml:2:8: queue: batch_size × queue is 4194304 records held between two stages, more than 1048576"},
		{"stages:\n  src: {use: read, with: {path: in.xml}, workers: 5000}\n", `p.yaml:2:51: stage "src": workers: at most 1024, got 5000`},
	} {
		src := tc.setting
		if !strings.Contains(src, "stages:") {
			src += "stages:\n  src: {use: read, with: {path: in.xml}}\n"
		}
		src += "  sink: {use: count, from: src, with: {by: [category], output: c.csv}}\n"
		_, err := pipelinepkg.Load("p.yaml", []byte(src), stages.Registry())
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.setting, err, tc.want)
		}
	}
	// At the bounds: no complaint.
	src := "batch_size: 65536\nqueue: 16\nstages:\n  src: {use: read, with: {path: in.xml}, workers: 1024}\n  sink: {use: count, from: src, with: {by: [category], output: c.csv}}\n"
	if _, err := pipelinepkg.Load("p.yaml", []byte(src), stages.Registry()); err != nil && strings.Contains(err.Error(), "at most") {
		t.Errorf("settings at their bounds refused: %v", err)
	}
}
