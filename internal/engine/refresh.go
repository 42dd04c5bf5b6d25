package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/tokentray/tokentray/internal/oauth"
	"github.com/tokentray/tokentray/internal/state"
	"github.com/tokentray/tokentray/internal/vault"
)

// mode says who asked for a refresh; it decides what "still needed" means
// under the lock and which limits apply.
type mode int

const (
	modeAuto   mode = iota // the scheduler: skipped if another process already refreshed
	modeManual             // Refresh now: always sent, unless Retry-After or budget forbid
	modeToken              // Token(minValid), TokenFor: sent only if no stored token serves
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

// job is one refresh: what it asks the provider for and whose answer it
// is. Every refresh runs through one skeleton (run, then send): the
// account's own (scheduled, Refresh now, Token), a per-resource token, a
// claims request and the grant check (grantcheck.go).
type job struct {
	mode     mode          // who asked: waiting for the flight, "still needed", the budget
	minValid time.Duration // how long the token must stay valid (modeToken)
	scopes   []string      // a per-resource token's scope set; nil: the account's own scopes
	claims   string        // a claims request: forces the refresh and carries the claims
	asked    time.Time     // a claims request: when its caller asked (claimsHit)
}

// own reports whether j is the account's own refresh, whose outcome is the
// account's: its failures change the account's state and schedule. A
// per-resource or claims refresh changes the account only when the answer
// proves the grant ended (oauth.GrantEnded); any other failure is its
// caller's alone.
func (j job) own() bool { return j.scopes == nil && j.claims == "" }

// key is j's scope set as the per-resource cache names it.
func (j job) key() string { return strings.Join(j.scopes, " ") }

// what names j and its account in errors.
func (j job) what(name string) string {
	switch {
	case j.own():
		return fmt.Sprintf("refresh account %q", name)
	case j.scopes == nil:
		return fmt.Sprintf("token of account %q", name)
	}
	return fmt.Sprintf("token for scopes %q of account %q", j.key(), name)
}

// jobResult is what a refresh hands back: for the account's own token the
// result and the envelope held afterwards; for a per-resource or claims
// request the access token.
type jobResult struct {
	res  state.Result
	held vault.Envelope
	tok  AccessToken
}

// run performs j for a: a's flight (one refresh of a at a time in this
// process), the cross-process lock file, a re-read of the vault (another
// process may have rotated the pair), what other processes recorded in the
// state file, the decision whether a request is still needed, Retry-After
// and the budget, then send. A new pair is saved (or the account marked
// storage degraded) before run returns.
//
// The account's own refresh records a failure before the request as it
// records a failed request (the lock file: transient; reading the vault:
// storage); a per-resource or claims request leaves the account alone and
// returns the failure to its caller (failed).
func (e *Engine) run(ctx context.Context, a *account, j job) (out jobResult, err error) {
	wrap := func(err error) error { return fmt.Errorf("%s: %w", j.what(a.name), err) }
	defer func() { err = e.signInNeeded(a, j, err) }()
	if err := e.acquire(ctx, a, j.mode != modeAuto); err != nil {
		return jobResult{}, wrap(err)
	}
	if out, ok := e.hit(a, j); ok {
		<-a.sem
		return out, nil
	}
	e.setBusy(a)
	defer e.release(a)
	defer e.done(a)

	start := time.Now()
	unlock, err := e.lockFile(ctx, a)
	if err != nil {
		if ctx.Err() != nil {
			return jobResult{}, wrap(ctx.Err())
		}
		e.failed(a, j, err, state.ClassTransient, start)
		return jobResult{}, wrap(err)
	}
	defer unlock()

	env, base, checked, err := e.reread(ctx, a)
	if err != nil {
		if errors.Is(err, ErrSignedOut) || ctx.Err() != nil {
			return jobResult{}, wrap(err)
		}
		e.failed(a, j, err, state.ClassStorage, start)
		return jobResult{}, wrap(fmt.Errorf("read the vault: %w", err))
	}
	if ctx.Err() != nil {
		// The caller has gone before anything was sent: nothing to keep.
		return jobResult{}, wrap(ctx.Err())
	}
	// Another process may have recorded a Retry-After or an ended grant.
	e.syncState(a)

	now := e.now()
	if out, done, err := e.decide(a, j, env, now, start); done {
		if err != nil {
			return jobResult{}, wrap(err)
		}
		return out, nil
	}
	return e.send(ctx, a, j, env, now, base, checked, start)
}

// hit is what a caller of j gets without a request, once it holds the
// flight: a token still good enough, or one another caller's flight
// produced meanwhile.
func (e *Engine) hit(a *account, j job) (jobResult, bool) {
	switch {
	case j.claims != "":
		t, ok := e.claimsHit(a, j)
		return jobResult{tok: t}, ok
	case j.scopes != nil:
		t, ok := e.scopedHit(a, j.key(), j.minValid)
		return jobResult{tok: t}, ok
	case j.mode == modeToken:
		e.mu.Lock()
		defer e.mu.Unlock()
		env, ok := e.heldValidLocked(a, j.minValid, e.now())
		return jobResult{res: state.Result{Account: a.name, Expiry: env.Expiry, Skipped: true, Saved: !a.unsaved}, held: env}, ok
	}
	return jobResult{}, false
}

// decide says, under the lock and with env, the newest envelope, whether j
// still needs a request. done with a result: another process already did
// the work (skipped); done with an error: j may not be sent (needs sign-in,
// per-resource tokens off, Retry-After, budget). Otherwise it has spent a
// budget request and recorded the attempt.
func (e *Engine) decide(a *account, j job, env vault.Envelope, now, start time.Time) (out jobResult, done bool, err error) {
	e.mu.Lock()
	skip, err := e.neededLocked(a, j, env, now)
	if err != nil {
		e.mu.Unlock()
		return jobResult{}, true, err
	}
	if skip {
		e.counters.RefreshSkippedTotal++
		saved := !a.unsaved
		e.mu.Unlock()
		e.logJob(a, j, "skipped", false, env.Expiry, time.Since(start), "")
		return jobResult{res: state.Result{Account: a.name, Expiry: env.Expiry, Skipped: true, Saved: saved}, held: env}, true, nil
	}
	if err := e.gateLocked(a, j, now); err != nil {
		e.counters.RefreshSkippedTotal++
		e.mu.Unlock()
		class := state.ClassRetryAfter
		if r := (*state.Refused)(nil); errors.As(err, &r) && r.Reason == state.RefusedBudget {
			class = "budget"
		}
		e.logJob(a, j, "refused", false, env.Expiry, time.Since(start), class)
		return jobResult{}, true, err
	}
	if j.scopes == nil {
		a.lastAttempt = now
		a.deferUntil = time.Time{}
	}
	e.mu.Unlock()
	return jobResult{}, false, nil
}

// neededLocked says whether j is still needed with env: skip when the
// account's own refresh finds it done (another process refreshed; automatic
// refresh was turned off or the account needs sign-in meanwhile), an error
// when j must not be sent at all.
func (e *Engine) neededLocked(a *account, j job, env vault.Envelope, now time.Time) (skip bool, err error) {
	if !j.own() {
		switch {
		case a.state == state.NeedsSignIn:
			return false, fmt.Errorf("%w: %s", ErrNeedsSignIn, a.reason)
		case j.scopes != nil && a.narrows != "":
			return false, fmt.Errorf("%w: per-resource tokens are off for this account: %s", ErrResource, a.narrows)
		}
		return false, nil
	}
	switch j.mode {
	case modeToken:
		if tokenUsable(env, j.minValid, e.tokenNowLocked(env, now)) {
			return true, nil
		}
		if a.state == state.NeedsSignIn {
			return false, fmt.Errorf("%w: %s", ErrNeedsSignIn, a.reason)
		}
	case modeAuto:
		if a.failures == 0 && !a.unsaved && a.state != state.NeedsSignIn {
			if d := e.pol.baseDue(dueInputs{lastSuccess: a.lastSuccess, accessExpiry: env.Expiry}); d.After(now) {
				return true, nil
			}
		}
		if a.state == state.NeedsSignIn || !e.pol.enabled && !a.unsaved {
			return true, nil // changed while we waited
		}
	}
	return false, nil
}

// gateLocked refuses j while the provider's Retry-After runs, or when the
// budget is spent; otherwise it spends a budget request.
func (e *Engine) gateLocked(a *account, j job, now time.Time) error {
	if a.retryAfterUntil.After(now) {
		return &state.Refused{Reason: state.RefusedRetryAfter, Until: a.retryAfterUntil}
	}
	if ok, until := e.takeBudgetLocked(j.mode, now); !ok {
		return &state.Refused{Reason: state.RefusedBudget, Until: time.Unix(0, until)}
	}
	return nil
}

// takeBudgetLocked spends one budget request for a refresh in mode m; an
// automatic refresh paid when the scheduler started it.
func (e *Engine) takeBudgetLocked(m mode, now time.Time) (bool, int64) {
	if m == modeAuto {
		return true, 0
	}
	return e.bud.take(now.UnixNano())
}

// send asks the provider for j with env's refresh token, records the
// answer and commits it. The caller holds a's flight and lock file, and
// has spent the budget. From the request on, the provider may rotate the
// refresh token: its answer is read and saved even if the caller goes away
// meanwhile (invariant 1), bounded by exchangeGrace and saveGrace once ctx
// ends.
func (e *Engine) send(ctx context.Context, a *account, j job, env vault.Envelope, now time.Time, base storedRef, checked bool, start time.Time) (jobResult, error) {
	e.mu.Lock()
	prof := a.profile
	e.mu.Unlock()
	if prof.ClientSecret == "" {
		prof.ClientSecret = env.ClientSecret
	}
	if j.scopes != nil {
		prof.Scopes = requestScopes(prof, j.scopes)
	}
	prof.Claims = j.claims
	xctx, cancel := detach(ctx, exchangeGrace)
	tok, err := e.ref.Refresh(xctx, prof, env.RefreshToken, env.AccessToken)
	cancel()
	if err != nil {
		e.failed(a, j, err, classOf(err), start)
		return jobResult{}, fmt.Errorf("%s: %w", j.what(a.name), refusal(j, err))
	}
	if j.scopes != nil {
		return jobResult{tok: e.commitScoped(ctx, a, j, env, tok, now, base, checked, start)}, nil
	}
	res, held := e.commit(ctx, a, env, tok, now, true, base, checked)
	e.mu.Lock()
	a.radar.granted(tok, now, false, false)
	if j.claims != "" {
		a.claimed = claimed{claims: j.claims, at: now}
	}
	unsaved := a.unsaved && a.env.AccessToken == held.AccessToken
	e.mu.Unlock()
	e.logJob(a, j, "ok", tok.Fresh, held.Expiry, time.Since(start), "")
	return jobResult{res: res, held: held, tok: withScopes(envToken(held, j.minValid, unsaved), held)}, nil
}

// failed records a refresh of j that failed with err of class, and logs it.
// The account's own refresh records every failure (failLocked: backoff,
// failing, needs sign-in). A per-resource or claims refresh changes the
// account only when err proves the grant ended (oauth.GrantEnded), exactly
// as the account's own refresh would; a Retry-After it got holds for every
// request of the account; anything else (Conditional Access or consent for
// one resource, a bad scope, a network failure, a locked keychain) is its
// caller's alone: the account's state, schedule and episodes stay as they
// were, and its own refresh finds out for itself.
func (e *Engine) failed(a *account, j job, err error, class string, start time.Time) {
	e.mu.Lock()
	var oe *oauth.Error
	switch {
	case j.own() || oauth.GrantEnded(err):
		e.failLocked(a, err, class, e.now())
	case errors.As(err, &oe) && oe.RetryAfter > 0:
		a.retryAfterUntil = e.now().Add(oe.RetryAfter)
	}
	e.mu.Unlock()
	e.logJob(a, j, "failed", false, time.Time{}, time.Since(start), class)
}

// refusal is the error the caller of j gets for the provider's answer err.
// A per-resource or claims request refused for a reason other than an
// ended grant matches ErrResource and says what to do (oauth.ResourceAdvice).
func refusal(j job, err error) error {
	if j.own() || oauth.GrantEnded(err) || !(oauth.ClassOf(err) == oauth.Permanent || resourceError(err)) {
		return err
	}
	advice := oauth.ResourceAdvice(err)
	if advice == "" {
		advice = "the provider refused it"
	}
	return fmt.Errorf("%w: %s (the account itself is not affected): %w", ErrResource, advice, err)
}

// signInNeeded makes err, an error of a refresh j of a, match
// ErrNeedsSignIn if a needs sign-in now (the provider ended the grant, or
// it had already: then a refusal or a network failure does not change what
// the user has to do), or if the account's own refresh got a permanent
// error.
func (e *Engine) signInNeeded(a *account, j job, err error) error {
	if err == nil || errors.Is(err, ErrNeedsSignIn) || errors.Is(err, ErrUnknownAccount) || errors.Is(err, ErrResource) {
		return err
	}
	e.mu.Lock()
	needs := a.state == state.NeedsSignIn
	e.mu.Unlock()
	if needs || j.own() && oauth.ClassOf(err) == oauth.Permanent {
		return &needsSignInError{err: err}
	}
	return err
}

// logJob writes the one log line of a refresh: "refresh" for the account's
// own, "scoped refresh" for a per-resource or claims request. It never logs
// a token or the scopes' values.
func (e *Engine) logJob(a *account, j job, result string, fresh bool, expiry time.Time, took time.Duration, class string) {
	if !j.own() {
		e.log.Info("scoped refresh", "account", a.name, "result", result, "duration", took, "class", class)
		return
	}
	e.logRefresh(a, result, fresh, expiry, took, class)
}

// logRefresh writes the one log line of a refresh of the account's own
// token (or a sign-in's save). It never logs a token.
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
