package count

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/stage"
)

// TestWideRecordMemory: counting the attributes of one record with 20,000
// distinct attribute names (issue 14's hostile record, smaller) holds a few
// hundred bytes per attribute. Each attribute's value counter began with a
// 4 KiB arena and a 512-byte table: a 1.4 MB record of 100,000 attributes
// held 465 MB.
func TestWideRecordMemory(t *testing.T) {
	const n = 20000
	var b strings.Builder
	b.WriteString("<r")
	for i := range n {
		fmt.Fprintf(&b, " a%d=\"v\"", i)
	}
	b.WriteString("/>")
	st, err := Kind().Build(&Options{Attributes: true, Output: filepath.Join(t.TempDir(), "o.json")})
	if err != nil {
		t.Fatal(err)
	}
	acc := st.(*Stage).NewAccumulator().(*accumulator)
	if err := acc.Add(context.Background(), &stage.Record{Type: stage.XML, Data: []byte(b.String())}); err != nil {
		t.Fatal(err)
	}
	if got := acc.attrs.distinct(); got != n {
		t.Fatalf("%d distinct attribute values counted, want %d", got, n)
	}
	if per := acc.attrs.memory() / n; per > 512 {
		t.Errorf("%d bytes held per attribute, want at most 512", per)
	}
}
