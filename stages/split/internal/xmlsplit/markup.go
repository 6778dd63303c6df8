package xmlsplit

import (
	"bytes"
	"unicode/utf8"

	"github.com/sluicehq/sluice/sdk/xmlname"
	"github.com/sluicehq/sluice/stages/split/internal/scan"
)

// nameByte is the flag of name bytes in nameTab (package xmlname).
const nameByte = xmlname.Byte

var nameTab = xmlname.Tab

// notSpace returns the index of the first byte of b that is not XML
// white space, or -1.
func notSpace(b []byte) int {
	for i, c := range b {
		if !xmlname.IsSpace(c) {
			return i
		}
	}
	return -1
}

var predefined = map[string]byte{"lt": '<', "gt": '>', "amp": '&', "apos": '\'', "quot": '"'}

// parseRef parses the reference starting at b[i] == '&', which must end
// within b. It returns the index after its ';' and, for a reference to an
// entity other than the five predefined ones, its name. msg is non-empty
// when the reference is invalid by encoding/xml's rules.
func parseRef(b []byte, i int) (end int, name []byte, msg string) {
	j := i + 1
	if j < len(b) && b[j] == '#' {
		j, n, digits := xmlname.CharRefDigits(b, j+1)
		if j >= len(b) || b[j] != ';' {
			return 0, nil, "character reference " + quoteRef(b[i:j]) + " has no closing ;"
		}
		r := rune(n)
		if !digits || n > utf8.MaxRune || !scan.InCharRange(r) {
			return 0, nil, "invalid character reference " + quoteRef(b[i:j+1])
		}
		return j + 1, nil, ""
	}
	ne, _, _ := xmlname.ReadName(b, j)
	if ne == j {
		return 0, nil, "& must start a reference such as &amp; or &#38; (write &amp; for a literal &)"
	}
	if ne >= len(b) || b[ne] != ';' {
		return 0, nil, "entity reference " + quoteRef(b[i:ne]) + " has no closing ; (write &amp; for a literal &)"
	}
	nm := b[j:ne]
	if !xmlname.ValidName(nm) {
		return 0, nil, "invalid entity name in " + quoteRef(b[i:ne+1])
	}
	if _, ok := predefined[string(nm)]; ok {
		return ne + 1, nil, ""
	}
	return ne + 1, nm, ""
}

func quoteRef(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "..."
	}
	return string(b)
}

// decodeValue returns an attribute value with its predefined and
// character references decoded (declared entities are expanded as text).
// It is used for namespace URIs, which rarely hold references.
func decodeValue(raw []byte, ents *entities) string {
	if bytes.IndexByte(raw, '&') < 0 {
		return string(raw)
	}
	var out []byte
	for i := 0; i < len(raw); {
		if raw[i] != '&' {
			out = append(out, raw[i])
			i++
			continue
		}
		end, name, msg := parseRef(raw, i)
		if msg != "" {
			out = append(out, raw[i])
			i++
			continue
		}
		switch {
		case name != nil:
			if e, err := ents.lookup(name); err == nil {
				if exp, err := ents.attrText(e, 0); err == nil {
					out = append(out, decodeValue(exp, ents)...)
				}
			}
		case raw[i+1] == '#':
			out = utf8.AppendRune(out, charRef(raw[i+2:end-1]))
		default:
			out = append(out, predefined[string(raw[i+1:end-1])])
		}
		i = end
	}
	return string(out)
}

// charRef decodes the digits of a valid character reference ("x41" or
// "65"); surrogates decode to U+FFFD as in encoding/xml.
func charRef(d []byte) rune {
	base := uint64(10)
	if len(d) > 0 && d[0] == 'x' {
		base, d = 16, d[1:]
	}
	var n uint64
	for _, c := range d {
		switch {
		case '0' <= c && c <= '9':
			n = n*base + uint64(c-'0')
		case 'a' <= c && c <= 'f':
			n = n*base + uint64(c-'a') + 10
		default:
			n = n*base + uint64(c-'A') + 10
		}
	}
	r := rune(n)
	if !utf8.ValidRune(r) {
		return utf8.RuneError
	}
	return r
}
