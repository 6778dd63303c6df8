package pipeline

import (
	"github.com/sluicehq/sluice/stage"
	"testing"
)

// TestMermaidQuotesLabels: Mermaid ends an unquoted edge label at the first
// "|", so a union of kinds ("xml|csv") must be quoted, and a quote inside a
// label must become an entity.
func TestMermaidQuotesLabels(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{(stage.XML | stage.CSV).String(), `"xml|csv"`},
		{`say "hi" [x]`, `"say #quot;hi#quot; [x]"`},
	} {
		if got := mermaidText(c.in); got != c.want {
			t.Errorf("mermaidText(%q) = %s, want %s", c.in, got, c.want)
		}
	}
}
