// Package quietlocale, imported for its side effect by main, keeps Fyne from
// logging "Error parsing user locale C" under the C.UTF-8 locale common in
// containers, cron jobs and CI: the C locale names no language, so English is
// meant. It must run before Fyne's package initialisers, which is why it is a
// package of its own with no dependencies beyond os and strings (Go
// initialises it before golang.org/x/text, which Fyne's lang package needs).
package quietlocale

import (
	"os"
	"strings"
)

func init() {
	for _, name := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		v := os.Getenv(name)
		if v == "" {
			continue
		}
		if (strings.HasPrefix(v, "C.") || strings.HasPrefix(v, "POSIX.")) && os.Getenv("LANGUAGE") == "" {
			_ = os.Setenv("LANGUAGE", "en")
		}
		return
	}
}
