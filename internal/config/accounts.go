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
	err := Update(path, func(s *Settings) error {
		if _, ok := s.Account(a.Name); ok {
			return fmt.Errorf("%w; remove it first or choose another name", ErrAccountExists)
		}
		s.Accounts = append(s.Accounts, a)
		return nil
	})
	if err != nil {
		return fmt.Errorf("add account %q to %s: %w", a.Name, path, err)
	}
	return nil
}

// RemoveAccount removes the account called name from the settings file at
// path, under the same lock as AddAccount; every other setting and account is
// kept. An unknown name is refused with an error wrapping ErrNoAccount that
// lists the configured accounts. Nothing is written on error. It touches
// only the file: the account's secrets in the vault are the caller's to
// delete.
func RemoveAccount(path string, name string) error {
	err := Update(path, func(s *Settings) error {
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
			return fmt.Errorf("%w; configured accounts: %s", ErrNoAccount, configured)
		}
		s.Accounts = kept
		return nil
	})
	if err != nil {
		return fmt.Errorf("remove account %q from %s: %w", name, path, err)
	}
	return nil
}

// Update changes the settings file at path under the same lock as
// AddAccount: it re-reads the file (a missing file gives the defaults),
// calls change on what it read, and saves the result atomically if change
// returns nil and the result is valid. Nothing is written on any error;
// change's error is returned as is. Every writer of the file should go
// through Update (or AddAccount, RemoveAccount, Set), so that no process
// drops another's change, an account added meanwhile in particular.
func Update(path string, change func(*Settings) error) error {
	return withFileLock(path, func() error {
		s, err := ReadFile(path)
		if err != nil {
			return err
		}
		if err := change(&s); err != nil {
			return err
		}
		return Save(path, s)
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
