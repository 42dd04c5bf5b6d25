// Package shell writes values so that a shell reads them back unchanged:
// single-quoted words for POSIX sh, fish and PowerShell, and environment
// assignments in each one's syntax.
package shell

import (
	"fmt"
	"strings"
)

// Names are the shells Assignment knows, in the order help lists them.
var Names = []string{"sh", "fish", "powershell"}

// Assign renders one environment assignment in a shell's syntax.
type Assign func(name, value string) string

// Assignment returns the assignment syntax of the named shell (one of Names).
func Assignment(shell string) (Assign, error) {
	switch shell {
	case "sh":
		return func(n, v string) string { return "export " + n + "=" + Sh(v) }, nil
	case "fish":
		return func(n, v string) string { return "set -gx " + n + " " + Fish(v) }, nil
	case "powershell":
		return func(n, v string) string { return "$env:" + n + " = " + PowerShell(v) }, nil
	}
	return nil, fmt.Errorf("unknown shell %q: want one of %s", shell, strings.Join(Names, ", "))
}

// Sh quotes s for POSIX sh: inside single quotes nothing is special but
// the quote itself, written as a closing quote, an escaped quote (\') and
// an opening quote.
func Sh(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// Fish quotes s for fish: inside single quotes only \ and ' are
// special, each escaped with a backslash.
func Fish(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// PowerShell quotes s for PowerShell: a verbatim single-quoted string where
// a quote is doubled; PowerShell also takes the typographic single quotes
// ‘ ’ ‚ ‛ as quotes, so they are doubled too.
func PowerShell(s string) string {
	var b strings.Builder
	b.WriteByte('\'')
	for _, r := range s {
		switch r {
		case '\'', '\u2018', '\u2019', '\u201a', '\u201b':
			b.WriteRune(r)
		}
		b.WriteRune(r)
	}
	b.WriteByte('\'')
	return b.String()
}
