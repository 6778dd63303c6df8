package write

import (
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSanitise(t *testing.T) {
	tests := []struct{ key, want string }{
		{"book", "book"},
		{"book/plain", "book__plain"},
		{"v1.2_beta-3", "v1.2_beta-3"},
		{".hidden", "%2Ehidden"},
		{"end.", "end%2E"},
		{".", "%2E"},
		{"..", "%2E%2E"},
		{"...", "%2E.%2E"},
		{"a b", "a%20b"},
		{"50%", "50%25"},
		{"Ærø", "Ærø"},
		{"٣", "٣"},                    // Arabic-Indic digit three
		{"e\u0301", "e%CC%81"},        // combining mark
		{"\u202Etxt", "%E2%80%AEtxt"}, // right-to-left override
		{"\xc3", "%C3"},               // truncated UTF-8
		{"\uFFFD", "%EF%BF%BD"},       // the replacement character itself
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			if got := sanitise(tt.key); got != tt.want {
				t.Errorf("sanitise(%q) = %q, want %q", tt.key, got, tt.want)
			}
		})
	}
}

func TestCut(t *testing.T) {
	tests := []struct {
		s    string
		n    int
		want string
	}{
		{"abcdef", 10, "abcdef"},
		{"abcdef", 3, "abc"},
		{"ab%2Fcd", 3, "ab"},
		{"ab%2Fcd", 4, "ab"},
		{"ab%2Fcd", 5, "ab%2F"},
		{"aé", 2, "a"},
	}
	for _, tt := range tests {
		if got := cut(tt.s, tt.n); got != tt.want {
			t.Errorf("cut(%q, %d) = %q, want %q", tt.s, tt.n, got, tt.want)
		}
	}
}

func TestAssignIsStable(t *testing.T) {
	tmpl, err := parseTemplate("{key}{ext}")
	if err != nil {
		t.Fatal(err)
	}
	n := newNamer(tmpl)
	first := n.assign(claim{"a", ".xml"})
	clash := n.assign(claim{"A", ".xml"})
	if first.name == clash.name || !clash.clash {
		t.Fatalf("a → %q, A → %q (clash %v)", first.name, clash.name, clash.clash)
	}
	for _, c := range []claim{{"a", ".xml"}, {"A", ".xml"}} {
		want := map[claim]string{{"a", ".xml"}: first.name, {"A", ".xml"}: clash.name}[c]
		if got := n.assign(c).name; got != want {
			t.Errorf("asking again for %q gave %q, first %q", c.key, got, want)
		}
	}
}

// checkComponent fails unless name is a single, portable, visible path
// component.
func checkComponent(t *testing.T, key, name string) {
	t.Helper()
	switch {
	case name == "" || name == "." || name == "..":
		t.Fatalf("key %q → %q", key, name)
	case strings.ContainsAny(name, "/\\\x00:"):
		t.Fatalf("key %q → %q contains a separator, NUL or colon", key, name)
	case !utf8.ValidString(name):
		t.Fatalf("key %q → %q is not valid UTF-8", key, name)
	case len(name) > 255:
		t.Fatalf("key %q → name of %d bytes", key, len(name))
	case strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".") || strings.HasSuffix(name, " "):
		t.Fatalf("key %q → %q is hidden or ends with a dot or space", key, name)
	case reserved(name):
		t.Fatalf("key %q → %q is a Windows device name", key, name)
	case !filepath.IsLocal(name) || filepath.Base(name) != name:
		t.Fatalf("key %q → %q is not one local path component", key, name)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			t.Fatalf("key %q → %q contains control character %U", key, name, r)
		}
	}
}

// FuzzSafeName checks that every key gets a single safe path component,
// the same each time, and that two different keys never share a name, even
// under case folding.
func FuzzSafeName(f *testing.F) {
	for _, seed := range [][2]string{
		{"book/plain", "book__plain"}, {"a", "A"}, {"../x", "..%2Fx"}, {"", "uncategorised"},
		{".", ".."}, {"CON", "con.txt"}, {"nul\x00", "\xff\xfe"}, {"trailing.", "trailing%2E"},
		{strings.Repeat("a", 250), strings.Repeat("a", 251)}, {"\uD55C", "\u1112\u1161\u11AB"},
		{"K", "\u212A"}, {"a/b", "a%2Fb"}, {"%41", "A"},
	} {
		f.Add(seed[0], seed[1])
	}
	tmpl, err := parseTemplate("{key}{ext}")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		n := newNamer(tmpl)
		na := n.assign(claim{a, ".xml"})
		nb := n.assign(claim{b, ".xml"})
		checkComponent(t, a, na.name)
		checkComponent(t, b, nb.name)
		if again := newNamer(tmpl).assign(claim{a, ".xml"}); again != na {
			t.Fatalf("key %q named %q, then %q", a, na.name, again.name)
		}
		plain := a != "" && na.name == strings.ReplaceAll(a, "/", "__")+".xml"
		if na.plain != plain {
			t.Fatalf("key %q → %q reported plain=%v", a, na.name, na.plain)
		}
		if a == b {
			if na.name != nb.name {
				t.Fatalf("key %q named %q, then %q", a, na.name, nb.name)
			}
			return
		}
		if fold(na.name) == fold(nb.name) {
			t.Fatalf("keys %q and %q share the name %q / %q", a, b, na.name, nb.name)
		}
		if !strings.Contains(a, "/") && !strings.Contains(b, "/") && sanitise(a) == sanitise(b) {
			t.Fatalf("keys %q and %q both sanitise to %q", a, b, sanitise(a))
		}
	})
}
