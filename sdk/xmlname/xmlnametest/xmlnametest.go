// Package xmlnametest helps tests that use encoding/xml as an oracle for
// readers that apply the name tables of XML 1.0 fifth edition
// (xmlname.ValidName), where encoding/xml keeps the fourth edition's.
package xmlnametest

import (
	"encoding/xml"
	"unicode/utf8"

	"github.com/sluicehq/sluice/sdk/xmlname"
)

// EditionsDiffer reports whether data holds a character that the fifth
// and fourth editions' name tables (xmlname and encoding/xml) class
// differently, at the start of a name or inside one: where they do, the
// two oracles may rightly disagree about a document. Cost: one
// encoding/xml parse per distinct non-ASCII character.
func EditionsDiffer(data []byte) bool {
	seen := map[rune]bool{}
	for len(data) > 0 {
		r, n := utf8.DecodeRune(data)
		data = data[n:]
		if r < utf8.RuneSelf || r == utf8.RuneError || seen[r] {
			continue
		}
		seen[r] = true
		c := string(r)
		if xmlname.ValidName([]byte(c)) != fourth(c) || xmlname.ValidName([]byte("a"+c)) != fourth("a"+c) {
			return true
		}
	}
	return false
}

// fourth reports whether encoding/xml takes name as an element name.
func fourth(name string) bool {
	var v struct{ XMLName xml.Name }
	return xml.Unmarshal([]byte("<"+name+"/>"), &v) == nil && v.XMLName.Local == name
}
