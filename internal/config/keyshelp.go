package config

import (
	"fmt"
	"strings"
)

// KeysHelp lists every settings key with its meaning, default and
// allowed values, one per line (tokentray config set --help).
func KeysHelp() string {
	var b strings.Builder
	for _, k := range Keys() {
		def := k.Default
		if def == "" {
			def = "none"
		}
		fmt.Fprintf(&b, "  %-26s %s (default %s; %s)\n", k.Name, k.Doc, def, k.Allowed)
	}
	return b.String()
}
