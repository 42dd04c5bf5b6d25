package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/tokentray/tokentray/internal/state"
	"github.com/tokentray/tokentray/internal/vault"
)

// A pair held in memory after a failed save is written later, but never
// blind: another process may have signed the account out, signed it in as
// another identity or stored a newer rotation meanwhile, and the held pair
// must not undo that (invariant 1). Before writing, the engine re-reads the
// store under the account's lock file and compares it with what the store
// held when the pair came to be held (heldBase).

// storedRef is what the store held when a pair came to be held in memory:
// env, or ok false when it held none or could not be read.
type storedRef struct {
	env vault.Envelope
	ok  bool
}

// heldVerdict is what to do with a held pair, given the store's envelope now.
type heldVerdict int

const (
	heldWrite         heldVerdict = iota // the store has what the pair replaces: write it
	heldStored                           // the store already has the pair
	heldSignedOut                        // the account was signed out since: drop the pair
	heldOtherIdentity                    // another identity was signed in since: drop the pair
	heldNewer                            // a newer sign-in or rotation was stored since: drop the pair
)

func (v heldVerdict) String() string {
	return [...]string{"write", "stored", "signed out", "other identity", "newer"}[v]
}

// heldVerdictFor decides about the held pair held, which replaced base, now
// that the store holds cur (curOK false: no sign-in stored).
func heldVerdictFor(held vault.Envelope, base storedRef, cur vault.Envelope, curOK bool) heldVerdict {
	switch {
	case !curOK && base.ok:
		return heldSignedOut
	case !curOK:
		return heldWrite // nothing was stored before either (a first sign-in)
	case cur.RefreshToken == held.RefreshToken:
		return heldStored
	case base.ok && cur.RefreshToken == base.env.RefreshToken:
		return heldWrite // unchanged since the pair was held
	case !base.ok && !cur.ObtainedAt.After(held.ObtainedAt):
		return heldWrite // older than the held pair: what it replaces
	case otherIdentity(held.Claims, cur.Claims):
		return heldOtherIdentity
	}
	return heldNewer
}

// otherIdentity reports whether two envelopes' claims name different users.
// Unknown claims name nobody in particular.
func otherIdentity(x, y vault.Claims) bool {
	if x.Subject != "" && y.Subject != "" {
		return x.Subject != y.Subject || x.TenantID != "" && y.TenantID != "" && x.TenantID != y.TenantID
	}
	if x.PreferredUsername != "" && y.PreferredUsername != "" {
		return !strings.EqualFold(x.PreferredUsername, y.PreferredUsername)
	}
	return false
}

// errHeldUnchecked is the save error of a held pair whose store could not be
// read to check it.
var errHeldUnchecked = errors.New("the vault could not be read to check for a sign-out or newer sign-in elsewhere")

// settleHeld writes a's held pair if the store still has what it replaces,
// else drops it (yielded) and takes what the store has. The caller holds a's
// flight and lock file; the store is read with ctx and written with sctx.
// It returns checked false when the store could not be read (then nothing
// was written), and the read or write failure.
func (e *Engine) settleHeld(ctx, sctx context.Context, a *account) (checked, yielded bool, err error) {
	e.mu.Lock()
	held, base, unsaved := a.env, a.heldBase, a.unsaved
	e.mu.Unlock()
	if !unsaved {
		return true, false, nil
	}
	cur, err := e.store.Load(ctx, a.name)
	if err != nil && !errors.Is(err, vault.ErrNotFound) {
		return false, false, fmt.Errorf("%w: %w", errHeldUnchecked, err)
	}
	curOK := err == nil && cur.RefreshToken != ""
	v := heldVerdictFor(held, base, cur, curOK)
	switch v {
	case heldWrite:
		if err := e.store.Save(sctx, a.name, held); err != nil {
			return true, false, err
		}
		fallthrough
	case heldStored:
		e.mu.Lock()
		e.savedLocked(a)
		e.mu.Unlock()
		return true, false, nil
	}
	e.mu.Lock()
	e.yieldLocked(a, v, cur)
	e.mu.Unlock()
	e.log.Info("held token dropped: the vault has a newer state", "account", a.name, "why", v.String())
	return true, true, nil
}

// yieldLocked drops a's held pair for what the store has now (cur) and says
// why in a's Reason.
func (e *Engine) yieldLocked(a *account, v heldVerdict, cur vault.Envelope) {
	a.unsaved = false
	a.heldRotated = false
	a.heldBase = storedRef{}
	a.saveErr = nil
	a.saveFailures = 0
	if a.lastErr != nil && a.lastErr.Class == state.ClassStorage {
		a.lastErr = nil
	}
	const dropped = "; the token this process held unsaved was dropped"
	var reason string
	switch v {
	case heldSignedOut:
		e.signedOutLocked(a)
		a.env.ClientSecret = cur.ClientSecret
		reason = "signed out in another process" + dropped
	case heldOtherIdentity:
		e.adoptLocked(a, cur)
		reason = "signed in as another identity in another process" + dropped
	default:
		e.adoptLocked(a, cur)
		reason = "another process stored a newer sign-in or refresh" + dropped
	}
	if a.state == state.StorageDegraded {
		a.state = state.OK
	}
	a.reason = reason
	e.changedLocked(a)
}
