// Where tokentray's files live: the settings file and the state directory.

package config

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
)

// DefaultPath is config.yaml under the user's config directory
// (XDG_CONFIG_HOME on Linux).
func DefaultPath() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("find config directory: %w", err)
	}
	return filepath.Join(dir, "tokentray", "config.yaml"), nil
}

// StateDir is where non-secret runtime state and logs live. On Linux and
// the BSDs it is $XDG_STATE_HOME/tokentray when XDG_STATE_HOME is an absolute
// path, else ~/.local/state/tokentray; on macOS ~/Library/Caches/tokentray;
// on Windows %LocalAppData%\tokentray. No other variable (XDG_CACHE_HOME in
// particular) moves it. It follows the environment; cross-process locks do
// not, see LockDir.
func StateDir() (string, error) {
	return stateDir(runtime.GOOS, os.Getenv, os.UserHomeDir, os.UserCacheDir)
}

func stateDir(goos string, getenv func(string) string, home, cache func() (string, error)) (string, error) {
	if goos != "windows" && goos != "darwin" {
		if d := getenv("XDG_STATE_HOME"); d != "" && filepath.IsAbs(d) {
			return filepath.Join(d, "tokentray"), nil
		}
		h, err := home()
		if err != nil {
			return "", fmt.Errorf("find state directory: %w", err)
		}
		return filepath.Join(h, ".local", "state", "tokentray"), nil
	}
	dir, err := cache()
	if err != nil {
		return "", fmt.Errorf("find state directory: %w", err)
	}
	return filepath.Join(dir, "tokentray"), nil
}
