package engine

import (
	"time"

	"github.com/tokentray/tokentray/internal/oauth"
	"github.com/tokentray/tokentray/internal/vault"
)

// The wall clock can be stepped back (a wrong RTC at boot, a manual change,
// NTP). Times recorded before the step then lie in the future: the next
// refresh would slip by the step, Token would serve an expired access token
// for the step's length, and a spent budget would stay spent. The engine
// clamps future times to now where it reads them (state file, vault), shifts
// every time it holds by the step when it sees the clock go back while
// running, and judges access tokens obtained before the provider's clock was
// seen to run ahead of the local one (by more than clockSlack) by the
// provider's clock.

// clockSlack is how far clocks may disagree before the engine corrects for it.
const clockSlack = time.Minute

// notAfter returns t, or now if t is later.
func notAfter(t, now time.Time) time.Time {
	if t.After(now) {
		return now
	}
	return t
}

// clampLocked brings a's times that lie in the future back to now, and
// bounds its deadlines to what a failure at now could set. Called with e.mu
// held.
func (e *Engine) clampLocked(a *account, now time.Time) {
	a.lastAttempt = notAfter(a.lastAttempt, now)
	a.lastSuccess = notAfter(a.lastSuccess, now)
	a.backoffUntil = notAfter(a.backoffUntil, now.Add(e.pol.max*12/10))
	a.retryAfterUntil = notAfter(a.retryAfterUntil, now.Add(oauth.MaxRetryAfter))
	if a.haveEnv {
		a.env = untrustFuture(a.env, now)
	}
}

// untrustFuture returns env with a future obtained-at clamped to now. Its
// access token is then of unknown age (the clock went back by at least the
// difference, maybe more), so it counts as expired: it is refreshed before
// it is served.
func untrustFuture(env vault.Envelope, now time.Time) vault.Envelope {
	if env.ObtainedAt.After(now.Add(clockSlack)) {
		env.ObtainedAt = now
		env.Expiry = notAfter(env.Expiry, now)
	}
	return env
}

// steppedBack shifts every time the engine holds by -d: the wall clock went
// back by d while Run was watching, so each deadline and record keeps its
// distance from now.
func (e *Engine) steppedBack(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.log.Warn("the wall clock went back; shifting recorded times", "by", d.Round(time.Second))
	shift := func(t *time.Time) {
		if !t.IsZero() {
			*t = t.Add(-d)
		}
	}
	for _, a := range e.accts {
		for _, t := range []*time.Time{&a.lastAttempt, &a.lastSuccess, &a.backoffUntil, &a.retryAfterUntil,
			&a.deferUntil, &a.saveRetryAt, &a.env.ObtainedAt, &a.env.Expiry} {
			shift(t)
		}
		e.changedLocked(a)
	}
	if !e.skewSince.IsZero() {
		e.skew += d // the provider's clock is that much further ahead now
		shift(&e.skewSince)
	}
	e.bud.shift(-int64(d))
}

// learnSkewLocked records the provider's clock offset from a token response
// received at now: set when the provider's clock runs ahead of the local one
// by more than clockSlack, cleared otherwise.
func (e *Engine) learnSkewLocked(off time.Duration, now time.Time) {
	if off > clockSlack {
		e.skew, e.skewSince = off, now
		e.log.Warn("the local clock is behind the provider's; judging older access tokens by the provider's clock", "by", off.Round(time.Second))
		return
	}
	e.skew, e.skewSince = 0, time.Time{}
}

// tokenNowLocked is the time at which env's access-token expiry is judged:
// now, or the provider's time for an envelope obtained before the provider's
// clock was seen to run ahead (its expiry may come from a clock that was
// right then).
func (e *Engine) tokenNowLocked(env vault.Envelope, now time.Time) time.Time {
	if e.skew > 0 && env.ObtainedAt.Before(e.skewSince) {
		return now.Add(e.skew)
	}
	return now
}
