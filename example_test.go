package sluice_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/engine"
	"github.com/sluicehq/sluice/stage"
)

// Load a pipeline file and run it: the report says what each stage did.
func Example() {
	dir, _ := os.MkdirTemp("", "sluice-example-")
	defer os.RemoveAll(dir)
	os.WriteFile(filepath.Join(dir, "words.txt"), []byte("alpha\nb2\ngamma\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "pipeline.yaml"), []byte(`name: words
stages:
  input: {use: read, with: {path: "${DIR}/words.txt"}}
  lines: {use: split, from: input, with: {lines: {}}}
  sorted:
    use: classify
    from: lines
    with: {rules: [{expr: 'line matches "[0-9]" ? "digits" : "letters"'}]}
  files: {use: write, from: sorted, with: {dir: "${DIR}/out", by: category}}
`), 0o644)

	eng := sluice.New(sluice.WithEnv(func(name string) (string, bool) { return dir, name == "DIR" }))
	g, err := eng.LoadFile(filepath.Join(dir, "pipeline.yaml"))
	if err != nil {
		fmt.Println(err)
		return
	}
	rep, err := eng.Run(context.Background(), g, engine.RunOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(rep.Status)
	for _, s := range rep.Stages {
		fmt.Printf("%s: %d in, %d out\n", s.Name, s.In, s.Out)
	}
	letters, _ := os.ReadFile(filepath.Join(dir, "out", "letters.txt"))
	fmt.Printf("letters.txt: %q\n", letters)
	// Output:
	// ok
	// input: 0 in, 1 out
	// lines: 1 in, 3 out
	// sorted: 3 in, 3 out
	// files: 3 in, 0 out
	// letters.txt: "alpha\ngamma\n"
}

// shoutOptions are the options of the shout kind, decoded from `with:`
// like a built-in kind's: unknown keys and wrong types are errors at
// their line and column.
type shoutOptions struct {
	Suffix string `yaml:"suffix" doc:"Appended to each line."`
}

// shout is a Processor: it upper-cases line records.
type shout struct{ suffix string }

func (s *shout) Signature() stage.Signature {
	return stage.Signature{In: stage.Line, Out: stage.Line}
}

func (s *shout) Process(ctx context.Context, r *stage.Record, out stage.Emitter) error {
	up := *r // records are read-only: emit a changed copy
	up.Data = []byte(strings.ToUpper(string(r.Data)) + s.suffix)
	return out.Emit(&up)
}

// Add a stage kind of your own: it is used from pipelines exactly as the
// built-in kinds are, and its options are checked the same way.
func ExampleWithKinds() {
	dir, _ := os.MkdirTemp("", "sluice-example-")
	defer os.RemoveAll(dir)
	os.WriteFile(filepath.Join(dir, "words.txt"), []byte("alpha\nbeta\n"), 0o644)

	eng := sluice.New(sluice.WithKinds(stage.Define("shout", "Upper-cases lines.", nil,
		func() *shoutOptions { return &shoutOptions{Suffix: "!"} },
		func(o *shoutOptions) (stage.Stage, error) { return &shout{o.Suffix}, nil })))

	src := `stages:
  input: {use: read, with: {path: DIR/words.txt}}
  lines: {use: split, from: input, with: {lines: {}}}
  loud: {use: shout, from: lines, workers: 2, ordered: true, with: {suffix: "!!"}}
  out: {use: write, from: loud, with: {dir: DIR/out}}
`
	g, err := eng.Load("pipeline.yaml", []byte(strings.ReplaceAll(src, "DIR", dir)))
	if err != nil {
		fmt.Println(err)
		return
	}
	if _, err := eng.Run(context.Background(), g, engine.RunOptions{}); err != nil {
		fmt.Println(err)
		return
	}
	b, _ := os.ReadFile(filepath.Join(dir, "out", "uncategorised.txt"))
	fmt.Print(string(b))

	// A mistake in the custom kind's options is reported like any other.
	_, err = eng.Load("pipeline.yaml", []byte(strings.ReplaceAll(src, "suffix:", "sufix:")))
	fmt.Println(err)
	// Output:
	// ALPHA!!
	// BETA!!
	// pipeline.yaml:4:69: stage "loud": unknown option "sufix" (did you mean "suffix"?)
}

// An engine offering only its own kinds: the options are applied at New,
// in any order, and the engine does not change afterwards.
func ExampleEngine_Kinds() {
	shoutKind := stage.Define("shout", "Upper-cases lines.", nil,
		func() *shoutOptions { return &shoutOptions{} },
		func(o *shoutOptions) (stage.Stage, error) { return &shout{o.Suffix}, nil })
	eng := sluice.New(sluice.WithKinds(shoutKind), sluice.WithoutBuiltins())
	for _, k := range eng.Kinds() {
		fmt.Printf("%s: %s\n", k.Name, k.Summary)
	}
	_, err := eng.Load("p.yaml", []byte("stages:\n  in: {use: read, with: {path: x}}\n"))
	fmt.Println(err)
	// Output:
	// shout: Upper-cases lines.
	// p.yaml:2:13: stage "in": unknown stage kind "read" (known kinds: shout)
}
