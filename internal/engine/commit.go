package engine

import (
	"context"
	"errors"
	"time"

	"github.com/tokentray/tokentray/internal/oauth"
	"github.com/tokentray/tokentray/internal/state"
	"github.com/tokentray/tokentray/internal/vault"
)

// commit saves the pair tok produced on top of env and records the success.
// It runs under the flight and the lock. The save is not cancelled with ctx:
// a rotated refresh token must not be lost to a cancellation (it gets
// saveGrace after ctx ends). base is what the store holds (the new pair
// replaces it); with write false the store's state is unknown, so the pair
// is held unsaved and settled later (held.go) instead of written blind.
func (e *Engine) commit(ctx context.Context, a *account, env vault.Envelope, tok oauth.Token, now time.Time, counted bool, base storedRef, write bool) (state.Result, vault.Envelope) {
	n := merge(env, tok, now)
	err := e.savePair(ctx, a, n, write)
	e.mu.Lock()
	// The held pair's refresh token differs from the stored one if this
	// response rotated it or an earlier unsaved response had.
	rotated := n.RefreshToken != env.RefreshToken || a.unsaved && a.heldRotated
	e.learnSkewLocked(tok.ClockOffset, now)
	e.successLocked(a, n, tok.Fresh, err == nil, now, err)
	a.heldRotated = a.unsaved && rotated
	if a.unsaved {
		a.heldBase = base
	}
	if counted {
		e.counters.RefreshSuccessTotal++
	}
	e.mu.Unlock()
	return state.Result{Account: a.name, Fresh: tok.Fresh, Expiry: n.Expiry, Saved: err == nil}, n
}

// savePair saves n as a's pair, not cancelled with ctx (saveGrace after
// it ends); with write false it does not write (the store's state is
// unknown) and returns errHeldUnchecked. A failure is logged: the caller
// holds n in memory (unsavedLocked).
func (e *Engine) savePair(ctx context.Context, a *account, n vault.Envelope, write bool) error {
	if !write {
		e.log.Warn("save failed; new token kept in memory", "account", a.name, "error", errHeldUnchecked)
		return errHeldUnchecked
	}
	sctx, cancel := detach(ctx, saveGrace)
	err := e.store.Save(sctx, a.name, n)
	cancel()
	if err != nil {
		e.log.Warn("save failed; new token kept in memory", "account", a.name, "error", err)
	}
	return err
}

// merge applies a token response to the stored envelope. A response without
// a refresh token keeps the old one (invariant 1).
func merge(env vault.Envelope, tok oauth.Token, now time.Time) vault.Envelope {
	n := env
	n.Version = vault.CurrentVersion
	n.AccessToken = tok.AccessToken
	n.Expiry = tok.Expiry.Round(0)
	if tok.TokenType != "" {
		n.TokenType = tok.TokenType
	}
	if tok.RefreshToken != "" {
		n.RefreshToken = tok.RefreshToken
	}
	if len(tok.Scopes) > 0 {
		n.Scopes = append([]string(nil), tok.Scopes...)
	}
	if tok.Claims != (oauth.Claims{}) {
		n.Claims = vault.Claims(tok.Claims)
	}
	n.ObtainedAt = now
	return n
}

// reread returns the newest envelope under the lock: the unsaved in-memory
// pair if there is one and it still stands (after trying once more to save
// it; see settleHeld), else the store's. base is what the store holds, which
// a new pair replaces; checked is false when the store could not be read to
// check the held pair (a new pair must then not be written blind).
func (e *Engine) reread(ctx context.Context, a *account) (env vault.Envelope, base storedRef, checked bool, err error) {
	e.mu.Lock()
	wasUnsaved := a.unsaved
	e.mu.Unlock()
	if wasUnsaved {
		sctx, cancel := detach(ctx, saveGrace)
		checked, yielded, _ := e.settleHeld(ctx, sctx, a)
		cancel()
		e.mu.Lock()
		unsaved, held, hb, signedIn := a.unsaved, a.env, a.heldBase, a.haveEnv
		e.mu.Unlock()
		switch {
		case unsaved: // not saved (or not checked): refresh with the held pair
			return held, hb, checked, nil
		case yielded && !signedIn:
			return vault.Envelope{}, storedRef{}, true, ErrSignedOut
		}
		// Saved now, or dropped for what the store has (now a.env).
		return held, storedRef{held, true}, true, nil
	}
	env, err = e.store.Load(ctx, a.name)
	if errors.Is(err, vault.ErrNotFound) || (err == nil && env.RefreshToken == "") {
		// No envelope, or only a confidential client's secret stored
		// before the first sign-in.
		e.mu.Lock()
		e.signedOutLocked(a)
		a.env.ClientSecret = env.ClientSecret
		e.mu.Unlock()
		return vault.Envelope{}, storedRef{}, true, ErrSignedOut
	}
	if err != nil {
		return vault.Envelope{}, storedRef{}, false, err
	}
	e.mu.Lock()
	e.adoptLocked(a, env)
	env = a.env
	e.mu.Unlock()
	return env, storedRef{env, true}, true, nil
}

// savedLocked records that a's in-memory pair is in the store: nothing is
// held unsaved any more, and a storage degradation ends.
func (e *Engine) savedLocked(a *account) {
	a.unsaved = false
	a.heldRotated = false
	a.heldBase = storedRef{}
	a.saveErr = nil
	a.saveFailures = 0
	if a.state == state.StorageDegraded {
		a.state = state.OK
		if a.lastErr != nil && a.lastErr.Class == state.ClassStorage {
			a.lastErr = nil
		}
	}
}

// retrySave tries again to save a pair that is held only in memory. It
// returns errBusy if the account's flight is taken, else nil (the outcome is
// recorded in the account).
func (e *Engine) retrySave(ctx context.Context, a *account) error {
	if err := e.acquire(ctx, a, false); err != nil {
		return err
	}
	defer e.release(a)
	sctx, cancel := detach(ctx, saveGrace)
	defer cancel()
	_ = e.saveHeld(ctx, sctx, a)
	return nil
}

// saveHeld writes a's unsaved pair to the store under the lock file (taken
// with ctx; the save runs with sctx) and records the outcome. It returns the
// failure, nil if the pair is saved or there is none. The caller holds a's
// flight.
func (e *Engine) saveHeld(ctx, sctx context.Context, a *account) error {
	e.setBusy(a)
	defer e.done(a)
	unlock, err := e.lockFile(ctx, a)
	if err == nil {
		defer unlock()
		var yielded bool
		_, yielded, err = e.settleHeld(ctx, sctx, a)
		if err == nil {
			if !yielded {
				e.log.Info("saved token kept in memory", "account", a.name)
			}
			return nil
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if !a.unsaved {
		return nil
	}
	a.saveFailures++
	a.saveErr = err
	now := e.now()
	a.saveRetryAt = now.Add(spread(e.pol.backoff(a.saveFailures), e.rnd))
	a.lastErr = &state.ErrorInfo{Class: state.ClassStorage, Message: saveMessage(err), At: now}
	e.log.Warn("save retry failed; token still in memory only", "account", a.name, "error", err, "retry_in", a.saveRetryAt.Sub(now).Round(time.Second))
	return err
}

// saveRotated saves the refresh token a per-resource refresh rotated, on
// top of env (the account's main access token stays), exactly as a main
// refresh saves its pair: before the token is handed out; if the save
// fails, or the store could not be checked (write false), the pair is held
// in memory, marked unsaved and retried (held.go). It reports whether the
// pair was saved.
func (e *Engine) saveRotated(ctx context.Context, a *account, env vault.Envelope, rt string, base storedRef, write bool, now time.Time) bool {
	n := env
	n.Version = vault.CurrentVersion
	n.RefreshToken = rt
	err := e.savePair(ctx, a, n, write)
	e.mu.Lock()
	defer e.mu.Unlock()
	a.env = n
	a.haveEnv = true
	if err == nil {
		e.savedLocked(a)
		return true
	}
	e.unsavedLocked(a, err, now)
	a.heldRotated = true
	a.heldBase = base
	return false
}
