package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/tokentray/tokentray/internal/oauth"
	"github.com/tokentray/tokentray/internal/state"
)

// ErrResource is matched by a TokenFor error that is about the requested
// resource, not about the account: the provider refused that resource
// (consent, Conditional Access, an unknown resource or a bad scope) without
// proving the grant ended, or per-resource tokens are off for the account.
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

// TokenFor returns an access token of name for r.Scopes (the account's main
// token, as Token, when they are empty or the account's own). Per-resource
// tokens are redeemed with the account's refresh token (Microsoft's work
// for every resource the user consented to; other providers get a narrower
// scope, RFC 6749 §6) and cached in memory only, ScopedPerUser sets per
// account. A refresh for them runs as every refresh does (run): the
// account's flight and cross-process lock, a re-read of the vault, and a
// rotated refresh token saved before the access token is handed out. A
// refusal that does not prove the grant ended (consent, Conditional Access,
// an unknown resource, a bad scope) is returned matching ErrResource and
// leaves the account alone; one that ends the grant makes it need sign-in,
// as for the main token. With r.Claims the refresh is forced and carries
// the claims; it too changes the account only when the grant ended.
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
	j := job{mode: modeToken, minValid: r.MinValid, scopes: scopes, claims: r.Claims, asked: e.now()}
	if len(scopes) == 0 || ownScopes(prof, scopes) {
		j.scopes = nil // the main token
		if r.Claims == "" {
			t, err := e.Token(ctx, name, r.MinValid)
			if err == nil {
				e.mu.Lock()
				t = withScopes(t, a.env)
				e.mu.Unlock()
			}
			return t, err
		}
	} else if prof.Provider != oauth.ProviderMicrosoft && !prof.NarrowerScopes {
		return AccessToken{}, fmt.Errorf("token for account %q: %w: per-resource tokens of a %s account are a refresh with a narrower scope, and some providers then narrow the sign-in itself (RFC 6749 §6 forbids it; the account would need a new sign-in); if this account's provider keeps the sign-in's scope, set narrower_scopes: true for it in the settings file",
			name, ErrResource, prof.Provider)
	} else if r.Claims == "" {
		if t, ok := e.scopedHit(a, j.key(), r.MinValid); ok {
			return t, nil
		}
	}
	out, err := e.run(ctx, a, j)
	return out.tok, err
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
