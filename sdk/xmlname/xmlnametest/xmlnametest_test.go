package xmlnametest

import "testing"

func TestEditionsDiffer(t *testing.T) {
	for s, want := range map[string]bool{
		"<a>plain</a>":      false,
		"<été/>":            false, // a letter in both editions
		"<egg\u017f/>":      true,  // long s: fifth edition only
		"<a>\U0001D032</a>": true,  // a NameStartChar since the fifth edition, wherever it is
		"<a>\u00D7</a>":     false, // in neither
		"\xff<a/>":          false,
	} {
		if got := EditionsDiffer([]byte(s)); got != want {
			t.Errorf("EditionsDiffer(%q) = %v, want %v", s, got, want)
		}
	}
}
