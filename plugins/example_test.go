package plugins

import (
	"context"
	"fmt"

	"github.com/sluicehq/sluice/stage"
)

// A classify stage starts its pool in Setup, classifies each batch of
// records, and closes the pool in Teardown. (testPlugin is the path of a
// plugin executable: the tests build one.)
func ExampleStart() {
	ctx := context.Background()
	cfg := DefaultConfig()
	cfg.Command = []string{testPlugin}
	cfg.Instances = 2
	cfg.Config = map[string]any{"prefix": "seen:"}
	pool, err := Start(ctx, cfg, "labelled", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer pool.Close(ctx)

	results, err := pool.Classify(ctx, []stage.Record{
		{Type: stage.Line, Data: []byte("first")},
		{Type: stage.Line, Data: []byte("REJECT me")},
		{Type: stage.Line, Data: []byte("third")},
	})
	if err != nil {
		fmt.Println(err) // the stage cannot go on
		return
	}
	for _, r := range results {
		if r.Err != nil {
			fmt.Println("rejected:", r.Err) // for the stage's on_error
			continue
		}
		fmt.Println(r.Category)
	}
	// Output:
	// seen:FIRST
	// rejected: plugin "testplugin": cannot classify "REJECT me"
	// seen:THIRD
}
