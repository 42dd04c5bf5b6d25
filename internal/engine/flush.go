package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tokentray/tokentray/internal/vault"
)

// ErrUnsaved is matched (errors.Is) by Flush's error when the provider
// rotated an account's refresh token and the new one is held only in this
// process's memory: the process must not exit as if all were well.
var ErrUnsaved = errors.New("a new refresh token is held only in memory")

// flushWaits are the pauses before Flush's second and later attempts.
var flushWaits = []time.Duration{250 * time.Millisecond, time.Second}

// Flush saves every pair the engine holds only in memory because saving it
// failed, trying up to three times with short pauses, as long as ctx allows.
// A process about to exit calls it. It returns nil when nothing the store
// lacks is lost at exit: every pair is saved, or an unsaved one kept the
// stored refresh token (only a new access token would be lost). Otherwise it
// returns an error matching ErrUnsaved that names each account whose rotated
// refresh token exists only in this process, why saving failed and what to
// do.
func (e *Engine) Flush(ctx context.Context) error {
	for i := 0; ; i++ {
		pending := e.unsavedAccounts()
		if len(pending) == 0 {
			return nil
		}
		if i > len(flushWaits) || ctx.Err() != nil {
			break
		}
		if i > 0 {
			t := time.NewTimer(flushWaits[i-1])
			select {
			case <-ctx.Done():
			case <-t.C:
			}
			t.Stop()
		}
		for _, a := range pending {
			if err := e.acquire(ctx, a, true); err != nil {
				continue // removed, or ctx ended
			}
			_ = e.saveHeld(ctx, ctx, a)
			e.release(a)
		}
	}
	var errs []error
	e.mu.Lock()
	for _, a := range e.accts {
		if !a.unsaved {
			continue
		}
		if !a.heldRotated {
			e.log.Warn("new access token not saved; the stored refresh token still works", "account", a.name)
			continue
		}
		errs = append(errs, &unsavedError{account: a.name, cause: a.saveErr})
	}
	e.mu.Unlock()
	return errors.Join(errs...)
}

// unsavedAccounts lists the accounts holding a pair the store lacks.
func (e *Engine) unsavedAccounts() []*account {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []*account
	for _, a := range e.accts {
		if a.unsaved {
			out = append(out, a)
		}
	}
	return out
}

// unsavedError is one account of Flush's error.
type unsavedError struct {
	account string
	cause   error // the last failed save; may be nil
}

func (u *unsavedError) Error() string {
	why, todo := "the token storage failed", "fix the token storage"
	switch {
	case errors.Is(u.cause, vault.ErrLocked):
		why, todo = "keychain locked", "unlock the keychain"
	case errors.Is(u.cause, vault.ErrTimeout):
		why, todo = "the keychain did not answer in time", "make sure the keychain answers (unlock it, or restart its service)"
	case u.cause != nil:
		why = u.cause.Error()
	}
	return fmt.Sprintf("account %q: the provider rotated its refresh token but saving it failed (%s); "+
		"this process holds the only copy — %s and run the command again before the old token is revoked", u.account, why, todo)
}

func (u *unsavedError) Unwrap() error        { return u.cause }
func (u *unsavedError) Is(target error) bool { return target == ErrUnsaved }
