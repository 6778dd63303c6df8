package xmlname

import (
	"encoding/xml"
	"testing"
)

// TestTabMatchesEncodingXML checks every ASCII byte against encoding/xml:
// a byte flagged First must start a name it accepts, a byte flagged Byte
// must continue one, and a byte with no flag must end one.
func TestTabMatchesEncodingXML(t *testing.T) {
	parses := func(name string) bool {
		return xml.Unmarshal([]byte("<"+name+"/>"), new(struct{})) == nil
	}
	for c := 0x21; c < 0x80; c++ {
		s := string(rune(c))
		if c == ':' || c == '/' || c == '>' {
			continue // a lone colon, or a byte that ends the tag itself
		}
		if got, want := Tab[c]&First != 0, parses(s+"a"); got != want {
			t.Errorf("%q starts a name: table says %v, encoding/xml %v", s, got, want)
		}
		if got, want := Tab[c]&Byte != 0, parses("a"+s+"b"); got != want {
			t.Errorf("%q inside a name: table says %v, encoding/xml %v", s, got, want)
		}
	}
}
