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

// Enable makes tokentray start at login.
func Enable(e Entry) error {
	if err := e.check(); err != nil {
		return err
	}
	p, err := Path()
	if err != nil {
		return err
	}
	return writeFile(p, desktopEntry(e))
}

// Disable removes the login entry; no entry is no error.
func Disable() error {
	p, err := Path()
	if err != nil {
		return err
	}
	return removeFile(p)
}

// Current reports the login entry.
func Current() (Status, error) {
	p, err := Path()
	if err != nil {
		return Status{}, err
	}
	return fileStatus(p)
}
