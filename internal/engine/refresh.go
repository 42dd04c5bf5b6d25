package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/tokentray/tokentray/internal/oauth"
	"github.com/tokentray/tokentray/internal/vault"
)

// mode says who asked for a refresh; it decides what "still needed" means
// under the lock and which limits apply.
type mode int

const (
	modeAuto   mode = iota // the scheduler: skipped if another process already refreshed
	modeManual             // Refresh now: always sent, unless Retry-After or budget forbid
	modeToken              // Token(minValid): sent only if the stored token is not valid long enough
)

func (m mode) String() string {
	switch m {
	case modeAuto:
		return "auto"
	case modeManual:
		return "manual"
	}
	return "token"
}

// acquire takes a's flight. Automatic refreshes never queue behind a flight.
// It fails with ErrUnknownAccount once a has been removed, so nothing that
// waited for the flight of a removed account can bring it back.
func (e *Engine) acquire(ctx context.Context, a *account, wait bool) error {
	if !wait {
		select {
		case a.sem <- struct{}{}:
		default:
			return errBusy
		}
	} else {
		select {
		case a.sem <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if a.removed() {
		<-a.sem
		return ErrUnknownAccount
	}
	return nil
}

var errBusy = errors.New("a refresh of this account is already running")

func (e *Engine) setBusy(a *account) {
	e.mu.Lock()
	a.busy = true
	e.publishLocked()
	e.mu.Unlock()
}

// done ends the busy part of a flight: marks a for rescheduling and
// publishes. The caller still holds the flight.
func (e *Engine) done(a *account) {
	e.mu.Lock()
	a.busy = false
	e.changedLocked(a)
	e.mu.Unlock()
}

// release gives up a's flight, then persists the state and queues the
// notification, if any. The public entry points deliver queued
// notifications with flushNotes once they hold nothing, so a slow Notify
// never holds up an account or callers sharing its flight.
func (e *Engine) release(a *account, n *Notification) {
	<-a.sem
	e.persist()
	if n != nil {
		e.mu.Lock()
		e.notes = append(e.notes, *n)
		e.mu.Unlock()
	}
}

// flushNotes delivers the queued notifications.
func (e *Engine) flushNotes() {
	for {
		e.mu.Lock()
		if len(e.notes) == 0 {
			e.mu.Unlock()
			return
		}
		n := e.notes[0]
		e.notes = e.notes[1:]
		e.mu.Unlock()
		if e.notify != nil {
			e.notify(n)
		}
	}
}

// heldValidLocked returns the envelope held in memory if its access token
// can be served to a Token caller asking for minValid (tokenUsable).
func (e *Engine) heldValidLocked(a *account, minValid time.Duration, now time.Time) (vault.Envelope, bool) {
	if a.haveEnv && a.env.ObtainedAt.After(now.Add(clockSlack)) {
		e.clampLocked(a, now) // the clock went back since it was obtained
	}
	if a.haveEnv && tokenUsable(a.env, minValid, e.tokenNowLocked(a.env, now)) {
		return a.env, true
	}
	return vault.Envelope{}, false
}

// tokenUsable reports whether env's access token can be served to a Token
// caller asking for minValid at now: it stays valid that long, or, when the
// provider's lifetime is shorter than minValid (no token could), it was
// obtained less than half a lifetime ago and is not about to expire. So
// short-lived tokens are refreshed at most once per half lifetime
// (invariant 7), and long-lived ones when they expire within minValid.
func tokenUsable(env vault.Envelope, minValid time.Duration, now time.Time) bool {
	if env.AccessToken == "" {
		return false
	}
	if env.Expiry.After(now.Add(minValid)) {
		return true
	}
	life := lifetime(env)
	if life <= 0 || life >= minValid {
		return false
	}
	margin := min(life/10, 10*time.Second)
	return env.Expiry.Add(-margin).After(now) && now.Sub(env.ObtainedAt) < life/2
}

// lifetime is how long the provider made env's access token valid: expiry
// minus obtained-at; 0 if either is unknown.
func lifetime(env vault.Envelope) time.Duration {
	if env.AccessToken == "" || env.Expiry.IsZero() || env.ObtainedAt.IsZero() {
		return 0
	}
	return max(env.Expiry.Sub(env.ObtainedAt), 0)
}

// refresh runs one flight for a: flight, cross-process lock, re-read, decide
// again, gate (Retry-After, budget), refresh, save, record. It returns the
// envelope held afterwards. The new pair is saved (or the account marked
// storage degraded) before refresh returns.
func (e *Engine) refresh(ctx context.Context, a *account, m mode, minValid time.Duration) (res Result, held vault.Envelope, err error) {
	defer func() { err = e.signInNeeded(a, err) }()
	if err := e.acquire(ctx, a, m != modeAuto); err != nil {
		return Result{}, vault.Envelope{}, fmt.Errorf("refresh account %q: %w", a.name, err)
	}
	if m == modeToken {
		e.mu.Lock()
		env, ok := e.heldValidLocked(a, minValid, e.now())
		saved := !a.unsaved
		e.mu.Unlock()
		if ok {
			<-a.sem
			return Result{Account: a.name, Expiry: env.Expiry, Skipped: true, Saved: saved}, env, nil
		}
	}

	e.setBusy(a)
	var note *Notification
	defer func() { e.release(a, note) }()
	defer e.done(a)

	start := time.Now()
	unlock, err := e.lockFile(ctx, a)
	if err != nil {
		if ctx.Err() != nil {
			return Result{}, vault.Envelope{}, fmt.Errorf("refresh account %q: %w", a.name, ctx.Err())
		}
		e.mu.Lock()
		note = e.failLocked(a, err, ClassTransient, e.now())
		e.mu.Unlock()
		return Result{}, vault.Envelope{}, fmt.Errorf("refresh account %q: %w", a.name, err)
	}
	defer unlock()

	env, base, checked, err := e.reread(ctx, a)
	if err != nil {
		if errors.Is(err, ErrSignedOut) || ctx.Err() != nil {
			return Result{}, vault.Envelope{}, fmt.Errorf("refresh account %q: %w", a.name, err)
		}
		e.mu.Lock()
		note = e.failLocked(a, err, ClassStorage, e.now())
		e.mu.Unlock()
		e.logRefresh(a, "failed", false, time.Time{}, time.Since(start), ClassStorage)
		return Result{}, vault.Envelope{}, fmt.Errorf("refresh account %q: read the vault: %w", a.name, err)
	}

	if ctx.Err() != nil {
		// The caller has gone before anything was sent: nothing to keep.
		return Result{}, vault.Envelope{}, fmt.Errorf("refresh account %q: %w", a.name, ctx.Err())
	}

	// Another process may have recorded a Retry-After or an ended grant.
	e.syncState(a)

	// Decide again, now that we hold the lock and the newest envelope.
	now := e.now()
	e.mu.Lock()
	skip := false
	switch m {
	case modeToken:
		if tokenUsable(env, minValid, e.tokenNowLocked(env, now)) {
			skip = true
		} else if a.state == NeedsSignIn {
			reason := a.reason
			e.mu.Unlock()
			return Result{}, vault.Envelope{}, fmt.Errorf("refresh account %q: %w: %s", a.name, ErrNeedsSignIn, reason)
		}
	case modeAuto:
		if a.failures == 0 && !a.unsaved && a.state != NeedsSignIn {
			if d := e.pol.baseDue(dueInputs{lastSuccess: a.lastSuccess, accessExpiry: env.Expiry}); d.After(now) {
				skip = true
			}
		}
		if a.state == NeedsSignIn || !e.pol.enabled && !a.unsaved {
			skip = true // changed while we waited
		}
	}
	if skip {
		e.counters.RefreshSkippedTotal++
		saved := !a.unsaved
		e.mu.Unlock()
		e.logRefresh(a, "skipped", false, env.Expiry, time.Since(start), "")
		return Result{Account: a.name, Expiry: env.Expiry, Skipped: true, Saved: saved}, env, nil
	}
	if a.retryAfterUntil.After(now) {
		r := &Refused{Reason: RefusedRetryAfter, Until: a.retryAfterUntil}
		e.counters.RefreshSkippedTotal++
		e.mu.Unlock()
		e.logRefresh(a, "refused", false, env.Expiry, time.Since(start), ClassRetryAfter)
		return Result{}, env, fmt.Errorf("refresh account %q: %w", a.name, r)
	}
	if ok, until := e.takeBudgetLocked(m, now); !ok {
		r := &Refused{Reason: RefusedBudget, Until: time.Unix(0, until)}
		e.counters.RefreshSkippedTotal++
		e.mu.Unlock()
		e.logRefresh(a, "refused", false, env.Expiry, time.Since(start), "budget")
		return Result{}, env, fmt.Errorf("refresh account %q: %w", a.name, r)
	}
	a.lastAttempt = now
	a.deferUntil = time.Time{}
	prof := a.profile
	e.mu.Unlock()

	if prof.ClientSecret == "" {
		prof.ClientSecret = env.ClientSecret
	}
	// From here on the provider may rotate the refresh token: its answer is
	// read and saved even if the caller goes away meanwhile (item 1 of
	// invariant 1), bounded by exchangeGrace and saveGrace once ctx ends.
	xctx, cancel := detach(ctx, exchangeGrace)
	tok, err := e.ref.Refresh(xctx, prof, env.RefreshToken, env.AccessToken)
	cancel()
	if err != nil {
		class := classOf(err)
		e.mu.Lock()
		note = e.failLocked(a, err, class, e.now())
		e.mu.Unlock()
		e.logRefresh(a, "failed", false, time.Time{}, time.Since(start), class)
		return Result{}, vault.Envelope{}, fmt.Errorf("refresh account %q: %w", a.name, err)
	}

	res, held = e.commit(ctx, a, env, tok, now, true, base, checked)
	e.mu.Lock()
	a.radar.granted(tok, now, false, false)
	e.mu.Unlock()
	e.logRefresh(a, "ok", tok.Fresh, held.Expiry, time.Since(start), "")
	return res, held, nil
}

// How long work that must not be lost may run on once its caller's ctx has
// ended: the answer to a token request already sent, and saving a new pair.
const (
	exchangeGrace = 30 * time.Second
	saveGrace     = 30 * time.Second
)

// detach returns a context that carries ctx's values but is not cancelled
// with it: it ends grace after ctx ends, or when cancel is called.
func detach(ctx context.Context, grace time.Duration) (context.Context, context.CancelFunc) {
	d, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(grace, cancel)
		context.AfterFunc(d, func() { t.Stop() })
	})
	return d, func() { stop(); cancel() }
}

// signInNeeded makes err, an error of a refresh of a, match ErrNeedsSignIn
// if the provider ended the grant or a needs sign-in anyway (then a refusal
// or a network failure does not change what the user has to do).
func (e *Engine) signInNeeded(a *account, err error) error {
	if err == nil || errors.Is(err, ErrNeedsSignIn) || errors.Is(err, ErrUnknownAccount) {
		return err
	}
	e.mu.Lock()
	needs := a.state == NeedsSignIn
	e.mu.Unlock()
	if needs || oauth.ClassOf(err) == oauth.Permanent {
		return &needsSignInError{err: err}
	}
	return err
}

// takeBudgetLocked spends one budget request for a refresh in mode m; an
// automatic refresh paid when the scheduler started it.
func (e *Engine) takeBudgetLocked(m mode, now time.Time) (bool, int64) {
	if m == modeAuto {
		return true, 0
	}
	return e.bud.take(now.UnixNano())
}

// commit saves the pair tok produced on top of env and records the success.
// It runs under the flight and the lock. The save is not cancelled with ctx:
// a rotated refresh token must not be lost to a cancellation (it gets
// saveGrace after ctx ends). base is what the store holds (the new pair
// replaces it); with write false the store's state is unknown, so the pair
// is held unsaved and settled later (held.go) instead of written blind.
func (e *Engine) commit(ctx context.Context, a *account, env vault.Envelope, tok oauth.Token, now time.Time, counted bool, base storedRef, write bool) (Result, vault.Envelope) {
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
	return Result{Account: a.name, Fresh: tok.Fresh, Expiry: n.Expiry, Saved: err == nil}, n
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
	if a.state == StorageDegraded {
		a.state = OK
		if a.lastErr != nil && a.lastErr.Class == ClassStorage {
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
	defer e.release(a, nil)
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
	a.lastErr = &ErrorInfo{Class: ClassStorage, Message: saveMessage(err), At: now}
	e.log.Warn("save retry failed; token still in memory only", "account", a.name, "error", err, "retry_in", a.saveRetryAt.Sub(now).Round(time.Second))
	return err
}

// logRefresh writes the one log line of a refresh. It never logs a token.
func (e *Engine) logRefresh(a *account, result string, fresh bool, expiry time.Time, took time.Duration, class string) {
	lvl := slog.LevelInfo
	if result == "failed" {
		lvl = slog.LevelWarn
	}
	var expiresIn time.Duration
	if !expiry.IsZero() {
		expiresIn = expiry.Sub(e.now()).Round(time.Second)
	}
	e.log.LogAttrs(context.Background(), lvl, "refresh",
		slog.String("account", a.name),
		slog.String("result", result),
		slog.Bool("fresh", fresh),
		slog.Duration("expires_in", expiresIn),
		slog.Duration("duration", took),
		slog.String("class", class))
}
