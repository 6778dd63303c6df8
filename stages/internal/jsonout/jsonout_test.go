package jsonout

import (
	"encoding/json"
	"math"
	"testing"
)

// TestStringMatchesEncodingJSON: every string, escaped or not, is written
// exactly as encoding/json writes it.
func TestStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", `a "quoted" \ path`, "tab\there\n", "<b>&amp;</b>", "naïve Straße 東京", "bad \xff utf-8", "\u2028"} {
		want, _ := json.Marshal(s)
		if got := String([]byte("x"), s); string(got) != "x"+string(want) {
			t.Errorf("String(%q) = %s, want %s", s, got[1:], want)
		}
	}
}

func FuzzString(f *testing.F) {
	f.Add("a\"b")
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := String(nil, s); string(got) != string(want) {
			t.Fatalf("String(%q) = %s, want %s", s, got, want)
		}
	})
}

func TestValue(t *testing.T) {
	for _, c := range []struct {
		v    any
		want string
	}{{nil, "null"}, {"s", `"s"`}, {1887, "1887"}, {2.5, "2.5"}, {true, "true"}, {[]any{"a", 1}, `["a",1]`}, {map[string]any{"b": 1, "a": nil}, `{"a":null,"b":1}`}} {
		got, err := Value(nil, c.v)
		if err != nil || string(got) != c.want {
			t.Errorf("Value(%v) = %s, %v; want %s", c.v, got, err, c.want)
		}
	}
	if _, err := Value(nil, math.NaN()); err == nil {
		t.Error("Value(NaN): no error")
	}
}
