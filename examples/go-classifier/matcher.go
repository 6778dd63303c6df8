package main

import (
	"unicode"
	"unicode/utf8"
)

// matcher finds whole-word keywords in text with an Aho-Corasick automaton:
// one pass over the text whatever the number of keywords. It is built once
// and then only read, so it is safe for concurrent use.
type matcher struct {
	next   []map[byte]int32 // goto function, by state
	fail   []int32          // failure links
	output [][]int32        // keywords (indexes) that end at each state
	words  []string
	values []string // what each keyword maps to
}

// newMatcher compiles keywords (lower case) into an automaton; values[i] is
// reported for keywords[i].
func newMatcher(keywords, values []string) *matcher {
	m := &matcher{next: []map[byte]int32{{}}, fail: []int32{0}, output: [][]int32{nil}, words: keywords, values: values}
	for i, w := range keywords {
		s := int32(0)
		for j := 0; j < len(w); j++ {
			t, ok := m.next[s][w[j]]
			if !ok {
				t = int32(len(m.next))
				m.next = append(m.next, map[byte]int32{})
				m.fail = append(m.fail, 0)
				m.output = append(m.output, nil)
				m.next[s][w[j]] = t
			}
			s = t
		}
		m.output[s] = append(m.output[s], int32(i))
	}
	// Breadth-first, so that a state's failure link is final before its
	// children's are computed.
	queue := make([]int32, 0, len(m.next))
	for _, t := range m.next[0] {
		queue = append(queue, t)
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		for c, t := range m.next[s] {
			queue = append(queue, t)
			f := m.fail[s]
			for f != 0 && m.step(f, c) == 0 {
				f = m.fail[f]
			}
			if g := m.step(f, c); g != t {
				m.fail[t] = g
			}
			m.output[t] = append(m.output[t], m.output[m.fail[t]]...)
		}
	}
	return m
}

func (m *matcher) step(s int32, c byte) int32 {
	if t, ok := m.next[s][c]; ok {
		return t
	}
	return 0
}

// find calls found with the value of every keyword that occurs in text (lower
// case) as a whole word.
func (m *matcher) find(text string, found func(value string)) {
	s := int32(0)
	for i := 0; i < len(text); i++ {
		c := text[i]
		for s != 0 {
			if _, ok := m.next[s][c]; ok {
				break
			}
			s = m.fail[s]
		}
		s = m.step(s, c)
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
