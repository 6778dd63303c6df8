package xmlsplit

import (
	"bytes"
	"unicode/utf8"

	"github.com/sluicehq/sluice/sdk/xmlname"
	"github.com/sluicehq/sluice/stages/split/internal/scan"
)

// Name bytes (package xmlname).
const (
	nameByte  = xmlname.Byte
	nameFirst = xmlname.First
	nameColon = xmlname.Colon
	nameHigh  = xmlname.High
)

var nameTab = xmlname.Tab

// readName returns the end of the name starting at buf[i], the union of
// its bytes' flags, and its number of colons.
func readName(buf []byte, i int) (end int, flags uint8, colons int) {
	for ; i < len(buf); i++ {
		f := nameTab[buf[i]]
		if f&nameByte == 0 {
			break
		}
		flags |= f
		colons += int(f>>2) & 1
	}
	return i, flags, colons
}

// validQName checks an element or attribute name: a valid XML name with
// at most one colon (the Namespaces rules on colons are checked by
// checkQName).
func (s *Splitter) validQName(name []byte, flags uint8, colons int) bool {
	if colons > 1 {
		return false
	}
	if flags&nameHigh == 0 {
		return nameTab[name[0]]&nameFirst != 0
	}
	return s.validName(name)
}

func (s *Splitter) validName(name []byte) bool {
	if s.nameCache == nil {
		s.nameCache = map[string]bool{}
	}
	return validName(name, s.nameCache)
}

// validName reports whether name is an XML name (XML 1.0 fifth edition,
// xmlname.ValidName). Names with non-ASCII bytes are rare; their answers
// are cached when cache is not nil.
func validName(name []byte, cache map[string]bool) bool {
	if len(name) == 0 {
		return false
	}
	ascii := true
	for _, c := range name {
		if c >= utf8.RuneSelf {
			ascii = false
		} else if nameTab[c]&nameByte == 0 {
			return false
		}
	}
	if ascii {
		return nameTab[name[0]]&nameFirst != 0
	}
	if ok, hit := cache[string(name)]; hit {
		return ok
	}
	ok := xmlname.ValidName(name)
	if cache != nil && len(cache) < 4096 {
		cache[string(name)] = ok
	}
	return ok
}

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
	ne, _, _ := readName(b, j)
	if ne == j {
		return 0, nil, "& must start a reference such as &amp; or &#38; (write &amp; for a literal &)"
	}
	if ne >= len(b) || b[ne] != ';' {
		return 0, nil, "entity reference " + quoteRef(b[i:ne]) + " has no closing ; (write &amp; for a literal &)"
	}
	nm := b[j:ne]
	if !validName(nm, nil) {
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
