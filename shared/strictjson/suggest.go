package strictjson

import (
	"fmt"
	"strings"
)

// suggest offers the known name closest to an unknown one: one that differs
// only in case, else the nearest by edit distance (ignoring case) when it is
// near enough to be a slip (at most 2 edits, and fewer than half the
// name's characters; a swap of two neighbouring letters is one edit).
// Ties go to the earlier name.
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
		if len(lk) > len(ln)+2 || len(ln) > len(lk)+2 {
			continue // at least 3 edits apart (and k may be very long)
		}
		if d := distance(lk, ln); d < bestD && 2*d < len(ln) {
			best, bestD = n, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// distance is the edit distance of two rune strings, counting an insertion,
// a deletion, a substitution or a swap of two neighbours as one edit
// (optimal string alignment).
func distance(a, b []rune) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

// Suggest is suggest for other packages: " (did you mean "X"?)" naming the
// known name closest to k, or "" when none is near enough.
func Suggest(k string, names []string) string { return suggest(k, names) }
