package strictjson

import (
	"fmt"
	"strings"
)

// suggest offers the known name closest to an unknown one: one that differs
// only in case, else the nearest by edit distance (ignoring case) when it is
// near enough to be a slip (at most 2 edits, and fewer than half the
// name's characters). Ties go to the earlier name.
func suggest(k string, names []string) string {
	for _, n := range names {
		if strings.EqualFold(n, k) {
			return fmt.Sprintf(" (did you mean %q?)", n)
		}
	}
	best, bestD := "", 3
	lk := []rune(strings.ToLower(k))
	for _, n := range names {
		ln := []rune(strings.ToLower(n))
		if d := distance(lk, ln); d < bestD && 2*d < len(ln) {
			best, bestD = n, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// distance is the Levenshtein distance of two rune strings.
func distance(a, b []rune) int {
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
