package spec

import (
	"fmt"
	"strings"
)

// didYouMean returns ` did you mean "x"?`-style advice for a misspelt word,
// or "" when no candidate is close. Matching ignores case, so that a key
// written as DisplayName suggests displayName.
func didYouMean(got string, candidates []string) string {
	best, ok := closest(got, candidates)
	if !ok {
		return ""
	}
	return fmt.Sprintf("did you mean %q?", best)
}

// closest finds the candidate nearest to got in edit distance, if it is near
// enough to be a plausible typo: at most 2 edits, or a third of the word.
func closest(got string, candidates []string) (string, bool) {
	g := strings.ToLower(got)
	best, bestD := "", -1
	for _, c := range candidates {
		d := editDistance(g, strings.ToLower(c))
		if bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	if bestD < 0 || best == got {
		return "", false
	}
	limit := max(2, len([]rune(best))/3)
	return best, bestD <= limit
}

// editDistance is the Levenshtein distance between a and b, in runes.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	if len(ra) > 256 || len(rb) > 256 {
		// Keys and enum values are short; a huge input is no typo.
		return max(len(ra), len(rb))
	}
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// quoteList renders names as "a", "b" and "c" for messages.
func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	switch len(q) {
	case 0:
		return ""
	case 1:
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}
