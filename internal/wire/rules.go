package wire

import (
	"fmt"
	"time"
)

// --min-valid: how long a token asked for must stay valid.
const (
	DefaultMinValid = 5 * time.Minute
	MaxMinValid     = time.Hour
)

// CheckMinValid refuses a --min-valid outside 0s–MaxMinValid.
func CheckMinValid(d time.Duration) error {
	if d < 0 || d > MaxMinValid {
		return fmt.Errorf("--min-valid %s: want a duration from 0s to %s", d, fmtHours(MaxMinValid))
	}
	return nil
}

// fmtHours formats a whole number of hours as "1h".
func fmtHours(d time.Duration) string { return fmt.Sprintf("%dh", int(d/time.Hour)) }

// ShorterThanAsked is the note printed on stderr when a token's lifetime
// (as issued) is shorter than the minValid asked for: the token is fresh,
// and refreshed at most once per half lifetime.
func ShorterThanAsked(lifetime, minValid time.Duration) string {
	return fmt.Sprintf("tokentray: the provider's access tokens last %s, less than --min-valid %s; this one is fresh (refreshed at most once per half lifetime)",
		lifetime.Round(time.Second), minValid)
}

// MaxAccountName is the longest account name.
const MaxAccountName = 64

// ValidAccountName reports whether name can name an account: 1–64 letters,
// digits, dot, dash or underscore, starting with a letter or digit.
func ValidAccountName(name string) bool {
	if len(name) == 0 || len(name) > MaxAccountName {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case (c == '.' || c == '-' || c == '_') && i > 0:
		default:
			return false
		}
	}
	return true
}

// CheckAccountName is ValidAccountName with the message naming the rule.
func CheckAccountName(name string) error {
	if !ValidAccountName(name) {
		return fmt.Errorf("account name %q is not allowed; use 1–64 letters, digits, '.', '-' or '_', starting with a letter or digit", name)
	}
	return nil
}
