package plugins

import (
	"testing"

	"github.com/sluicehq/sluice/core"
	"github.com/sluicehq/sluice/sdk/protocol"
)

// TestKindsRoundTrip checks that every record type a plugin classifies goes
// over the wire as its own kind and comes back from Describe as itself.
func TestKindsRoundTrip(t *testing.T) {
	for _, typ := range []core.Type{core.XML, core.CSV, core.Line, core.JSON} {
		if got := accepted([]protocol.Kind{kindOf(typ)}); got != typ {
			t.Errorf("%v went over the wire and came back as %v", typ, got)
		}
	}
	if got := kindOf(core.File); got != protocol.KindUnspecified {
		t.Errorf("a file record has kind %v, want unspecified", got)
	}
	if got := accepted(nil); got != core.Records {
		t.Errorf("a plugin that names no kind accepts %v, want every record type", got)
	}
	if got := accepted([]protocol.Kind{protocol.CSV, protocol.XML, protocol.CSV}); got != core.CSV|core.XML {
		t.Errorf("accepts %v, want csv and xml", got)
	}
}
