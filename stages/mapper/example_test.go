package mapper_test

import (
	"context"
	"fmt"

	"github.com/sluicehq/sluice/core"
	"github.com/sluicehq/sluice/core/coretest"
	"github.com/sluicehq/sluice/stages/mapper"
)

// Turn a CSV row into a JSON object of chosen, renamed and computed fields.
func Example() {
	st, err := mapper.Kind().Build(&mapper.Options{Fields: core.Pairs{
		{Key: "name", Value: `field("title")`},
		{Key: "year", Value: `int(field("year"))`},
		{Key: "old", Value: `int(field("year")) < 1900`},
	}})
	if err != nil {
		fmt.Println(err)
		return
	}
	h := core.NewHeader([]string{"id", "title", "year"})
	row := core.Record{Type: core.CSV, Header: h, Fields: []string{"r1", `A "quoted" title`, "1887"}, Data: []byte(`r1,"A ""quoted"" title",1887`)}
	res, err := coretest.Run(context.Background(), st, []core.Record{row}, coretest.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Records[0].Type, string(res.Records[0].Data))
	// Output:
	// json {"name":"A \"quoted\" title","year":1887,"old":true}
}
