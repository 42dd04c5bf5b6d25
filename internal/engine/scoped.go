package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tokentray/tokentray/internal/oauth"
	"github.com/tokentray/tokentray/internal/state"
	"github.com/tokentray/tokentray/internal/vault"
)

// ScopedPerUser is how many per-resource scope sets are cached per account
// (least recently used dropped).
const ScopedPerUser = 16

// ErrResource is matched by a TokenFor error that is about the requested
// resource (resourceError), not about the account.
var ErrResource = errors.New("the provider refused this resource for the account")

// TokenRequest asks TokenFor for an access token.
type TokenRequest struct {
	// Scopes is the scope set the token is for, one scope per element
	// (NormalizeScopes); empty, or the account's own scopes, means the
	// account's main token.
	Scopes []string
	// MinValid is how long the token must stay valid, as for Token.
	MinValid time.Duration
	// Claims is a claims request (JSON, a resource's decoded claims
	// challenge). It forces a refresh that carries it (merged with the
	// account's client capabilities), bypassing the cache and the
	// half-lifetime rule; the refresh still takes the flight, the lock and
	// a budget request.
	Claims string
}

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

// baseScopes are the scopes every refresh of a provider's accounts sends
// (oauth adds them): a request for the account's own other scopes, without
// these, is still the main token.
func baseScopes(p oauth.Profile) []string {
	if p.Provider == oauth.ProviderMicrosoft {
		return []string{"offline_access", "openid", "profile"}
	}
	return []string{"offline_access", "openid"}
}

// ownScopes reports whether scopes (normalised) are the account's own: they
// name the same resource scopes as the profile's.
func ownScopes(p oauth.Profile, scopes []string) bool {
	own, _ := state.NormalizeScopes(p.Scopes)
	for _, b := range baseScopes(p) {
		if !slices.Contains(own, b) {
			own = append(own, b)
		}
	}
	slices.Sort(own)
	want := slices.Clone(scopes)
	for _, s := range own {
		if slices.Contains(baseScopes(p), s) && !slices.Contains(want, s) {
			want = append(want, s)
		}
	}
	slices.Sort(want)
	return slices.Equal(want, own)
}

// requestScopes is the scope parameter of a per-resource refresh: Microsoft
// gets offline_access openid profile first, as MSAL sends (the refresh
// token and the ID token stay as they are); another provider gets the set
// itself (plus offline_access if the account's scopes have it; oauth adds
// the discovered base scopes), a narrower scope within the original grant
// (RFC 6749 §6).
func requestScopes(p oauth.Profile, scopes []string) []string {
	var base []string
	if p.Provider == oauth.ProviderMicrosoft {
		base = []string{"offline_access", "openid", "profile"}
	} else if slices.Contains(p.Scopes, "offline_access") {
		base = []string{"offline_access"}
	}
	out := slices.Clone(base)
	for _, s := range scopes {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// resourceError reports whether err, from a per-resource refresh, is about
// the requested resource rather than the account's grant: the scope is
// invalid (invalid_scope, AADSTS70011, AADSTS28000), the resource unknown
// (invalid_resource, AADSTS500011, AADSTS650057), or the user has not
// consented to it (consent_required, AADSTS65001). Such a failure goes to
// the caller only.
func resourceError(err error) bool {
	var oe *oauth.Error
	if !errors.As(err, &oe) {
		return false
	}
	switch oe.Code {
	case "invalid_scope", "invalid_resource", "consent_required":
		return true
	}
	if oe.SubError == "consent_required" {
		return true
	}
	return slices.ContainsFunc(oe.AADSTS, func(c int) bool {
		return c == 65001 || c == 500011 || c == 70011 || c == 28000 || c == 650057
	})
}

// TokenFor returns an access token of name for r.Scopes (the account's main
// token, as Token, when they are empty or the account's own). Per-resource
// tokens are redeemed with the account's refresh token (Microsoft's work
// for every resource the user consented to; other providers get a narrower
// scope, RFC 6749 §6) and cached in memory only, ScopedPerUser sets per
// account. A refresh for them shares the account's flight and cross-process
// lock with every other refresh, re-reads the vault under the lock, and
// saves a rotated refresh token before the access token is handed out. A
// failure about the resource (consent, unknown resource, bad scope) is
// returned and leaves the account alone; one that ends the grant makes it
// need sign-in, as for the main token. With r.Claims the refresh is forced
// and carries the claims.
func (e *Engine) TokenFor(ctx context.Context, name string, r TokenRequest) (AccessToken, error) {
	a, err := e.account(name)
	if err != nil {
		return AccessToken{}, err
	}
	scopes, err := state.NormalizeScopes(r.Scopes)
	if err != nil {
		return AccessToken{}, fmt.Errorf("token for account %q: %w", name, err)
	}
	if r.Claims != "" {
		if _, err := oauth.RequestClaims(nil, r.Claims); err != nil {
			return AccessToken{}, fmt.Errorf("token for account %q: %w", name, err)
		}
	}
	e.mu.Lock()
	prof := a.profile
	e.mu.Unlock()
	if len(scopes) == 0 || ownScopes(prof, scopes) {
		scopes = nil // the main token
		if r.Claims == "" {
			t, err := e.Token(ctx, name, r.MinValid)
			if err == nil {
				e.mu.Lock()
				t.Scopes = slices.Clone(a.env.Scopes)
				e.mu.Unlock()
			}
			return t, err
		}
	} else if prof.Provider != oauth.ProviderMicrosoft && !prof.NarrowerScopes {
		return AccessToken{}, fmt.Errorf("token for account %q: %w: per-resource tokens of a %s account are a refresh with a narrower scope, and some providers then narrow the sign-in itself (RFC 6749 §6 forbids it; the account would need a new sign-in); if this account's provider keeps the sign-in's scope, set narrower_scopes: true for it in the settings file",
			name, ErrResource, prof.Provider)
	} else if r.Claims == "" {
		if t, ok := e.scopedHit(a, strings.Join(scopes, " "), r.MinValid); ok {
			return t, nil
		}
	}
	t, err := e.refreshFor(ctx, a, scopes, r, e.now())
	e.flushNotes()
	return t, err
}

// claimsHit returns the token a refresh with the same claims produced since
// asked, while this caller waited for the flight: callers that got one
// challenge at once share one forced refresh. A later call with the same
// claims refreshes again.
func (e *Engine) claimsHit(a *account, key string, main bool, r TokenRequest, asked time.Time) (AccessToken, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !a.haveEnv {
		return AccessToken{}, false
	}
	if main {
		if a.claimed.claims != r.Claims || a.claimed.at.Before(asked) || a.env.AccessToken == "" {
			return AccessToken{}, false
		}
		life := lifetime(a.env)
		return AccessToken{Token: a.env.AccessToken, Expiry: a.env.Expiry, Type: a.env.TokenType, Lifetime: life,
			ShorterThanAsked: life > 0 && life < r.MinValid, Unsaved: a.unsaved, Scopes: slices.Clone(a.env.Scopes)}, true
	}
	i := slices.IndexFunc(a.scoped, func(s *scopedEntry) bool {
		return s.key == key && s.claims == r.Claims && !s.obtained.Before(asked) && s.who == a.env.Claims
	})
	if i < 0 {
		return AccessToken{}, false
	}
	return a.scoped[i].accessToken(r.MinValid), true
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
		ShorterThanAsked: life > 0 && life < minValid, Scopes: slices.Clone(s.granted)}
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
func (a *account) scopedStatusLocked(now time.Time) []ScopedStatus {
	var out []ScopedStatus
	for _, s := range a.scoped {
		if a.haveEnv && s.who == a.env.Claims && s.expiry.After(now) {
			out = append(out, ScopedStatus{Scopes: slices.Clone(s.scopes), Expiry: s.expiry})
		}
	}
	return out
}

// refreshFor runs one refresh of a for scopes (nil: the main token, with
// r.Claims) under a's flight and the cross-process lock.
func (e *Engine) refreshFor(ctx context.Context, a *account, scopes []string, r TokenRequest, asked time.Time) (tok AccessToken, err error) {
	key := strings.Join(scopes, " ")
	what := "token"
	if scopes != nil {
		what = fmt.Sprintf("token for scopes %q", key)
	}
	wrap := func(err error) error { return fmt.Errorf("%s of account %q: %w", what, a.name, err) }
	resourceFailure := false
	defer func() {
		if err != nil && !resourceFailure {
			err = e.signInNeeded(a, err)
		}
	}()
	if err := e.acquire(ctx, a, true); err != nil {
		return AccessToken{}, wrap(err)
	}
	// Another caller's refresh may have filled the cache meanwhile.
	if r.Claims == "" && scopes != nil {
		if t, ok := e.scopedHit(a, key, r.MinValid); ok {
			<-a.sem
			return t, nil
		}
	} else if r.Claims != "" {
		if t, ok := e.claimsHit(a, key, scopes == nil, r, asked); ok {
			<-a.sem
			return t, nil
		}
	}
	e.setBusy(a)
	var note *Notification
	defer func() { e.release(a, note) }()
	defer e.done(a)

	start := time.Now()
	unlock, err := e.lockFile(ctx, a)
	if err != nil {
		return AccessToken{}, wrap(err)
	}
	defer unlock()
	env, base, checked, err := e.reread(ctx, a)
	if err != nil {
		return AccessToken{}, wrap(err)
	}
	if ctx.Err() != nil {
		return AccessToken{}, wrap(ctx.Err())
	}
	e.syncState(a)

	now := e.now()
	e.mu.Lock()
	if a.state == NeedsSignIn {
		reason := a.reason
		e.mu.Unlock()
		return AccessToken{}, wrap(fmt.Errorf("%w: %s", ErrNeedsSignIn, reason))
	}
	if scopes != nil && a.narrows != "" {
		why := a.narrows
		e.mu.Unlock()
		resourceFailure = true
		return AccessToken{}, wrap(fmt.Errorf("%w: per-resource tokens are off for this account: %s", ErrResource, why))
	}
	if a.retryAfterUntil.After(now) {
		until := a.retryAfterUntil
		e.counters.RefreshSkippedTotal++
		e.mu.Unlock()
		return AccessToken{}, wrap(&Refused{Reason: RefusedRetryAfter, Until: until})
	}
	if ok, until := e.takeBudgetLocked(modeToken, now); !ok {
		e.counters.RefreshSkippedTotal++
		e.mu.Unlock()
		return AccessToken{}, wrap(&Refused{Reason: RefusedBudget, Until: time.Unix(0, until)})
	}
	if scopes == nil {
		a.lastAttempt = now
		a.deferUntil = time.Time{}
	}
	prof := a.profile
	e.mu.Unlock()

	if prof.ClientSecret == "" {
		prof.ClientSecret = env.ClientSecret
	}
	if scopes != nil {
		prof.Scopes = requestScopes(prof, scopes)
	}
	prof.Claims = r.Claims
	// As in refresh: once sent, the answer is read and saved even if the
	// caller goes away.
	xctx, cancel := detach(ctx, exchangeGrace)
	got, err := e.ref.Refresh(xctx, prof, env.RefreshToken, env.AccessToken)
	cancel()
	if err != nil {
		class := classOf(err)
		if scopes != nil && resourceError(err) {
			resourceFailure = true
			e.logScoped(a, "refused", time.Since(start), class)
			return AccessToken{}, wrap(fmt.Errorf("%w (the account itself is not affected; if consent is missing, sign in once with this scope): %w", ErrResource, err))
		}
		e.mu.Lock()
		if scopes == nil || class == ClassPermanent {
			// The main token, or the grant itself ended: as a main refresh.
			note = e.failLocked(a, err, class, e.now())
		} else if oe := (*oauth.Error)(nil); errors.As(err, &oe) && oe.RetryAfter > 0 {
			// The provider asked every request to wait.
			a.retryAfterUntil = e.now().Add(oe.RetryAfter)
		}
		e.mu.Unlock()
		if scopes == nil {
			e.logRefresh(a, "failed", false, time.Time{}, time.Since(start), class)
		} else {
			e.logScoped(a, "failed", time.Since(start), class)
		}
		return AccessToken{}, wrap(err)
	}
	if scopes == nil {
		_, held := e.commit(ctx, a, env, got, now, true, base, checked)
		e.logRefresh(a, "ok", got.Fresh, held.Expiry, time.Since(start), "")
		e.mu.Lock()
		unsaved := a.unsaved && a.env.AccessToken == held.AccessToken
		a.claimed = claimed{claims: r.Claims, at: now}
		e.mu.Unlock()
		life := lifetime(held)
		return AccessToken{Token: held.AccessToken, Expiry: held.Expiry, Type: held.TokenType, Lifetime: life,
			ShorterThanAsked: life > 0 && life < r.MinValid, Unsaved: unsaved, Scopes: slices.Clone(held.Scopes)}, nil
	}
	unsaved := false
	if got.RefreshToken != "" && got.RefreshToken != env.RefreshToken {
		unsaved = !e.saveRotated(ctx, a, env, got.RefreshToken, base, checked, now)
		if !unsaved && prof.Provider != oauth.ProviderMicrosoft {
			note = e.checkGrant(ctx, a, key, now)
		}
	}
	s := &scopedEntry{key: key, scopes: scopes, granted: got.Scopes, token: got.AccessToken, typ: got.TokenType,
		expiry: got.Expiry.Round(0), obtained: now, who: env.Claims, claims: r.Claims}
	if s.typ == "" {
		s.typ = "Bearer"
	}
	e.mu.Lock()
	if a.haveEnv && a.env.Claims == env.Claims {
		a.cacheLocked(s)
	}
	e.publishLocked()
	e.mu.Unlock()
	e.logScoped(a, "ok", time.Since(start), "")
	t := s.accessToken(r.MinValid)
	t.Unsaved = unsaved
	return t, nil
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

// logScoped writes the one log line of a per-resource refresh. It never
// logs a token or the scopes' values beyond their count.
func (e *Engine) logScoped(a *account, result string, took time.Duration, class string) {
	e.log.Info("scoped refresh", "account", a.name, "result", result, "duration", took, "class", class)
}

// checkGrant runs after a narrower-scope refresh of a non-Microsoft account
// rotated its refresh token (and the new one is saved): RFC 6749 §6 says the
// new refresh token keeps the original scope, but some providers (the
// zitadel/oidc example OP) narrow it to the request's. So the account's own
// scopes are refreshed at once with the new refresh token, under the same
// flight and lock, as a main refresh (committed, budgeted). If the provider
// answers invalid_scope it has narrowed the grant: the account needs sign-in
// (with a reason that says why) and narrower-scope requests stay off for it
// in this process, so a new sign-in is not narrowed again. Other failures
// are left to the schedule. It returns the notification to queue, if any.
func (e *Engine) checkGrant(ctx context.Context, a *account, key string, now time.Time) *Notification {
	e.mu.Lock()
	ok, _ := e.takeBudgetLocked(modeToken, now)
	env, prof := a.env, a.profile
	e.mu.Unlock()
	if !ok {
		return nil
	}
	if prof.ClientSecret == "" {
		prof.ClientSecret = env.ClientSecret
	}
	xctx, cancel := detach(ctx, exchangeGrace)
	got, err := e.ref.Refresh(xctx, prof, env.RefreshToken, env.AccessToken)
	cancel()
	if err == nil {
		e.mu.Lock()
		a.lastAttempt = now
		e.mu.Unlock()
		e.commit(ctx, a, env, got, now, true, storedRef{env, true}, true)
		return nil
	}
	var oe *oauth.Error
	if !errors.As(err, &oe) || oe.Code != "invalid_scope" {
		return nil
	}
	why := fmt.Sprintf("the provider narrowed the account's sign-in to the scopes %q of a per-resource request (its new refresh token no longer covers the account's own scopes, which RFC 6749 §6 forbids)", key)
	e.mu.Lock()
	defer e.mu.Unlock()
	a.narrows = why
	n := e.failLocked(a, err, ClassPermanent, e.now())
	msg := why + "; sign in again"
	a.reason, a.lastErr.Message = msg, msg
	if n != nil {
		n.Message = msg
	}
	return n
}
