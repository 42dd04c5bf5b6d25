// Suggestions for a mistyped key: the known key closest to it.

package config

import "strings"

// nearestKey suggests the known key closest to a mistyped one.
func nearestKey(name string) string {
	best, bestD := "", 4
	for _, k := range keys {
		if d := levenshtein(name, k.name); d < bestD {
			best, bestD = k.name, d
		}
		// refresh.interval → refresh.interval_hours
		if strings.HasPrefix(k.name, name) && len(name) >= 5 && best == "" {
			best = k.name
		}
	}
	return best
}

func levenshtein(a, b string) int {
	if len(a) > 100 || len(b) > 100 {
		return 100
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := 1
			if a[i-1] == b[j-1] {
				c = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+c)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
