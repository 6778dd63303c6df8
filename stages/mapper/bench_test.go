package mapper_test

import (
	"testing"

	"github.com/sluicehq/sluice/stage"
	"github.com/sluicehq/sluice/stages/internal/catalogtest"
	"github.com/sluicehq/sluice/stages/mapper"
)

// BenchmarkMap is the cost of turning a W1 record into a JSON object of
// four fields, on every core: compare it with BenchmarkClassifyW1 in
// stages/classify (one expression) and BenchmarkFilter.
func BenchmarkMap(b *testing.B) {
	recs := catalogtest.Records(b, catalogtest.Document(2000, 1), "cat.xml")
	st, err := mapper.Kind().Build(&mapper.Options{Fields: stage.Pairs{
		{Key: "id", Value: `attr("id")`},
		{Key: "type", Value: `attr("type")`},
		{Key: "title", Value: `text("title")`},
		{Key: "lang", Value: `attr("lang")`},
	}})
	if err != nil {
		b.Fatal(err)
	}
	catalogtest.BenchProcess(b, st.(stage.Processor), recs)
}
