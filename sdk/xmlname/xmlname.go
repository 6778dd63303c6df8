// Package xmlname holds the lexical rules that the two byte-level XML
// readers (the splitter and the record view) share: the bytes of names
// (Tab, ReadName) and the name tables of XML 1.0 fifth edition
// (ValidName, Names), character references, white space, the end of a
// <!...> declaration as encoding/xml finds it (DirectiveEnd), and the
// pseudo-attributes of <?xml ...?>.
package xmlname

import (
	"bytes"
	"unicode/utf8"
)

// Flags of a byte in Tab. A name ends at the first byte with no flag;
// bytes >= 0x80 are taken (High) and the name is then checked against
// the XML name tables (ValidName).
const (
	Byte  = 1 // may be part of a name
	First = 2 // may start a name (ASCII letter, '_', ':')
	Colon = 4 // the prefix separator
	High  = 8 // a byte of a multi-byte UTF-8 sequence
)

// Tab holds the flags of every byte value. It is read-only.
var Tab = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', c == '_':
			t[c] = Byte | First
		case c == ':':
			t[c] = Byte | First | Colon
		case '0' <= c && c <= '9', c == '.', c == '-':
			t[c] = Byte
		case c >= 0x80:
			t[c] = Byte | High
		}
	}
	return t
}()

// ReadName returns the end of the name starting at b[i] (the first byte
// with no flag in Tab, or len(b)), the union of its bytes' flags, and its
// number of colons. It checks no name rule: see Names.
func ReadName(b []byte, i int) (end int, flags uint8, colons int) {
	for ; i < len(b); i++ {
		f := Tab[b[i]]
		if f&Byte == 0 {
			break
		}
		flags |= f
		colons += int(f>>2) & 1
	}
	return i, flags, colons
}

// Names checks names against the tables of XML 1.0 fifth edition,
// remembering the answers for names with non-ASCII bytes (up to 4096 of
// them; a document uses few names). The zero Names is ready to use; it is
// not safe for concurrent use.
type Names struct {
	m map[string]bool
}

// maxNames bounds the answers a Names remembers.
const maxNames = 4096

// Read reports whether name, read by ReadName with the given flags and
// not empty, is an XML name. An ASCII name costs one table lookup.
func (c *Names) Read(name []byte, flags uint8) bool {
	if flags&High == 0 {
		return Tab[name[0]]&First != 0
	}
	return c.high(name)
}

// Valid reports whether name, any bytes, is an XML name (ValidName).
func (c *Names) Valid(name []byte) bool {
	if len(name) == 0 {
		return false
	}
	high := false
	for _, b := range name {
		if f := Tab[b]; f&Byte == 0 {
			return false
		} else if f&High != 0 {
			high = true
		}
	}
	if !high {
		return Tab[name[0]]&First != 0
	}
	return c.high(name)
}

// high is ValidName for a name with non-ASCII bytes, remembered.
func (c *Names) high(name []byte) bool {
	if ok, hit := c.m[string(name)]; hit {
		return ok
	}
	ok := ValidName(name)
	if c.m == nil {
		c.m = map[string]bool{}
	}
	if len(c.m) < maxNames {
		c.m[string(name)] = ok
	}
	return ok
}

// DirectiveEnd returns the index just past the '>' that ends the <!...>
// declaration starting at b[i] ("<!"), found as encoding/xml finds it:
// the byte after "<!" is taken as is, quoted strings and nested <...>
// pairs do not end it, and <!-- --> comments inside are skipped. It
// returns -1 when b ends first; inComment then says whether b ended in a
// comment. It checks nothing else.
func DirectiveEnd(b []byte, i int) (end int, inComment bool) {
	k := i + 3
	var inquote byte
	depth := 0
	for {
		if k >= len(b) {
			return -1, false
		}
		c := b[k]
		k++
		if inquote == 0 && c == '>' && depth == 0 {
			return k, false
		}
	handle:
		switch {
		case c == inquote:
			inquote = 0
		case inquote != 0:
		case c == '\'' || c == '"':
			inquote = c
		case c == '>':
			depth--
		case c == '<':
			const open = "!--"
			for j := 0; j < len(open); j++ {
				if k >= len(b) {
					return -1, false
				}
				if b[k] != open[j] {
					depth++
					c = b[k]
					k++
					goto handle
				}
				k++
			}
			e := bytes.Index(b[k:], commentEnd)
			if e < 0 {
				return -1, true
			}
			k += e + 3
		}
	}
}

var commentEnd = []byte("-->")

// CharRefDigits scans the number of a character reference, starting at
// b[j] just after "&#": an optional 'x', then decimal (or, after 'x',
// hexadecimal) digits. It returns the index of the first byte that is not
// a digit, the value, and whether any digit was read. The value stops
// growing once it is past utf8.MaxRune, so it cannot overflow; callers
// reject it then.
func CharRefDigits(b []byte, j int) (end int, n uint64, digits bool) {
	hex := j < len(b) && b[j] == 'x'
	if hex {
		j++
	}
	start := j
	for ; j < len(b); j++ {
		c := b[j]
		var d uint64
		switch {
		case '0' <= c && c <= '9':
			d = uint64(c - '0')
		case hex && 'a' <= c && c <= 'f':
			d = uint64(c-'a') + 10
		case hex && 'A' <= c && c <= 'F':
			d = uint64(c-'A') + 10
		default:
			return j, n, j > start
		}
		if n <= utf8.MaxRune {
			if hex {
				n = n*16 + d
			} else {
				n = n*10 + d
			}
		}
	}
	return j, n, j > start
}

// IsSpace reports whether c is XML white space.
func IsSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// SkipSpace returns the index of the first byte of b at or after i that is
// not white space, or len(b).
func SkipSpace(b []byte, i int) int {
	for i < len(b) && IsSpace(b[i]) {
		i++
	}
	return i
}

// PseudoAttr returns the value of the pseudo-attribute param (version,
// encoding) in s, the content of an <?xml ...?> declaration, or "" when it
// is absent; it reads s as encoding/xml's procInst does.
func PseudoAttr(param string, s []byte) string {
	param += "="
	lenp := len(param)
	i := 0
	var sep byte
	for i < len(s) {
		sub := s[i:]
		k := bytes.Index(sub, []byte(param))
		if k < 0 || lenp+k >= len(sub) {
			return ""
		}
		i += lenp + k + 1
		if c := sub[lenp+k]; c == '\'' || c == '"' {
			sep = c
			break
		}
	}
	if sep == 0 {
		return ""
	}
	j := bytes.IndexByte(s[i:], sep)
	if j < 0 {
		return ""
	}
	return string(s[i : i+j])
}

// ValidName reports whether name is valid UTF-8 and an XML name by the
// tables of XML 1.0 fifth edition (productions [4] and [4a]), which
// expat and libxml2 apply; encoding/xml still has the fourth edition's.
// It costs one rune decode per non-ASCII character.
func ValidName(name []byte) bool {
	if len(name) == 0 {
		return false
	}
	for i := 0; i < len(name); {
		c := name[i]
		if c < utf8.RuneSelf {
			if Tab[c]&Byte == 0 || i == 0 && Tab[c]&First == 0 {
				return false
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(name[i:])
		if r == utf8.RuneError && n == 1 || !nameChar(r, i == 0) {
			return false
		}
		i += n
	}
	return true
}

// nameChar reports whether the non-ASCII rune r is a NameStartChar (when
// first) or a NameChar.
func nameChar(r rune, first bool) bool {
	switch {
	case 0xC0 <= r && r <= 0xD6, 0xD8 <= r && r <= 0xF6, 0xF8 <= r && r <= 0x2FF,
		0x370 <= r && r <= 0x37D, 0x37F <= r && r <= 0x1FFF, 0x200C <= r && r <= 0x200D,
		0x2070 <= r && r <= 0x218F, 0x2C00 <= r && r <= 0x2FEF, 0x3001 <= r && r <= 0xD7FF,
		0xF900 <= r && r <= 0xFDCF, 0xFDF0 <= r && r <= 0xFFFD, 0x10000 <= r && r <= 0xEFFFF:
		return true
	}
	return !first && (r == 0xB7 || 0x300 <= r && r <= 0x36F || 0x203F <= r && r <= 0x2040)
}
