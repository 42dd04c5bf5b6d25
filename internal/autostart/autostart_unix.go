//go:build !windows && !darwin

package autostart

import (
	"fmt"
	"os"
	"path/filepath"
)

// Path is the XDG autostart entry ($XDG_CONFIG_HOME/autostart/tokentray.desktop).
func Path() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("autostart: %w", err)
	}
	return filepath.Join(dir, "autostart", "tokentray.desktop"), nil
}

func entryContent(e Entry) string { return desktopEntry(e) }
