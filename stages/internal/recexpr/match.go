package recexpr

import (
	"fmt"
	"regexp"
	"regexp/syntax"
	"strings"
	"unicode/utf8"

	"github.com/expr-lang/expr/ast"
)

// matcher is the fast form of `s matches "pattern"` for the patterns that
// are one character class ("[0-9]", "\\d", "[aeiou]") or one literal
// string: a scan for a rune of the class, or strings.Contains, instead of
// running regexp's backtracker at every position. It answers exactly what
// regexp.MatchString answers (invalid UTF-8 reads as U+FFFD, as regexp
// reads it); patterns of any other shape keep expr's regexp.
type matcher struct {
	pattern string
	ascii   [128]bool // class members below 0x80
	ranges  []rune    // class ranges (lo, hi pairs) at or above 0x80
	literal string    // for a literal pattern
	isClass bool
}

// fastMatcher returns a matcher for pattern, or nil when the pattern is
// not of a shape it handles (or is not a valid regular expression, which
// expr then reports).
func fastMatcher(pattern string) *matcher {
	if _, err := regexp.Compile(pattern); err != nil {
		return nil
	}
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil
	}
	re = re.Simplify()
	m := &matcher{pattern: pattern}
	switch {
	case re.Op == syntax.OpCharClass:
		m.isClass = true
		for i := 0; i+1 < len(re.Rune); i += 2 {
			lo, hi := re.Rune[i], re.Rune[i+1]
			for r := lo; r <= hi && r < utf8.RuneSelf; r++ {
				m.ascii[r] = true
			}
			if hi >= utf8.RuneSelf {
				m.ranges = append(m.ranges, max(lo, utf8.RuneSelf), hi)
			}
		}
		return m
	case re.Op == syntax.OpLiteral && re.Flags&syntax.FoldCase == 0:
		lit := string(re.Rune)
		if strings.ContainsRune(lit, utf8.RuneError) {
			return nil // regexp would match invalid UTF-8 with it; Contains would not
		}
		m.literal = lit
		return m
	}
	return nil
}

// match reports whether s matches the pattern.
func (m *matcher) match(s string) bool {
	if !m.isClass {
		return strings.Contains(s, m.literal)
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if m.ascii[c] {
				return true
			}
			i++
			continue
		}
		r, w := utf8.DecodeRuneInString(s[i:])
		for k := 0; k < len(m.ranges); k += 2 {
			if m.ranges[k] <= r && r <= m.ranges[k+1] {
				return true
			}
		}
		i += w
	}
	return false
}

// matchFunction is the name the patcher calls fnMatches by; no expression
// can call it itself, since no expression can make its second argument.
const matchFunction = "__sluice_matches"

// fnMatches is the function `s matches "pattern"` becomes for patterns
// fastMatcher handles.
func fnMatches(params ...any) (any, error) {
	m := params[1].(*matcher)
	s, ok := params[0].(string)
	if !ok {
		return nil, fmt.Errorf("matches %q: the left operand is %s, not a string", m.pattern, describeValue(params[0]))
	}
	return m.match(s), nil
}

// call is fnMatches with the matcher bound, the typed function a call of
// fnMatches becomes (see typedCalls).
func (m *matcher) call(s any) bool {
	return must(fnMatches(s, m)).(bool)
}

// patchMatches replaces node, a `matches` with a constant pattern that
// fastMatcher handles, by a call of fnMatches.
func patchMatches(node *ast.Node, n *ast.BinaryNode) {
	pat, ok := n.Right.(*ast.StringNode)
	if !ok || n.Operator != "matches" {
		return
	}
	m := fastMatcher(pat.Value)
	if m == nil {
		return
	}
	arg := &ast.ConstantNode{Value: m}
	arg.SetLocation(pat.Location())
	call := &ast.CallNode{Callee: &ast.IdentifierNode{Value: matchFunction}, Arguments: []ast.Node{n.Left, arg}}
	call.SetLocation(n.Location())
	*node = call
}
