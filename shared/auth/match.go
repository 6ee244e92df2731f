package auth

import "strings"

// actionMatches reports whether an Action pattern matches an action name.
// Action names are case-insensitive, as IAM's are; * matches any run of
// characters and ? any one character.
func actionMatches(pattern, action string) bool {
	if pattern == "*" {
		return true
	}
	return glob(strings.ToLower(pattern), strings.ToLower(action), false)
}

// resourceMatches reports whether a Resource pattern matches an ARN. ARNs
// are case-sensitive. As IAM documents: wildcards match within a segment of
// the ARN (the parts between colons), except that a * that is the last
// character of a segment may also match past the colons that follow;
// "*" alone matches every resource.
func resourceMatches(pattern, arn string) bool {
	if pattern == "*" {
		return true
	}
	return glob(pattern, arn, true)
}

// glob matches name against pattern. With segments, ? never matches a
// colon, and * matches a colon only when it ends its segment of the
// pattern (the pattern ends or a colon follows it).
//
// It fills a table row by row (a row per pattern byte, a column per name
// prefix): O(len(pattern)·len(name)) time, O(len(name)) memory, no
// recursion on hostile input.
func glob(pattern, name string, segments bool) bool {
	// row[j]: the pattern so far matches name[:j].
	row := make([]bool, len(name)+1)
	next := make([]bool, len(name)+1)
	row[0] = true
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		next[0] = c == '*' && row[0]
		for j := 1; j <= len(name); j++ {
			b := name[j-1]
			switch {
			case c == '*':
				// Empty, or one more character taken by this star.
				next[j] = row[j] || (next[j-1] && (!segments || b != ':' || endsSegment(pattern, i)))
			case c == '?':
				next[j] = row[j-1] && !(segments && b == ':')
			default:
				next[j] = row[j-1] && c == b
			}
		}
		row, next = next, row
	}
	return row[len(name)]
}

// endsSegment reports whether the * at i is the last character of its ARN
// segment in the pattern.
func endsSegment(pattern string, i int) bool {
	return i+1 == len(pattern) || pattern[i+1] == ':'
}
