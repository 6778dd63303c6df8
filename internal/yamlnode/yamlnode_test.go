package yamlnode

import (
	"testing"

	"gopkg.in/yaml.v3"
)

func TestDescribe(t *testing.T) {
	for src, want := range map[string]string{
		"{a: 1}": "a mapping",
		"[1, 2]": "a list",
		"plain":  `"plain"`,
		`"q\"t"`: `"q\"t"`,
		"":       `""`,
	} {
		var doc yaml.Node
		if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
			t.Fatal(err)
		}
		n := &doc
		if len(doc.Content) > 0 {
			n = doc.Content[0]
		}
		if got := Describe(n); got != want {
			t.Errorf("Describe(%q) = %s, want %s", src, got, want)
		}
	}
}
