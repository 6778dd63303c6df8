package main

import (
	"unicode"
	"unicode/utf8"
)

// matcher finds whole-word keywords in text with an Aho-Corasick automaton:
// one pass over the text whatever the number of keywords, one table lookup
// per byte. It is built once and then only read, so it is safe for
// concurrent use.
type matcher struct {
	// delta[s<<8|c] is the state after reading byte c in state s: the trie's
	// edges, with the failure links followed in advance where there is none.
	delta  []int32
	output [][]int32 // keywords (indexes) that end at each state
	words  []string
	values []string // what each keyword maps to
}

// newMatcher compiles keywords (lower case) into an automaton; values[i] is
// reported for keywords[i].
func newMatcher(keywords, values []string) *matcher {
	// The trie of the keywords: goTo[s][c] is the child of state s by c.
	goTo := []map[byte]int32{{}}
	output := [][]int32{nil}
	for i, w := range keywords {
		s := int32(0)
		for j := 0; j < len(w); j++ {
			t, ok := goTo[s][w[j]]
			if !ok {
				t = int32(len(goTo))
				goTo = append(goTo, map[byte]int32{})
				output = append(output, nil)
				goTo[s][w[j]] = t
			}
			s = t
		}
		output[s] = append(output[s], int32(i))
	}
	// Breadth-first, so that the row of a state's failure link (a shallower
	// state) is complete before the state's own row is filled from it.
	m := &matcher{delta: make([]int32, len(goTo)<<8), output: output, words: keywords, values: values}
	fail := make([]int32, len(goTo))
	queue := []int32{0}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		for c := range 256 {
			t, ok := goTo[s][byte(c)]
			if !ok {
				if s != 0 {
					m.delta[s<<8|int32(c)] = m.delta[fail[s]<<8|int32(c)]
				}
				continue
			}
			m.delta[s<<8|int32(c)] = t
			if s != 0 {
				fail[t] = m.delta[fail[s]<<8|int32(c)]
			}
			m.output[t] = append(m.output[t], m.output[fail[t]]...)
			queue = append(queue, t)
		}
	}
	return m
}

// find calls found with the value of every keyword that occurs in text (lower
// case) as a whole word.
func (m *matcher) find(text string, found func(value string)) {
	s := int32(0)
	for i := 0; i < len(text); i++ {
		s = m.delta[s<<8|int32(text[i])]
		for _, k := range m.output[s] {
			start, end := i+1-len(m.words[k]), i+1
			if wordEdge(text, start, end) {
				found(m.values[k])
			}
		}
	}
}

// wordEdge reports whether text[start:end] is not part of a longer word.
func wordEdge(text string, start, end int) bool {
	if start > 0 {
		if r, _ := utf8.DecodeLastRuneInString(text[:start]); isWordRune(r) {
			return false
		}
	}
	if end < len(text) {
		if r, _ := utf8.DecodeRuneInString(text[end:]); isWordRune(r) {
			return false
		}
	}
	return true
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }
