package write

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

const (
	// uncategorised is the key component used for records with an empty key.
	uncategorised = "uncategorised"
	// maxComponent is the longest key component, in bytes. Longer ones are
	// cut and given a hash, which keeps file names under the 255-byte limit
	// of common filesystems with room for the template's literal text.
	maxComponent = 200
	// hashLen is the number of hex digits of the hashes added to names.
	hashLen = 12
	// maxLiteral bounds the literal text of a name template, so that
	// maxComponent + literal + extension stays within 255 bytes.
	maxLiteral = 32
)

// sanitise maps key to text that is safe inside a file name:
//
//   - "/" becomes "__" (the documented mapping, not reported);
//   - ASCII letters, digits, "_", "-" and "." are kept, except a leading or
//     trailing "." (hidden files, "." and "..", and Windows' silent removal
//     of trailing dots);
//   - non-ASCII letters and decimal digits (valid UTF-8) are kept;
//   - every other byte, including "%" itself, invalid UTF-8, control
//     characters, spaces and "\", is written as %XX (upper-case hex).
//
// Apart from the "/" rule the mapping can be undone, so two keys without
// "/" never share a result. The result is non-empty when key is, and may be
// longer than maxComponent: component deals with length.
func sanitise(key string) string {
	var b strings.Builder
	b.Grow(len(key))
	for i := 0; i < len(key); {
		c := key[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '/':
				b.WriteString("__")
			case c == '.' && (i == 0 || i == len(key)-1):
				escapeByte(&b, c)
			case isSafeASCII(c):
				b.WriteByte(c)
			default:
				escapeByte(&b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(key[i:])
		if (r == utf8.RuneError && size == 1) || !(unicode.IsLetter(r) || unicode.IsDigit(r)) {
			for j := 0; j < size; j++ {
				escapeByte(&b, key[i+j])
			}
		} else {
			b.WriteString(key[i : i+size])
		}
		i += size
	}
	return b.String()
}

func isSafeASCII(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '.'
}

func escapeByte(b *strings.Builder, c byte) {
	const hexDigits = "0123456789ABCDEF"
	b.WriteByte('%')
	b.WriteByte(hexDigits[c>>4])
	b.WriteByte(hexDigits[c&15])
}

// keyHash is a short hash of key and a attempt counter, used to tell apart
// keys whose names would otherwise clash. "~" never occurs in sanitised
// text, so a hashed name cannot equal any plain one.
func keyHash(key string, attempt int) string {
	h := sha256.New()
	h.Write([]byte(key))
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(attempt))
	h.Write(n[:])
	return "~" + hex.EncodeToString(h.Sum(nil))[:hashLen]
}

// cut shortens sanitised text to at most n bytes without splitting a UTF-8
// sequence or a %XX escape.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	switch {
	case i >= 1 && s[i-1] == '%':
		i--
	case i >= 2 && s[i-2] == '%':
		i -= 2
	}
	return s[:i]
}

// windowsReserved lists the device names Windows reserves whatever the
// extension ("con.xml" is the console too).
var windowsReserved = func() map[string]bool {
	m := map[string]bool{"CON": true, "PRN": true, "AUX": true, "NUL": true}
	for _, p := range []string{"COM", "LPT"} {
		for d := '0'; d <= '9'; d++ {
			m[p+string(d)] = true
		}
	}
	return m
}()

// reserved reports whether Windows would take name for a device: its part
// before the first ".", upper-cased, is a reserved name.
func reserved(name string) bool {
	base, _, _ := strings.Cut(name, ".")
	return len(base) <= 4 && windowsReserved[strings.ToUpper(base)]
}

// fold returns the form under which case-insensitive or
// normalisation-insensitive filesystems (macOS, Windows) compare names:
// each rune is replaced by the smallest rune of its Unicode case-folding
// orbit (so "K", "k" and the Kelvin sign agree), and Hangul syllables are
// decomposed into their jamo (APFS and HFS+ compare normalised forms;
// sanitise already escapes the combining marks of other scripts).
func fold(name string) string {
	var b strings.Builder
	b.Grow(len(name))
	for _, r := range name {
		if 0xAC00 <= r && r <= 0xD7A3 {
			s := r - 0xAC00
			b.WriteRune(0x1100 + s/588)
			b.WriteRune(0x1161 + (s%588)/28)
			if t := s % 28; t != 0 {
				b.WriteRune(0x11A7 + t)
			}
			continue
		}
		m := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			m = min(m, f)
		}
		b.WriteRune(m)
	}
	return b.String()
}

// template is a parsed file name template such as "{key}{ext}".
type template struct {
	parts []string // literal text, or the markers "{key}" and "{ext}"
}

// parseTemplate checks a name template: it must use {key} exactly once and
// {ext} at most once, and its literal text must be made of ASCII letters,
// digits, ".", "_" and "-", so that it cannot add a separator or a hidden,
// reserved or over-long name.
func parseTemplate(s string) (template, error) {
	var t template
	keys, exts, literal := 0, 0, 0
	for rest := s; rest != ""; {
		i := strings.IndexAny(rest, "{}")
		if i < 0 {
			t.parts = append(t.parts, rest)
			literal += len(rest)
			break
		}
		if i > 0 {
			t.parts = append(t.parts, rest[:i])
			literal += i
			rest = rest[i:]
		}
		switch {
		case strings.HasPrefix(rest, "{key}"):
			keys++
		case strings.HasPrefix(rest, "{ext}"):
			exts++
		default:
			ph, _, _ := strings.Cut(rest, "}")
			return template{}, fmt.Errorf("unknown placeholder %q in %q; the placeholders are {key} and {ext}", ph+"}", s)
		}
		t.parts = append(t.parts, rest[:5])
		rest = rest[5:]
	}
	for _, p := range t.parts {
		if p == "{key}" || p == "{ext}" {
			continue
		}
		for _, c := range []byte(p) {
			if !isSafeASCII(c) {
				return template{}, fmt.Errorf("%q contains %q; use ASCII letters, digits, \".\", \"_\", \"-\" and the placeholders {key} and {ext}", s, rune(c))
			}
		}
	}
	switch {
	case keys != 1:
		return template{}, fmt.Errorf("%q must contain {key} exactly once, e.g. \"{key}{ext}\"", s)
	case exts > 1:
		return template{}, fmt.Errorf("%q contains {ext} more than once", s)
	case literal > maxLiteral:
		return template{}, fmt.Errorf("%q has %d bytes of literal text; at most %d are allowed so that names fit in 255 bytes", s, literal, maxLiteral)
	}
	for _, ext := range extensions {
		if name := t.expand("k", ext); strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".") {
			return template{}, fmt.Errorf("%q gives names such as %q; a name must not start with \".\" (hidden files) or end with \".\"", s, name)
		}
		prefix := t.expand("", ext)[:t.keyOffset(ext)]
		if base, _, found := strings.Cut(prefix, "."); found && reserved(base) {
			return template{}, fmt.Errorf("%q starts with %q, a device name on Windows", s, base)
		}
	}
	return t, nil
}

// expand substitutes key and ext into the template.
func (t template) expand(key, ext string) string {
	var b strings.Builder
	for _, p := range t.parts {
		switch p {
		case "{key}":
			b.WriteString(key)
		case "{ext}":
			b.WriteString(ext)
		default:
			b.WriteString(p)
		}
	}
	return b.String()
}

// keyOffset is the byte offset of {key} in an expanded name.
func (t template) keyOffset(ext string) int {
	n := 0
	for _, p := range t.parts {
		switch p {
		case "{key}":
			return n
		case "{ext}":
			n += len(ext)
		default:
			n += len(p)
		}
	}
	return n
}

// claim identifies what an output file holds: records of one kind with one
// key.
type claim struct {
	key string
	ext string
}

// naming is the outcome of choosing a file name for a claim.
type naming struct {
	name  string // the file name chosen
	plain bool   // name is the plain mapping of the key ("/" → "__")
	// clash is set when the name that would have been used was already
	// taken (clashName) by another claim (clashWith).
	clash     bool
	clashName string
	clashWith claim
	// caseOnly is set when the names differ only in case or normalisation,
	// and clash only on filesystems that ignore those differences.
	caseOnly bool
}

// namer gives each claim a file name that is one safe path component and
// that no other claim of the run shares, even on a case-insensitive
// filesystem. The first claim to ask for a name gets it; a later claim
// whose name would clash gets a hash added. A namer is not safe for
// concurrent use.
type namer struct {
	tmpl  template
	taken map[string]holder // fold(name) → its holder
}

type holder struct {
	claim
	name string
}

func newNamer(t template) *namer {
	return &namer{tmpl: t, taken: map[string]holder{}}
}

// assign returns the file name for c. Asking twice for the same claim
// gives the same name.
func (n *namer) assign(c claim) naming {
	base := uncategorised
	if c.key != "" {
		base = sanitise(c.key)
	}
	if reserved(n.tmpl.expand(base, c.ext)) {
		var b strings.Builder
		escapeByte(&b, base[0])
		base = b.String() + base[1:]
	}
	var out naming
	for attempt := 0; ; attempt++ {
		comp := base
		if len(base) > maxComponent || attempt > 0 {
			comp = cut(base, maxComponent-1-hashLen) + keyHash(c.key, attempt)
		}
		name := n.tmpl.expand(comp, c.ext)
		f := fold(name)
		h, taken := n.taken[f]
		if taken && h.claim == c {
			taken = false
		}
		if !taken {
			n.taken[f] = holder{c, name}
			out.name = name
			out.plain = c.key != "" && name == n.tmpl.expand(strings.ReplaceAll(c.key, "/", "__"), c.ext)
			return out
		}
		if !out.clash {
			out.clash, out.clashName, out.clashWith, out.caseOnly = true, name, h.claim, h.name != name
		}
	}
}
