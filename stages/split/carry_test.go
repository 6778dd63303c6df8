package split

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestRangesManyNamespaces checks that byte-range splitting carries the
// same declarations into each record as a sequential split when the scope
// is too large to carry whole (xmlsplit.CarryAll), so each record only
// carries those it uses.
func TestRangesManyNamespaces(t *testing.T) {
	var b strings.Builder
	b.WriteString(`<root xmlns="urn:d"`)
	for i := range 120 {
		fmt.Fprintf(&b, ` xmlns:p%d="urn:example:namespace:%d"`, i, i)
	}
	b.WriteString(">\n")
	for i := range 16 {
		switch i % 4 {
		case 0:
			b.WriteString("<record/>\n")
		case 1:
			fmt.Fprintf(&b, "<record><p%d:a/></record>\n", i)
		case 2:
			fmt.Fprintf(&b, `<g xmlns:p%d="urn:inner"><record t="p%d:x p%d:y"/></g>`+"\n", i, i, i+50)
		default:
			fmt.Fprintf(&b, "<record>&#112;%d:text</record>\n", i)
		}
	}
	b.WriteString("</root>\n")
	s := mustBuild(t, withDefaults(func(o *Options) { o.XML = &XMLOptions{Element: "record"} }))
	path := filepath.Join(t.TempDir(), "in")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	want := sequential(t, s, path, false)
	if !strings.Contains(want.Items[1].Data, `xmlns:p1=`) || strings.Contains(want.Items[0].Data, "xmlns:p") {
		t.Fatalf("the records do not carry what they use only: %q, %q", want.Items[0].Data, want.Items[1].Data)
	}
	n := int64(b.Len())
	for _, chunk := range []int64{7, 97, 500, 1000} {
		if diff := cmp.Diff(want, parallel(t, s, path, chunk, 3, false)); diff != "" {
			t.Fatalf("chunk %d: parallel split differs from sequential (-want +got):\n%s", chunk, diff)
		}
		if diff := cmp.Diff(want, chained(t, s, path, n, chunk, false)); diff != "" {
			t.Fatalf("chunk %d: SplitRange differs from sequential (-want +got):\n%s", chunk, diff)
		}
	}
}
