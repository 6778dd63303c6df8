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
