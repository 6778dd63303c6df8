package recexpr

import (
	"regexp"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/stage"
)

// TestFastMatches checks that `matches` with a constant pattern answers as
// regexp does, whether or not the pattern takes the fast path, on ASCII,
// non-ASCII and invalid UTF-8 input.
func TestFastMatches(t *testing.T) {
	patterns := []struct {
		pattern string
		fast    bool
	}{
		{"[0-9]", true}, {`\d`, true}, {"[a-cx-zé京-東]", true}, {"[^0-9]", true}, {"[\uFFFD]", false},
		{"vol", true}, {"é", true}, {"x", true},
		{"^[0-9]", false}, {"(?i)vol", false}, {"[0-9]+x", false}, {"a|b", true}, {"\uFFFD", false},
	}
	inputs := []string{"", "abc", "vol. 3", "1999", "Straße", "東京", "é", "\xff", "a\xffb", "\xe6\x9d", "VOL", "x\x00y", "\uFFFD", "ＶＯＬ"}
	e := NewEvaluator()
	for _, p := range patterns {
		if got := fastMatcher(p.pattern) != nil; got != p.fast {
			t.Errorf("fastMatcher(%q) handles it: %v, want %v", p.pattern, got, p.fast)
		}
		prog, err := Compile("x", `line matches "`+strings.ReplaceAll(p.pattern, `\`, `\\`)+`"`, Bool)
		if err != nil {
			t.Fatalf("%q: %v", p.pattern, err)
		}
		// The fast form is a typed call of the matcher; the slow one
		// expr's OpMatchesConst (regexp).
		if got := !strings.Contains(prog.prog.Disassemble(), "OpMatches"); got != p.fast {
			t.Errorf("%q: program calls the fast matcher: %v, want %v", p.pattern, got, p.fast)
		}
		re := regexp.MustCompile(p.pattern)
		for _, in := range inputs {
			e.Reset(&stage.Record{Type: stage.Line, Data: []byte(in)})
			got, err := e.Bool(prog)
			if err != nil {
				t.Fatalf("%q matches %q: %v", in, p.pattern, err)
			}
			if want := re.MatchString(in); got != want {
				t.Errorf("%q matches %q = %v, regexp says %v", in, p.pattern, got, want)
			}
		}
	}
}

// BenchmarkMatchesDigit is W1's test of a title for a digit, through the
// fast path and through regexp.
func BenchmarkMatchesDigit(b *testing.B) {
	const title = "Crème Brûlée Atlas of the River Garden Straße"
	m := fastMatcher("[0-9]")
	re := regexp.MustCompile("[0-9]")
	b.Run("fast", func(b *testing.B) {
		for b.Loop() {
			if m.match(title) {
				b.Fatal("match")
			}
		}
	})
	b.Run("regexp", func(b *testing.B) {
		for b.Loop() {
			if re.MatchString(title) {
				b.Fatal("match")
			}
		}
	})
}

// TestVariableFastPath checks that a program that is one string variable
// (count's by: [category]) answers as the VM does.
func TestVariableFastPath(t *testing.T) {
	r := stage.Record{Type: stage.CSV, Category: "book/plain", Source: stage.Position{File: "in.csv"}}
	e := NewEvaluator()
	e.Reset(&r)
	for src, want := range map[string]string{"category": "book/plain", "file": "in.csv", "kind": "csv", " category ": "book/plain", `category + ""`: "book/plain"} {
		p, err := Compile("by[0]", src, String)
		if err != nil {
			t.Fatal(err)
		}
		got, err := e.String(p)
		if err != nil || got != want {
			t.Errorf("%q = %q, %v; want %q", src, got, err, want)
		}
		if fast := p.variable != ""; fast != (strings.TrimSpace(src) != `category + ""`) {
			t.Errorf("%q: fast path %v", src, fast)
		}
	}
}
