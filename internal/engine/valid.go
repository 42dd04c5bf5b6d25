package engine

import (
	"slices"
	"time"

	"github.com/tokentray/tokentray/internal/vault"
)

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

// envToken is env's access token for a caller that asked for minValid;
// unsaved says the pair behind it is held only in memory.
func envToken(env vault.Envelope, minValid time.Duration, unsaved bool) AccessToken {
	life := lifetime(env)
	return AccessToken{Token: env.AccessToken, Expiry: env.Expiry, Type: env.TokenType, Lifetime: life,
		ShorterThanAsked: life > 0 && life < minValid, Unsaved: unsaved, Username: env.Claims.PreferredUsername}
}

// withScopes is t with the scopes env's token was issued for.
func withScopes(t AccessToken, env vault.Envelope) AccessToken {
	t.Scopes = slices.Clone(env.Scopes)
	return t
}
