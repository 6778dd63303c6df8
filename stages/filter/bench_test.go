package filter_test

import (
	"testing"

	"github.com/sluicehq/sluice/stage"
	"github.com/sluicehq/sluice/stages/filter"
	"github.com/sluicehq/sluice/stages/internal/catalogtest"
)

// BenchmarkFilter is the cost of a filter per W1 record, on every core,
// with a condition of the shape of W1's classify rule (an attribute and a
// regular expression over the title's text): compare it with
// BenchmarkClassifyW1 in stages/classify.
func BenchmarkFilter(b *testing.B) {
	recs := catalogtest.Records(b, catalogtest.Document(2000, 1), "cat.xml")
	st, err := filter.Kind().Build(&filter.Options{Keep: `attr("type") != nil && text("title") matches "[0-9]"`})
	if err != nil {
		b.Fatal(err)
	}
	catalogtest.BenchProcess(b, st.(stage.Processor), recs)
}
