//go:build windows

package config

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/windows"
)

// userLockDir is under the user's LocalAppData known folder, asked of the
// shell API so that a changed %LOCALAPPDATA% or %USERPROFILE% does not move
// it.
func userLockDir() (string, error) {
	base, err := windows.KnownFolderPath(windows.FOLDERID_LocalAppData, windows.KF_FLAG_DEFAULT)
	if err != nil {
		return "", fmt.Errorf("find the LocalAppData folder: %w", err)
	}
	return filepath.Join(base, "tokentray", "locks"), nil
}

// ensureLockDir creates dir if needed. Folders under LocalAppData inherit
// an ACL that admits only the user, SYSTEM and administrators.
func ensureLockDir(dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("create lock directory %s: %w", dir, err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return "", fmt.Errorf("lock directory %s: %w", dir, err)
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("lock directory %s: not a directory", dir)
	}
	return dir, nil
}
