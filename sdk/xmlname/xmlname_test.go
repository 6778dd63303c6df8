package xmlname

import (
	"encoding/xml"
	"math/rand/v2"
	"strconv"
	"strings"
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

func TestCharRefDigits(t *testing.T) {
	tests := []struct {
		in     string
		end    int
		n      uint64
		digits bool
	}{
		{"38;", 2, 38, true},
		{"x26;", 3, 0x26, true},
		{"xE9;", 3, 0xE9, true},
		{"x;", 1, 0, false},
		{";", 0, 0, false},
		{"12a;", 2, 12, true},                  // 'a' is not a decimal digit
		{"99999999999999999999;", 20, 0, true}, // capped, not overflowed
	}
	for _, tc := range tests {
		end, n, digits := CharRefDigits([]byte(tc.in), 0)
		if tc.in == "99999999999999999999;" {
			if end != tc.end || n <= 0x10FFFF || !digits {
				t.Errorf("%q: end %d n %d digits %v", tc.in, end, n, digits)
			}
			continue
		}
		if end != tc.end || n != tc.n || digits != tc.digits {
			t.Errorf("%q: got (%d, %d, %v), want (%d, %d, %v)", tc.in, end, n, digits, tc.end, tc.n, tc.digits)
		}
	}
}

func TestPseudoAttr(t *testing.T) {
	for _, tt := range []struct{ param, content, want string }{
		{"version", `version="1.0" encoding='UTF-8'`, "1.0"},
		{"encoding", `version="1.0" encoding='UTF-8'`, "UTF-8"},
		{"encoding", `version="1.0"`, ""},
		{"version", `version=1.0`, ""},                 // unquoted: not read
		{"version", `version="1.0`, ""},                // unterminated
		{"version", `xversion=2 version="1.1"`, "1.1"}, // the first quoted match
		{"version", `version=`, ""},
	} {
		if got := PseudoAttr(tt.param, []byte(tt.content)); got != tt.want {
			t.Errorf("PseudoAttr(%q, %q) = %q, want %q", tt.param, tt.content, got, tt.want)
		}
	}
	if got, want := SkipSpace([]byte(" \t\r\nx "), 0), 4; got != want {
		t.Errorf("SkipSpace = %d, want %d", got, want)
	}
	if got := SkipSpace([]byte("  "), 1); got != 2 {
		t.Errorf("SkipSpace at the end = %d, want 2", got)
	}
}

// TestValidNameFifthEdition checks names at the edges of the fifth
// edition's tables (XML 1.0 5th ed. §2.3, productions [4] and [4a]).
func TestValidNameFifthEdition(t *testing.T) {
	for name, want := range map[string]bool{
		"a": true, "_x": true, ":a": true, "a-b.c9": true, "-a": false, "9a": false, ".a": false, "": false,
		"egg\u017f":      true,  // long s: fourth edition says no
		"\U0001D032":     true,  // Byzantine musical symbol: a NameStartChar since the fifth edition
		"\U000EFFFF":     true,  // the last NameStartChar
		"\U000F0000":     false, // past it
		"IllegalX\u0EC7": true,  // fifth-edition NameChar
		"a\u00B7":        true,  // middle dot continues a name
		"\u00B7a":        false, // but cannot start one
		"a\u0300":        true,  // combining grave
		"\u0300a":        false,
		"a\u203F":        true,  // undertie
		"a\u00D7":        false, // multiplication sign
		"a\u037E":        false, // Greek question mark
		"a\uFFFE":        false,
		"a\xff":          false, // not UTF-8
		"a b":            false,
		"a\u2070":        true,
		"a\u2190":        false,
	} {
		if got := ValidName([]byte(name)); got != want {
			t.Errorf("ValidName(%+q) = %v, want %v", name, got, want)
		}
	}
}

// TestReadName checks ReadName's end, flags and colon count on names of
// each kind of byte.
func TestReadName(t *testing.T) {
	tests := []struct {
		in     string
		i, end int
		flags  uint8
		colons int
	}{
		{"<a>", 1, 2, Byte | First, 0},
		{"<p:q-1.x r", 1, 8, Byte | First | Colon, 1},
		{"<a:b:c/>", 1, 6, Byte | First | Colon, 2},
		{"<éa>", 1, 4, Byte | First | High, 0},
		{"<9>", 1, 2, Byte, 0},
		{"< a>", 1, 1, 0, 0},
		{"<ab", 1, 3, Byte | First, 0},
	}
	for _, tt := range tests {
		end, flags, colons := ReadName([]byte(tt.in), tt.i)
		if end != tt.end || flags != tt.flags || colons != tt.colons {
			t.Errorf("ReadName(%q, %d) = %d, %b, %d; want %d, %b, %d", tt.in, tt.i, end, flags, colons, tt.end, tt.flags, tt.colons)
		}
	}
}

// TestNamesAgreesWithValidName checks Names.Read and Names.Valid, with
// their memory, against ValidName on names of every kind, each asked
// twice, and that the memory stays bounded.
func TestNamesAgreesWithValidName(t *testing.T) {
	names := []string{"a", "_x", ":", "a:b", "9a", "-a", "a-9.", "é", "aé", "a\u0300", "\u0300a", "\u00d7", "a\u00d7", "\U00010000", "a\xff", "\xc3", "a b", ""}
	var c Names
	for round := 0; round < 2; round++ {
		for _, n := range names {
			want := ValidName([]byte(n))
			if got := c.Valid([]byte(n)); got != want {
				t.Errorf("round %d: Valid(%q) = %v, ValidName says %v", round, n, got, want)
			}
			end, flags, _ := ReadName([]byte(n), 0)
			if n == "" || end != len(n) {
				continue // Read takes names as ReadName reads them
			}
			if got := c.Read([]byte(n), flags); got != want {
				t.Errorf("round %d: Read(%q) = %v, ValidName says %v", round, n, got, want)
			}
		}
	}
	for i := 0; i < 2*maxNames; i++ {
		c.Valid([]byte("é" + strconv.Itoa(i)))
	}
	if len(c.m) > maxNames {
		t.Errorf("Names remembers %d names, want at most %d", len(c.m), maxNames)
	}
}

// TestDirectiveEnd checks DirectiveEnd against encoding/xml, which reads
// a <!...> directive the same way: on fixed cases, then on random strings
// of the bytes that matter (quotes, nested brackets, comments).
func TestDirectiveEnd(t *testing.T) {
	cases := []string{
		`<!DOCTYPE a>`, `<!DOCTYPE a [<!ELEMENT a ANY>]>rest`, `<!DOCTYPE a "x>y">`, `<!DOCTYPE a 'x"y>'>`,
		`<!DOCTYPE a [<!-- > -->]>`, `<!DOCTYPE a <!-- x`, `<!DOCTYPE a <!-x>>`, `<!DOCTYPE a <`, `<!D`,
		`<!DOCTYPE a [<!ATTLIST a b CDATA "<>">]>`, `<!DOCTYPE a <<>>>`, `<!x>`, `<!DOCTYPE a <!`,
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	const alphabet = `<>!-"' a`
	for i := 0; i < 20000; i++ {
		b := []byte("<!D")
		for n := rnd.IntN(14); n > 0; n-- {
			b = append(b, alphabet[rnd.IntN(len(alphabet))])
		}
		cases = append(cases, string(b))
	}
	for _, c := range cases {
		end, inComment := DirectiveEnd([]byte(c), 0)
		want := xmlDirectiveEnd(c)
		if end != want {
			t.Fatalf("DirectiveEnd(%q) = %d, encoding/xml ends it at %d", c, end, want)
		}
		if end < 0 {
			if wantIn := strings.Contains(c[3:], "<!--"); inComment && !wantIn {
				t.Errorf("DirectiveEnd(%q) says it ended in a comment; it holds none", c)
			}
		}
	}
}

// xmlDirectiveEnd returns the offset after the directive encoding/xml
// reads at the start of s, or -1 when it meets the end of s first.
func xmlDirectiveEnd(s string) int {
	d := xml.NewDecoder(strings.NewReader(s))
	tok, err := d.RawToken()
	if err != nil {
		return -1
	}
	if _, ok := tok.(xml.Directive); !ok {
		return -1
	}
	return int(d.InputOffset())
}
