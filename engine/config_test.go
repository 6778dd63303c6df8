package engine_test

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/pipeline"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestConfigErrors plans every pipeline in testdata/errors and compares the
// full error text with its .golden file (go test -update rewrites them).
func TestConfigErrors(t *testing.T) {
	files, err := filepath.Glob("testdata/errors/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no test pipelines: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".yaml"), func(t *testing.T) {
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			t.Setenv("SET_EMPTY", "")
			_, err = pipeline.Load(filepath.Base(file), src, newWorld().reg)
			if err == nil {
				t.Fatal("pipeline planned without error; every file in testdata/errors must fail")
			}
			got := err.Error() + "\n"
			golden := strings.TrimSuffix(file, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("errors differ\n--- got\n%s--- want\n%s", got, want)
			}
		})
	}
}

func TestErrorListErr(t *testing.T) {
	var l pipeline.ErrorList
	if l.Err() != nil {
		t.Fatal("empty list must give a nil error, not a typed nil")
	}
	l.Add(&pipeline.Error{File: "p.yaml", Line: 3, Col: 5, Stage: "x", Msg: "boom"})
	if got, want := l.Err().Error(), `p.yaml:3:5: stage "x": boom`; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestEnvInterpolation(t *testing.T) {
	env := map[string]string{"DIR": "/data", "N": "3", "EMPTY": ""}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	tests := []struct {
		name, value, want, err string
	}{
		{name: "plain", value: "${DIR}/x", want: "/data/x"},
		{name: "default unused", value: "${DIR:-/tmp}", want: "/data"},
		{name: "default used", value: "${NOPE:-/tmp}", want: "/tmp"},
		{name: "empty uses default", value: "${EMPTY:-d}", want: "d"},
		{name: "escaped", value: "$${DIR}", want: "${DIR}"},
		{name: "two", value: "${DIR}-${N}", want: "/data-3"},
		{name: "unset", value: "${NOPE}", err: "environment variable NOPE is not set"},
		{name: "unterminated", value: "${DIR", err: "unterminated ${"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := "stages:\n  g: {use: gen, with: {prefix: \"" + tc.value + "\"}}\n  s: {use: sink, from: g}\n"
			cfg, err := pipeline.ParseEnv("p.yaml", []byte(src), lookup)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got error %v, want one containing %q", err, tc.err)
				}
				if !strings.HasPrefix(err.Error(), "p.yaml:2:") {
					t.Errorf("error %q is not positioned at line 2", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			w := newWorld()
			g, err := pipeline.Plan(cfg, w.reg)
			if err != nil {
				t.Fatal(err)
			}
			if got := g.Nodes[0].Stage.(*gen).opts.Prefix; got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestEnvTypesAPlainScalar(t *testing.T) {
	src := "stages:\n  g: {use: gen, workers: 1, with: {count: \"${N:-7}\"}}\n  s:\n    use: sink\n    from: g\n    workers: ${W:-2}\n"
	cfg, err := pipeline.ParseEnv("p.yaml", []byte(src), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	g, err := pipeline.Plan(cfg, newWorld().reg)
	if err != nil {
		t.Fatal(err)
	}
	if got := g.Nodes[0].Stage.(*gen).opts.Count; got != 7 {
		t.Errorf("count = %d, want 7", got)
	}
	if got := g.Nodes[1].Workers; got != 2 {
		t.Errorf("workers = %d, want 2", got)
	}
}

func TestOptionsDecode(t *testing.T) {
	src := `stages:
  g:
    use: gen
    with:
      count: 5
      nested: {depth: 2, tags: solo}
      timeout: 1500ms
      size: 2MiB
  s: {use: sink, from: g}
`
	cfg, err := pipeline.Parse("p.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	g, err := pipeline.Plan(cfg, newWorld().reg)
	if err != nil {
		t.Fatal(err)
	}
	o := g.Nodes[0].Stage.(*gen).opts
	if o.Count != 5 || o.Prefix != "r" || o.Nested.Depth != 2 || len(o.Nested.Tags) != 1 || o.Nested.Tags[0] != "solo" ||
		o.Timeout.String() != "1.5s" || o.Size != 2<<20 {
		t.Fatalf("decoded %+v", o)
	}
}

func TestDescribeOptions(t *testing.T) {
	k, _ := newWorld().reg.Lookup("gen")
	docs := pipeline.DescribeOptions(k)
	var paths []string
	for _, d := range docs {
		paths = append(paths, d.Path+"="+d.Type+"="+d.Default)
	}
	got := strings.Join(paths, " ")
	want := "count=integer=10 prefix=string=r nested=mapping= nested.depth=integer= nested.tags=list of string= timeout=duration= size=size="
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/errors/*.yaml")
	for _, s := range seeds {
		b, _ := os.ReadFile(s)
		f.Add(b)
	}
	f.Add([]byte("stages:\n  g: {use: gen}\n  s: {use: sink, from: [g]}\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		cfg, err := pipeline.ParseEnv("f.yaml", src, func(string) (string, bool) { return "v", true })
		if err != nil {
			if el, ok := err.(pipeline.ErrorList); !ok || len(el) == 0 {
				t.Fatalf("error is not a non-empty ErrorList: %T %v", err, err)
			}
			return
		}
		g, err := pipeline.Plan(cfg, newWorld().reg)
		if err == nil && len(g.Nodes) == 0 {
			t.Fatal("planned an empty graph without error")
		}
	})
}
