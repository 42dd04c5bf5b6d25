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

// Enable makes tokentray start at login.
func Enable(e Entry) error {
	if err := e.check(); err != nil {
		return err
	}
	p, err := Path()
	if err != nil {
		return err
	}
	return writeFile(p, launchAgent(e))
}

// Disable removes the LaunchAgent; none is no error.
func Disable() error {
	p, err := Path()
	if err != nil {
		return err
	}
	return removeFile(p)
}

// Current reports the LaunchAgent.
func Current() (Status, error) {
	p, err := Path()
	if err != nil {
		return Status{}, err
	}
	_, err = os.Stat(p)
	if os.IsNotExist(err) {
		return Status{Where: p}, nil
	}
	if err != nil {
		return Status{Where: p}, fmt.Errorf("autostart: %w", err)
	}
	return Status{Enabled: true, Where: p}, nil
}
