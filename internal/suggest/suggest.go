// Package suggest finds the closest known name to a misspelt one, for the
// "did you mean" hints in Sluice's error messages.
package suggest

import "strings"

// Closest returns the candidate nearest to word by edit distance (case
// folded), if one is close enough to be a plausible typo: fewer than
// len(word)/3+2 edits. It returns false when none is, or when word is
// itself a candidate.
func Closest(word string, candidates []string) (string, bool) {
	best, bestDist := "", len(word)/3+2
	lw := strings.ToLower(word)
	for _, c := range candidates {
		if c == word {
			return "", false
		}
		if d := editDistance(lw, strings.ToLower(c)); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best, best != ""
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
