package config

import (
	"fmt"
	"os"
	"path/filepath"
)

// LockDirEnv names the only variable that moves LockDir. It exists for
// tests; setting it in some processes of a user and not in others breaks
// LockDir's guarantee, and with it "one refresh per account at a time".
const LockDirEnv = "TOKENTRAY_LOCK_DIR"

// LockDir returns the directory for cross-process lock files (refresh and
// vault locks), created 0700 and owned by the calling user. It promises the
// same path to every process of one OS user whatever their environment:
// HOME, XDG_*, TOKENTRAY_STATE_DIR, LOCALAPPDATA and the like are not read.
//
//   - Linux and the BSDs: <home>/.local/state/tokentray/locks
//   - macOS: <home>/Library/Application Support/tokentray/locks
//   - Windows: <LocalAppData known folder>\tokentray\locks
//
// where <home> is the user's home directory from the OS account database
// (getpwuid), not $HOME, and the Windows folder comes from the known-folder
// API, not %LOCALAPPDATA%. The only override is TOKENTRAY_LOCK_DIR (an
// absolute path), meant for tests: a process that sets it no longer shares
// locks with one that does not.
func LockDir() (string, error) {
	if d, ok := os.LookupEnv(LockDirEnv); ok {
		if !filepath.IsAbs(d) {
			return "", fmt.Errorf("%s=%q: must be an absolute path (or unset, for the per-user default)", LockDirEnv, d)
		}
		return ensureLockDir(filepath.Clean(d))
	}
	d, err := userLockDir()
	if err != nil {
		return "", fmt.Errorf("find lock directory: %w (set %s to an absolute path to choose one)", err, LockDirEnv)
	}
	return ensureLockDir(d)
}
