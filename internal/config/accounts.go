package config

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gofrs/flock"
)

// ErrAccountExists is wrapped by AddAccount when the file already holds an
// account of that name.
var ErrAccountExists = errors.New("account exists already")

// ErrNoAccount is wrapped by RemoveAccount when the file holds no account of
// that name.
var ErrNoAccount = errors.New("no such account")

// fileLockWait bounds how long AddAccount and RemoveAccount wait for another
// process that holds the settings file's lock; fileLockRetry is the pause
// between attempts. Variables so tests can shorten them.
var (
	fileLockWait  = 10 * time.Second
	fileLockRetry = 10 * time.Millisecond
)

// AddAccount validates a and appends it to the settings file at path, under
// an exclusive lock on path+".lock" shared by every process that edits
// accounts this way, so concurrent adds and removes never drop each other's
// change. The file is re-read under the lock; every other setting in it is
// kept. A missing file is created with the defaults plus a. An invalid
// account is refused with a *ValidationError naming the field; a name in use
// is refused with an error wrapping ErrAccountExists. Nothing is written on
// error.
func AddAccount(path string, a Account) error {
	if err := a.Validate(); err != nil {
		return fmt.Errorf("add account %q: %w", a.Name, err)
	}
	return withFileLock(path, func() error {
		s, err := ReadFile(path)
		if err != nil {
			return fmt.Errorf("add account %q: %w", a.Name, err)
		}
		if _, ok := s.Account(a.Name); ok {
			return fmt.Errorf("add account %q to %s: %w; remove it first or choose another name", a.Name, path, ErrAccountExists)
		}
		s.Accounts = append(s.Accounts, a)
		if err := Save(path, s); err != nil {
			return fmt.Errorf("add account %q: %w", a.Name, err)
		}
		return nil
	})
}

// RemoveAccount removes the account called name from the settings file at
// path, under the same lock as AddAccount; every other setting and account is
// kept. An unknown name is refused with an error wrapping ErrNoAccount that
// lists the configured accounts. Nothing is written on error. It touches
// only the file: the account's secrets in the vault are the caller's to
// delete.
func RemoveAccount(path string, name string) error {
	return withFileLock(path, func() error {
		s, err := ReadFile(path)
		if err != nil {
			return fmt.Errorf("remove account %q: %w", name, err)
		}
		kept := make([]Account, 0, len(s.Accounts))
		names := make([]string, 0, len(s.Accounts))
		for _, a := range s.Accounts {
			names = append(names, a.Name)
			if a.Name != name {
				kept = append(kept, a)
			}
		}
		if len(kept) == len(s.Accounts) {
			configured := "none"
			if len(names) > 0 {
				configured = strings.Join(names, ", ")
			}
			return fmt.Errorf("remove account %q from %s: %w; configured accounts: %s", name, path, ErrNoAccount, configured)
		}
		s.Accounts = kept
		if err := Save(path, s); err != nil {
			return fmt.Errorf("remove account %q: %w", name, err)
		}
		return nil
	})
}

// withFileLock runs fn holding the exclusive lock file path+".lock",
// creating the file's directory (0700) when needed. It waits at most
// fileLockWait for another holder.
func withFileLock(path string, fn func() error) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(path), err)
	}
	lockPath := path + ".lock"
	fl := flock.New(lockPath, flock.SetPermissions(0o600))
	ctx, cancel := context.WithTimeout(context.Background(), fileLockWait)
	defer cancel()
	ok, err := fl.TryLockContext(ctx, fileLockRetry)
	if err != nil || !ok {
		_ = fl.Close()
		if errors.Is(err, context.DeadlineExceeded) || (err == nil && !ok) {
			return fmt.Errorf("another tokentray process has held the settings lock %s for %s; try again when it is done", lockPath, fileLockWait)
		}
		return fmt.Errorf("take settings lock %s: %w", lockPath, err)
	}
	defer func() { _ = fl.Unlock() }()
	return fn()
}
