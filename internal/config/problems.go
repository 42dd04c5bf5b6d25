// The shape of a refusal: each invalid value with its key, value, allowed
// range and origin, and the error that lists them all.

package config

import (
	"fmt"
	"strings"
)

// Problem is one invalid value.
type Problem struct {
	Key     string // setting name, e.g. refresh.interval_hours
	Value   string // what was given, as text
	Allowed string // what is allowed
	Origin  string // "file /path", "env TOKENTRAY_...", "flag --set"
	Reason  string
}

func (p Problem) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s", p.Key)
	if p.Value != "" || (!strings.HasPrefix(p.Reason, "unknown") && !strings.HasPrefix(p.Key, "(")) {
		fmt.Fprintf(&b, " = %q", p.Value)
	}
	if p.Origin != "" {
		fmt.Fprintf(&b, " (from %s)", p.Origin)
	}
	fmt.Fprintf(&b, ": %s", p.Reason)
	if p.Allowed != "" {
		fmt.Fprintf(&b, "; allowed: %s", p.Allowed)
	}
	return b.String()
}

// ValidationError lists every problem found; nothing was applied.
type ValidationError struct {
	Problems []Problem
}

func (e *ValidationError) Error() string {
	if len(e.Problems) == 1 {
		return "invalid setting: " + e.Problems[0].String()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d invalid settings:", len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	return b.String()
}
