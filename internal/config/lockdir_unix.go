//go:build unix

package config

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
)

// userLockDir is the lock directory under the home directory recorded for
// the real user ID in the account database. user.LookupId, unlike
// user.Current, never falls back to $HOME.
//
// Not /run/user/<uid>: that directory exists only while the user has a
// session (logind creates it at the first login and removes it, with every
// lock file in it, at the last logout), so a cron job, an ssh session
// without pam_systemd or a process that outlives the session would pick a
// different directory, or hold a lock on a deleted file, than the keeper.
// The home directory is the one place every process of the user agrees on
// at all times.
//
// On macOS, Application Support rather than Caches: the system and cleaning
// tools may empty ~/Library/Caches while a lock is held.
func userLockDir() (string, error) {
	uid := strconv.Itoa(os.Getuid())
	u, err := user.LookupId(uid)
	if err != nil {
		return "", fmt.Errorf("look up user %s in the account database: %w", uid, err)
	}
	if u.HomeDir == "" || !filepath.IsAbs(u.HomeDir) {
		return "", fmt.Errorf("user %s has no absolute home directory in the account database (got %q)", uid, u.HomeDir)
	}
	if runtime.GOOS == "darwin" {
		return filepath.Join(u.HomeDir, "Library", "Application Support", "tokentray", "locks"), nil
	}
	return filepath.Join(u.HomeDir, ".local", "state", "tokentray", "locks"), nil
}

// ensureLockDir creates dir 0700 if needed and checks that it is a
// directory owned by the calling user, tightening its mode to 0700 if it is
// looser. A directory owned by anyone else is refused: its owner could
// delete or hold our lock files.
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
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return "", errors.New("lock directory " + dir + ": cannot read its owner")
	}
	if uid := os.Getuid(); int(st.Uid) != uid {
		return "", fmt.Errorf("lock directory %s is owned by uid %d, not by you (uid %d); remove it or set %s", dir, st.Uid, uid, LockDirEnv)
	}
	if fi.Mode().Perm() != 0o700 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return "", fmt.Errorf("lock directory %s: make it private: %w", dir, err)
		}
	}
	return dir, nil
}
