package classify_test

import (
	"context"
	"fmt"
	"log"

	stagepkg "github.com/sluicehq/sluice/stage"
	"github.com/sluicehq/sluice/stage/stagetest"
	"github.com/sluicehq/sluice/stages/classify"
)

// Rules are tried in order: a literal category for maps, then the
// reference workload's computed category for everything else.
func Example() {
	stage, err := classify.Kind().Build(&classify.Options{
		Rules: []classify.Rule{
			{When: `attr("type") == "map"`, Category: "maps"},
			{Expr: `(attr("type") ?? "unknown") + (text("title") matches "[0-9]" ? "/numbered" : "/plain")`},
		},
		Labels: map[string]string{"lang": `attr("xml:lang") ?? "und"`},
	})
	if err != nil {
		log.Fatal(err)
	}
	records := []stagepkg.Record{
		{Type: stagepkg.XML, Data: []byte(`<record type="map" xml:lang="de"><title>Alpen</title></record>`)},
		{Type: stagepkg.XML, Data: []byte(`<record type="book"><title>Volume <i>2</i></title></record>`)},
		{Type: stagepkg.XML, Data: []byte(`<record><title>Untitled</title></record>`)},
	}
	res, err := stagetest.Run(context.Background(), stage, records, stagetest.Options{})
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range res.Records {
		fmt.Println(r.Category, r.Labels["lang"])
	}
	// Output:
	// maps de
	// book/numbered und
	// unknown/plain und
}
