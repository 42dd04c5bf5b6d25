package engine

import (
	"math/rand/v2"
	"time"

	"github.com/tokentray/tokentray/internal/config"
)

// policy is the scheduling rule's parameters, taken once from config.Settings.
type policy struct {
	enabled     bool
	interval    time.Duration
	lookahead   time.Duration
	cooldown    time.Duration
	jitterMax   time.Duration
	base        time.Duration
	max         time.Duration
	maxFailures int
	budgetN     int
	budgetWin   time.Duration
}

func policyFrom(s config.Settings) policy {
	return policy{
		enabled:     s.Refresh.Enabled,
		interval:    s.Interval(),
		lookahead:   s.Refresh.Lookahead,
		cooldown:    s.Refresh.Cooldown,
		jitterMax:   s.Refresh.JitterMax,
		base:        s.Backoff.Base,
		max:         s.Backoff.Max,
		maxFailures: s.Backoff.MaxFailures,
		budgetN:     s.Budget.Requests,
		budgetWin:   s.Budget.Window,
	}
}

// backoff returns min(base·2^(n-1), max) for the n-th failure in a row (n ≥ 1).
func (p policy) backoff(n int) time.Duration {
	if n < 1 {
		n = 1
	}
	d := p.base
	for i := 1; i < n; i++ {
		d *= 2
		if d >= p.max || d <= 0 {
			return p.max
		}
	}
	return min(d, p.max)
}

// spread returns d scaled by a uniform factor in [0.8, 1.2).
func spread(d time.Duration, r *rand.Rand) time.Duration {
	f := 0.8 + 0.4*r.Float64()
	return time.Duration(float64(d) * f)
}

// jitter returns a uniform delay in [0, jitterMax].
func (p policy) jitter(r *rand.Rand) time.Duration {
	if p.jitterMax <= 0 {
		return 0
	}
	return time.Duration(r.Int64N(int64(p.jitterMax) + 1))
}

// retryAt is when the n-th transient failure in a row (at now) is retried:
// now + max(backoff(n) ± 20 %, retryAfter). From maxFailures on the delay is
// the backoff maximum.
func (p policy) retryAt(now time.Time, n int, retryAfter time.Duration, r *rand.Rand) time.Time {
	b := p.backoff(n)
	if p.maxFailures > 0 && n >= p.maxFailures {
		b = p.max
	}
	return now.Add(max(spread(b, r), retryAfter))
}

// dueInputs is what the automatic due time of an account depends on.
// All times are wall-clock (no monotonic reading); zero means unknown.
type dueInputs struct {
	lastSuccess  time.Time
	lastAttempt  time.Time
	accessExpiry time.Time
	jitter       time.Duration
}

// baseDue is min(last_success + interval, access_expiry - lookahead): when a
// refresh is needed, before cooldown and jitter. A never-refreshed account is
// due at once (zero time).
func (p policy) baseDue(in dueInputs) time.Time {
	if in.lastSuccess.IsZero() {
		return time.Time{}
	}
	due := in.lastSuccess.Add(p.interval)
	if !in.accessExpiry.IsZero() {
		if early := in.accessExpiry.Add(-p.lookahead); early.Before(due) {
			due = early
		}
	}
	return due
}

// autoDue is the scheduling rule for an account in good standing:
// due = max(baseDue, last_attempt + cooldown) + jitter.
func (p policy) autoDue(in dueInputs) time.Time {
	due := p.baseDue(in)
	if !in.lastAttempt.IsZero() {
		if c := in.lastAttempt.Add(p.cooldown); c.After(due) {
			due = c
		}
	}
	if due.IsZero() {
		return due
	}
	return due.Add(in.jitter)
}
