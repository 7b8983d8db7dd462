package config

import (
	"fmt"
	"strings"
)

// suggest returns the candidate closest to s when it is a near miss (a
// typo, a swapped pair, a missing prefix such as oslo's "rabbit_" or a missing suffix), or "".
func suggest(s string, candidates []string) string {
	best, bestDist := "", -1
	for _, c := range candidates {
		d := distance(s, c)
		if bestDist < 0 || d < bestDist {
			best, bestDist = c, d
		}
	}
	limit := max(1, min(len(s), len(best))/3)
	if bestDist >= 0 && bestDist <= limit {
		return best
	}
	for _, c := range candidates {
		if strings.HasSuffix(c, "_"+s) || strings.HasSuffix(s, "_"+c) || strings.HasPrefix(c, s+"_") || strings.HasPrefix(s, c) {
			return c
		}
	}
	return ""
}

// hint returns " (did you mean "x"?)" or, with no near miss, the
// candidates after intro: " (tenants are: a, b)"; empty when there are
// no candidates.
func hint(s string, candidates []string, intro string) string {
	if len(candidates) == 0 {
		return ""
	}
	if m := suggest(s, candidates); m != "" {
		return fmt.Sprintf(" (did you mean %q?)", m)
	}
	return " (" + intro + strings.Join(candidates, ", ") + ")"
}

// distance is the Damerau-Levenshtein distance (optimal string alignment)
// between a and b, in bytes; both are short keys.
func distance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		if a == b {
			return 0
		}
		return max(len(a), len(b))
	}
	rows := make([][]int, len(a)+1)
	for i := range rows {
		rows[i] = make([]int, len(b)+1)
		rows[i][0] = i
	}
	for j := range rows[0] {
		rows[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d := min(rows[i-1][j]+1, rows[i][j-1]+1, rows[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d = min(d, rows[i-2][j-2]+1)
			}
			rows[i][j] = d
		}
	}
	return rows[len(a)][len(b)]
}
