package engine

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/tokentray/tokentray/internal/oauth"
	"github.com/tokentray/tokentray/internal/state"
	"github.com/tokentray/tokentray/internal/vault"
)

// account is one account's in-memory state.
type account struct {
	name    string
	profile oauth.Profile
	sem     chan struct{} // cap 1: held by the account's one flight
	gone    chan struct{} // closed (under Engine.mu) when the account is removed
	lockFh  *os.File      // the lock file, kept open between flights (unix); used only by the flight holder
	slot    int32         // 1 + index in Run's schedule heap, 0 = none; used only by the schedule's owner

	// Guarded by Engine.mu.
	busy              bool
	manual            *flight     // the running RefreshNow flight, shared by concurrent callers
	state             state.State // never Refreshing: busy says that
	reason            string
	env               vault.Envelope // newest envelope known (loaded, saved or unsaved)
	haveEnv           bool
	unsaved           bool      // env holds a pair the store does not have
	heldRotated       bool      // unsaved, and env's refresh token is not the stored one
	saveErr           error     // the last failed save of the unsaved pair
	heldBase          storedRef // unsaved: what the store held when the pair came to be held
	saveFailures      int
	saveRetryAt       time.Time
	lastAttempt       time.Time
	lastSuccess       time.Time
	fresh             bool
	lastErr           *state.ErrorInfo
	failures          int
	backoffUntil      time.Time
	retryAfterUntil   time.Time
	deferUntil        time.Time // budget spent: not before this
	jitter            time.Duration
	history           []event
	dirty             bool
	persistedSignedIn bool
	synced            stateAccount // a's entry in the state file when this engine last synced it
	baseline          stateAccount // a's own entry (entryLocked) right after that sync
	haveSynced        bool
	radar             radarRecord    // the expiry radar's record (radar.go)
	scoped            []*scopedEntry // per-resource tokens (scopedcache.go), least recently used first; memory only
	narrows           string         // grantcheck.go: why narrower-scope refreshes are off for a (the provider narrowed the grant); memory only
	claimed           claimed        // scopedcache.go: the claims env's access token was last asked for with
}

func newAccount(a Account) *account {
	return &account{name: a.Name, profile: a.Profile, sem: make(chan struct{}, 1), gone: make(chan struct{}), state: state.SignedOut}
}

// removed reports whether RemoveAccount has dropped a. Once true it stays
// true; a flight that starts after it is refused with ErrUnknownAccount.
func (a *account) removed() bool {
	select {
	case <-a.gone:
		return true
	default:
		return false
	}
}

// flight is a running RefreshNow whose result concurrent callers share.
type flight struct {
	done chan struct{}
	res  state.Result
	err  error
}

// event is a compact history entry.
type event struct {
	at, expiry int64 // Unix ns
	ok, fresh  bool
}

const (
	historyWindow = 24 * time.Hour
	historyCap    = 512
)

func (a *account) addEvent(now time.Time, ok, fresh bool, expiry time.Time) {
	a.pruneHistory(now)
	if len(a.history) >= historyCap {
		// Drop the oldest quarter at once: amortised O(1) per event.
		a.history = append(a.history[:0], a.history[historyCap/4:]...)
	}
	var exp int64
	if !expiry.IsZero() {
		exp = expiry.UnixNano()
	}
	a.history = append(a.history, event{at: now.UnixNano(), expiry: exp, ok: ok, fresh: fresh})
}

func (a *account) pruneHistory(now time.Time) {
	cut := now.Add(-historyWindow).UnixNano()
	i := 0
	for i < len(a.history) && a.history[i].at < cut {
		i++
	}
	if i > 0 {
		a.history = append(a.history[:0], a.history[i:]...)
	}
}

func (a *account) events(now time.Time) []state.Event {
	cut := now.Add(-historyWindow).UnixNano()
	out := make([]state.Event, 0, len(a.history))
	for _, h := range a.history {
		if h.at < cut {
			continue
		}
		ev := state.Event{At: time.Unix(0, h.at).UTC(), Kind: state.EventFailed, Fresh: h.fresh}
		if h.ok {
			ev.Kind = state.EventOK
		}
		if h.expiry != 0 {
			ev.Expiry = time.Unix(0, h.expiry).UTC()
		}
		out = append(out, ev)
	}
	return out
}

// adoptLocked takes env, read from the store, as the newest known envelope.
// An envelope obtained after our last attempt means another process signed
// in or refreshed: that ends a failure episode.
func (e *Engine) adoptLocked(a *account, env vault.Envelope) {
	env.Expiry = env.Expiry.Round(0)
	env.ObtainedAt = env.ObtainedAt.Round(0)
	now := e.now()
	env = untrustFuture(env, now)
	e.clampLocked(a, now)
	a.env = env
	a.haveEnv = true
	if a.state == state.SignedOut {
		a.state = state.OK
	}
	if env.ObtainedAt.After(a.lastSuccess) {
		a.lastSuccess = env.ObtainedAt
		a.jitter = e.pol.jitter(e.rnd)
		if a.failures > 0 || a.state == state.NeedsSignIn {
			if env.ObtainedAt.After(a.lastAttempt) {
				a.clearFailures()
				a.state = state.OK
			}
		}
	}
	if a.state == state.StorageDegraded && !a.unsaved {
		a.state = state.OK
	}
}

func (a *account) clearFailures() {
	a.failures = 0
	a.backoffUntil = time.Time{}
	a.retryAfterUntil = time.Time{}
	a.reason = ""
	a.lastErr = nil
}

// signedOutLocked forgets everything about a's tokens.
func (e *Engine) signedOutLocked(a *account) {
	a.env = vault.Envelope{}
	a.haveEnv = false
	a.unsaved = false
	a.heldRotated = false
	a.heldBase = storedRef{}
	a.saveErr = nil
	a.saveFailures = 0
	a.state = state.SignedOut
	a.fresh = false
	a.deferUntil = time.Time{}
	a.clearFailures()
	a.persistedSignedIn = false
	a.radar.signedOut(e.now())
	a.scoped = nil
}

// successLocked records a refresh or sign-in that produced env at now.
func (e *Engine) successLocked(a *account, env vault.Envelope, fresh, saved bool, now time.Time, saveErr error) {
	a.env = env
	a.haveEnv = true
	a.lastSuccess = now
	a.fresh = fresh
	a.clearFailures()
	a.deferUntil = time.Time{}
	a.jitter = e.pol.jitter(e.rnd)
	a.addEvent(now, true, fresh, env.Expiry)
	if saved {
		e.savedLocked(a)
		a.state = state.OK
		return
	}
	e.unsavedLocked(a, saveErr, now)
}

// unsavedLocked records that saving the pair a now holds failed with
// saveErr at now: it is held in memory, marked unsaved, the account is
// degraded and the save is retried (held.go).
func (e *Engine) unsavedLocked(a *account, saveErr error, now time.Time) {
	a.unsaved = true
	a.saveErr = saveErr
	a.saveFailures = 1
	a.saveRetryAt = now.Add(spread(e.pol.backoff(1), e.rnd))
	a.state = state.StorageDegraded
	a.lastErr = &state.ErrorInfo{Class: state.ClassStorage, Message: saveMessage(saveErr), At: now}
}

// failLocked records a failed refresh at now. A transient failure of an
// account that needs sign-in leaves it needing sign-in: it says nothing
// about the grant, which the provider has ended.
func (e *Engine) failLocked(a *account, err error, class string, now time.Time) {
	msg := userMessage(err, class)
	a.lastErr = &state.ErrorInfo{Class: class, Message: msg, At: now}
	var oe *oauth.Error
	if errors.As(err, &oe) { // what a support ticket needs; never a token
		a.lastErr.Code, a.lastErr.AADSTS, a.lastErr.HTTPStatus = oe.Code, oe.AADSTS, oe.Status
		a.lastErr.TraceID, a.lastErr.CorrelationID = oe.TraceID, oe.CorrelationID
		a.radar.failed(err, now)
	}
	a.fresh = false
	a.addEvent(now, false, false, time.Time{})
	e.counters.RefreshFailedTotal[class]++
	if a.state == state.NeedsSignIn && class != state.ClassPermanent {
		return
	}
	if class == state.ClassPermanent {
		a.state = state.NeedsSignIn
		a.reason = msg
		a.failures++
		a.backoffUntil = time.Time{}
		return
	}
	a.failures++
	a.reason = ""
	var ra time.Duration
	if oe != nil && oe.RetryAfter > 0 {
		ra = oe.RetryAfter
		a.retryAfterUntil = now.Add(ra)
		a.reason = retryAfterReason(now, oe)
	}
	a.backoffUntil = e.pol.retryAt(now, a.failures, ra, e.rnd)
	if e.pol.maxFailures > 0 && a.failures >= e.pol.maxFailures {
		a.state = state.Failing
		return
	}
	if a.state != state.Failing {
		a.state = state.BackingOff
	}
}

// retryAfterReason says how long the provider asked to wait and, if that
// was more than oauth.MaxRetryAfter, that the wait was capped.
func retryAfterReason(now time.Time, oe *oauth.Error) string {
	until := now.Add(oe.RetryAfter).UTC().Format(time.RFC3339)
	if oe.RetryAfterAsked <= oe.RetryAfter {
		return "the provider asked to wait until " + until + " (Retry-After)"
	}
	asked := now.Add(oe.RetryAfterAsked).UTC().Format(time.RFC3339)
	return "the provider asked to wait until " + asked + " (Retry-After); capped to " + until +
		" (at most " + shortDays(oauth.MaxRetryAfter) + "); sign in again to try earlier"
}

// shortDays formats a whole number of days, or a duration.
func shortDays(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%d days", d/(24*time.Hour))
	}
	return d.String()
}

// classOf maps an error from the refresher to a counter class.
func classOf(err error) string {
	switch oauth.ClassOf(err) {
	case oauth.Permanent:
		return state.ClassPermanent
	case oauth.RetryAfter:
		return state.ClassRetryAfter
	}
	return state.ClassTransient
}

// userMessage is a token-free message for err that says what to do next.
func userMessage(err error, class string) string {
	var oe *oauth.Error
	if errors.As(err, &oe) {
		return oe.UserMessage()
	}
	if class == state.ClassStorage {
		return storageMessage(err)
	}
	return "could not reach the provider (" + err.Error() + "); retrying automatically"
}

func storageMessage(err error) string {
	switch {
	case errors.Is(err, vault.ErrLocked):
		return "the keychain is locked; unlock it and tokentray will retry"
	case errors.Is(err, vault.ErrTimeout):
		return "the keychain did not answer in time; retrying"
	case errors.Is(err, vault.ErrCorrupt):
		return "the stored token data is corrupt; sign in again"
	case errors.Is(err, vault.ErrUnavailable):
		return "the token storage is unavailable: " + err.Error()
	}
	return "the token storage failed: " + err.Error()
}

func saveMessage(err error) string {
	m := "the new token could not be saved and is kept in memory only; saving is retried"
	if err != nil {
		m += " (" + storageMessage(err) + ")"
	}
	return m
}
