package mapper_test

import (
	"context"
	"fmt"

	"github.com/sluicehq/sluice/stage"
	"github.com/sluicehq/sluice/stage/stagetest"
	"github.com/sluicehq/sluice/stages/mapper"
)

// Turn a CSV row into a JSON object of chosen, renamed and computed fields.
func Example() {
	st, err := mapper.Kind().Build(&mapper.Options{Fields: stage.Pairs{
		{Key: "name", Value: `field("title")`},
		{Key: "year", Value: `int(field("year"))`},
		{Key: "old", Value: `int(field("year")) < 1900`},
	}})
	if err != nil {
		fmt.Println(err)
		return
	}
	h := stage.NewHeader([]string{"id", "title", "year"})
	row := stage.Record{Type: stage.CSV, Header: h, Fields: []string{"r1", `A "quoted" title`, "1887"}, Data: []byte(`r1,"A ""quoted"" title",1887`)}
	res, err := stagetest.Run(context.Background(), st, []stage.Record{row}, stagetest.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Records[0].Type, string(res.Records[0].Data))
	// Output:
	// json {"name":"A \"quoted\" title","year":1887,"old":true}
}
