package filter_test

import (
	"context"
	"fmt"

	"github.com/sluicehq/sluice/stage"
	"github.com/sluicehq/sluice/stage/stagetest"
	"github.com/sluicehq/sluice/stages/filter"
)

// Drop the DEBUG lines of a JSON-lines log; the other lines pass unchanged.
func Example() {
	st, err := filter.Kind().Build(&filter.Options{Drop: `json("level") == "DEBUG"`})
	if err != nil {
		fmt.Println(err)
		return
	}
	var in []stage.Record
	for _, line := range []string{`{"level":"INFO","msg":"up"}`, `{"level":"DEBUG","msg":"tick"}`, `{"level":"WARN","msg":"slow"}`} {
		in = append(in, stage.Record{Type: stage.JSON, Data: []byte(line)})
	}
	res, err := stagetest.Run(context.Background(), st, in, stagetest.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range res.Records {
		fmt.Println(string(r.Data))
	}
	// Output:
	// {"level":"INFO","msg":"up"}
	// {"level":"WARN","msg":"slow"}
}
