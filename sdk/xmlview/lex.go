package xmlview

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/bits"
	"unicode/utf8"
	"unsafe"

	"github.com/sluicehq/sluice/sdk/xmlname"
)

// The byte-level rules below are encoding/xml's (Decoder.RawToken with
// Strict set), reimplemented over a []byte so that a record is lexed in
// one pass without a token allocation: the Parser must accept exactly the
// records encoding/xml accepts (plus its own namespace and structure
// checks), which FuzzTree checks against encoding/xml itself.

// nameByte is the flag of name bytes in nameTab (package xmlname).
const nameByte = xmlname.Byte

var nameTab = xmlname.Tab

// Bytes of character data that the fast scans stop at. Bytes >= 0x80 are
// checked as UTF-8 in place; the others need decoding or are errors.
const (
	inText  = 1 // text content: '<' (its end), '&', ']' (for "]]>"), '\r', controls
	inAttr  = 2 // attribute values: '&', '<', '\r', controls
	inCDATA = 4 // CDATA sections: '\r', controls
	highBit = 8
)

var charTab = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		switch {
		case c >= 0x80:
			t[c] = highBit | inText | inAttr | inCDATA
		case c == '\t' || c == '\n':
		case c < 0x20: // '\r' included: it is rewritten to '\n'
			t[c] = inText | inAttr | inCDATA
		case c == '&':
			t[c] = inText | inAttr
		case c == ']':
			t[c] = inText
		case c == '<':
			t[c] = inAttr | inText
		}
	}
	return t
}()

// splitQName splits the name data[qs:qe] as encoding/xml does: "p:l" has
// prefix p (data[ps:pe]) and local part l (data[ls:qe]); a name with no
// colon, or with a colon first or last, is all local part. Names with more
// than one colon are rejected earlier.
func splitQName(data []byte, qs, qe, colons int) (ps, pe, ls int) {
	if colons == 0 {
		return qs, qs, qs
	}
	i := qs + bytes.IndexByte(data[qs:qe], ':')
	if i == qs || i == qe-1 {
		return qs, qs, qs
	}
	return qs, i, i + 1
}

// str returns b as a string sharing b's memory. Record bytes are never
// modified once a stage has emitted them (stage.Record's contract), which
// is what makes this safe for the Parser's inputs; see Parser.
func str(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// scanPlain returns the index of the first byte of data[a:b] that the
// mask of charTab stops at and that is not part of valid UTF-8 holding
// XML characters, or b. It fails (with a message) on invalid UTF-8 or a
// character XML does not allow. ASCII runs are checked eight bytes at a
// time.
func scanPlain(data []byte, a, b int, mask uint8) (int, string) {
	for k := a; k < b; {
		c := data[k]
		f := charTab[c] & (mask | highBit)
		if f == 0 {
			k++
			continue
		}
		if f&highBit == 0 {
			return k, ""
		}
		r, size := utf8.DecodeRune(data[k:b])
		if r == utf8.RuneError && size == 1 {
			return k, "invalid UTF-8"
		}
		if !inCharRange(r) {
			return k, illegalChar(r)
		}
		k += size
	}
	return b, ""
}

// indexAny3 returns the index of the first of the bytes c1, c2 and c3 in
// data[a:b], or b. It reads eight bytes at a time: with x a word XORed
// with a byte repeated, (x - 0x01...) &^ x & 0x80... flags the zero bytes
// of x, exactly for the lowest one, which is the one it returns.
func indexAny3(data []byte, a, b int, c1, c2, c3 byte) int {
	const lo8, hi8 = 0x0101010101010101, 0x8080808080808080
	w1, w2, w3 := lo8*uint64(c1), lo8*uint64(c2), lo8*uint64(c3)
	k := a
	for ; k+8 <= b; k += 8 {
		w := binary.LittleEndian.Uint64(data[k:])
		x1, x2, x3 := w^w1, w^w2, w^w3
		if m := ((x1-lo8)&^x1 | (x2-lo8)&^x2 | (x3-lo8)&^x3) & hi8; m != 0 {
			return k + bits.TrailingZeros64(m)/8
		}
	}
	for ; k < b; k++ {
		if c := data[k]; c == c1 || c == c2 || c == c3 {
			return k
		}
	}
	return b
}

// inCharRange reports whether r is allowed in an XML 1.0 document (the
// Char production), as encoding/xml's isInCharacterRange.
func inCharRange(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}

func illegalChar(r rune) string {
	return fmt.Sprintf("illegal character code %U", r)
}

// decodeChars appends the character data data[a:b] to dst with references
// decoded (unless cdata), "\r\n" and "\r" rewritten to "\n", and every
// character checked, as encoding/xml's Decoder.text does. It returns the
// offset of the first problem and a message when there is one. In text
// (not attr, not cdata) "]]>" is an error. With checked (a record split
// has checked) the characters are taken as they are, and "]]>" too.
func decodeChars(dst, data []byte, a, b int, attr, cdata, checked bool) ([]byte, int, string) {
	mask := uint8(inText)
	switch {
	case cdata:
		mask = inCDATA
	case attr:
		mask = inAttr
	}
	for k := a; k < b; {
		var e int
		var msg string
		switch {
		case checked && cdata:
			e = indexAny3(data, k, b, '\r', '\r', '\r')
		case checked:
			e = indexAny3(data, k, b, '&', '\r', '\r')
		default:
			e, msg = scanPlain(data, k, b, mask)
		}
		dst = append(dst, data[k:e]...)
		if msg != "" {
			return dst, e, msg
		}
		if e == b {
			break
		}
		switch c := data[e]; {
		case c == '\r':
			dst = append(dst, '\n')
			if e+1 < b && data[e+1] == '\n' {
				e++
			}
			k = e + 1
		case c == ']':
			if e+2 < b && data[e+1] == ']' && data[e+2] == '>' {
				return dst, e, "unescaped ]]> not in CDATA section"
			}
			dst = append(dst, c)
			k = e + 1
		case c == '&':
			end, r, msg := parseRef(data, e) // a reference cannot run past b: < and quotes end it
			if msg != "" {
				return dst, e, msg
			}
			if !inCharRange(r) {
				return dst, e, illegalChar(r)
			}
			dst = utf8.AppendRune(dst, r)
			k = end
		case c == '<':
			return dst, e, "unescaped < inside quoted string"
		default:
			return dst, e, illegalChar(rune(c))
		}
	}
	return dst, -1, ""
}

// parseRef parses the reference at data[i] == '&' as encoding/xml does
// without custom entities: a character reference (decimal or x-hex, at
// most utf8.MaxRune, surrogates decoding to U+FFFD) or one of the five
// predefined entities. It returns the index after the ';' and the rune.
func parseRef(data []byte, i int) (end int, r rune, msg string) {
	j := i + 1
	if j < len(data) && data[j] == '#' {
		j, n, digits := xmlname.CharRefDigits(data, j+1)
		if j >= len(data) || data[j] != ';' || !digits || n > utf8.MaxRune {
			return 0, 0, badRef(data, i, j)
		}
		r := rune(n)
		if 0xD800 <= r && r <= 0xDFFF {
			r = utf8.RuneError
		}
		return j + 1, r, ""
	}
	ne, _, _ := xmlname.ReadName(data, j)
	if ne < len(data) && data[ne] == ';' {
		switch string(data[j:ne]) {
		case "lt":
			return ne + 1, '<', ""
		case "gt":
			return ne + 1, '>', ""
		case "amp":
			return ne + 1, '&', ""
		case "apos":
			return ne + 1, '\'', ""
		case "quot":
			return ne + 1, '"', ""
		}
	}
	return 0, 0, badRef(data, i, ne)
}

// badRef describes the invalid reference data[i:j] (plus its ';' if it
// has one) in encoding/xml's words.
func badRef(data []byte, i, j int) string {
	if j >= len(data) {
		return "unexpected EOF"
	}
	ref := string(data[i:j])
	if len(ref) > 40 {
		ref = ref[:40] + "..."
	}
	if data[j] == ';' {
		return "invalid character entity " + ref + ";"
	}
	return "invalid character entity " + ref + " (no semicolon)"
}
