//go:build darwin

package autostart

import (
	"fmt"
	"os"
	"path/filepath"
)

// Path is the LaunchAgent plist (~/Library/LaunchAgents/io.github.tokentray.plist).
func Path() (string, error) {
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("autostart: %w", err)
	}
	return filepath.Join(home, "Library", "LaunchAgents", Label+".plist"), nil
}

func entryContent(e Entry) string { return launchAgent(e) }
