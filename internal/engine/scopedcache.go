package engine

import (
	"context"
	"slices"
	"time"

	"github.com/tokentray/tokentray/internal/oauth"
	"github.com/tokentray/tokentray/internal/state"
	"github.com/tokentray/tokentray/internal/vault"
)

// ScopedPerUser is how many per-resource scope sets are cached per account
// (least recently used dropped).
const ScopedPerUser = 16

// scopedEntry is one cached per-resource access token. Guarded by Engine.mu.
type scopedEntry struct {
	key      string   // the normalised scopes joined by spaces
	scopes   []string // as requested
	granted  []string // as the provider answered
	token    string
	typ      string
	expiry   time.Time
	obtained time.Time
	who      vault.Claims // the identity it was issued to
	claims   string       // the claims request it was asked for with, if any
}

// claimed records that a main token was asked for with claims at at.
type claimed struct {
	claims string
	at     time.Time
}

func (s *scopedEntry) env() vault.Envelope {
	return vault.Envelope{AccessToken: s.token, Expiry: s.expiry, ObtainedAt: s.obtained}
}

// claimsHit returns the token a refresh with the same claims produced since
// j's caller asked, while it waited for the flight: callers that got one
// challenge at once share one forced refresh. A later call with the same
// claims refreshes again.
func (e *Engine) claimsHit(a *account, j job) (AccessToken, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !a.haveEnv {
		return AccessToken{}, false
	}
	if j.scopes == nil {
		if a.claimed.claims != j.claims || a.claimed.at.Before(j.asked) || a.env.AccessToken == "" {
			return AccessToken{}, false
		}
		return withScopes(envToken(a.env, j.minValid, a.unsaved), a.env), true
	}
	i := slices.IndexFunc(a.scoped, func(s *scopedEntry) bool {
		return s.key == j.key() && s.claims == j.claims && !s.obtained.Before(j.asked) && s.who == a.env.Claims
	})
	if i < 0 {
		return AccessToken{}, false
	}
	return a.scoped[i].accessToken(j.minValid), true
}

// scopedHit returns the cached token for key if it can be served for
// minValid (tokenUsable) and belongs to the account's current identity.
func (e *Engine) scopedHit(a *account, key string, minValid time.Duration) (AccessToken, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	i := slices.IndexFunc(a.scoped, func(s *scopedEntry) bool { return s.key == key })
	if i < 0 || !a.haveEnv || a.scoped[i].who != a.env.Claims {
		return AccessToken{}, false
	}
	s := a.scoped[i]
	if !tokenUsable(s.env(), minValid, e.tokenNowLocked(s.env(), e.now())) {
		return AccessToken{}, false
	}
	a.scoped = append(slices.Delete(a.scoped, i, i+1), s) // most recently used last
	return s.accessToken(minValid), true
}

func (s *scopedEntry) accessToken(minValid time.Duration) AccessToken {
	life := lifetime(s.env())
	return AccessToken{Token: s.token, Expiry: s.expiry, Type: s.typ, Lifetime: life,
		ShorterThanAsked: life > 0 && life < minValid, Scopes: slices.Clone(s.granted), Username: s.who.PreferredUsername}
}

// cacheLocked stores a per-resource token, dropping the least recently
// used set beyond ScopedPerUser.
func (a *account) cacheLocked(s *scopedEntry) {
	a.scoped = slices.DeleteFunc(a.scoped, func(o *scopedEntry) bool { return o.key == s.key })
	a.scoped = append(a.scoped, s)
	if n := len(a.scoped) - ScopedPerUser; n > 0 {
		a.scoped = slices.Delete(a.scoped, 0, n)
	}
}

// scopedStatusLocked lists a's cached scope sets that have not expired at
// now, for a snapshot, most recently used last; nil when none.
func (a *account) scopedStatusLocked(now time.Time) []state.ScopedStatus {
	var out []state.ScopedStatus
	for _, s := range a.scoped {
		if a.haveEnv && s.who == a.env.Claims && s.expiry.After(now) {
			out = append(out, state.ScopedStatus{Scopes: slices.Clone(s.scopes), Expiry: s.expiry})
		}
	}
	return out
}

// commitScoped saves the refresh token a per-resource refresh rotated (as
// the account's own refresh saves its pair: before the token is handed
// out), lets the radar learn from the grant, checks the grant of a
// non-Microsoft account (grantcheck.go) and caches the token.
func (e *Engine) commitScoped(ctx context.Context, a *account, j job, env vault.Envelope, got oauth.Token, now time.Time, base storedRef, checked bool, start time.Time) AccessToken {
	unsaved := false
	rotated := got.RefreshToken != "" && got.RefreshToken != env.RefreshToken
	if rotated {
		unsaved = !e.saveRotated(ctx, a, env, got.RefreshToken, base, checked, now)
	}
	e.mu.Lock()
	a.radar.granted(got, now, false, false)
	provider := a.profile.Provider
	e.mu.Unlock()
	if rotated && !unsaved && provider != oauth.ProviderMicrosoft {
		e.checkGrant(ctx, a, j.key(), now)
	}
	s := &scopedEntry{key: j.key(), scopes: j.scopes, granted: got.Scopes, token: got.AccessToken, typ: got.TokenType,
		expiry: got.Expiry.Round(0), obtained: now, who: env.Claims, claims: j.claims}
	if s.typ == "" {
		s.typ = "Bearer"
	}
	e.mu.Lock()
	if a.haveEnv && a.env.Claims == env.Claims {
		a.cacheLocked(s)
	}
	e.publishLocked()
	e.mu.Unlock()
	e.logJob(a, j, "ok", got.Fresh, s.expiry, time.Since(start), "")
	t := s.accessToken(j.minValid)
	t.Unsaved = unsaved
	return t
}
