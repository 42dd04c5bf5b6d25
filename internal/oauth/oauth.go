// Package oauth owns the provider side of tokentray: provider profiles
// (Microsoft identity platform v2.0 and OpenID Connect discovery), sign-in
// (authorization code + PKCE on a loopback redirect, device code), the forced
// refresh_token grant, revocation, and the classification of provider errors
// into permanent, transient and retry-after failures.
package oauth

import (
	"net/http"
	"sync"
	"time"
)

// Provider names used in Profile.Provider.
const (
	ProviderMicrosoft = "microsoft"
	ProviderOIDC      = "oidc"
)

// Endpoints are the resolved URLs of one provider.
type Endpoints struct {
	Auth   string // authorization endpoint
	Token  string // token endpoint
	Device string // device authorization endpoint ("" if unsupported)
	Revoke string // revocation endpoint ("" if unsupported)
	Issuer string // issuer identifier ("" if unknown)
}

// Profile describes how to talk to one account's provider.
type Profile struct {
	Provider     string // "microsoft" | "oidc"
	Cloud        string // microsoft only: public, usgov or china (wire.MicrosoftClouds)
	Tenant       string // microsoft only
	Issuer       string // oidc only
	ClientID     string
	ClientSecret string // confidential clients only; kept in the vault, never in config
	Scopes       []string
	RedirectURI  string            // loopback redirect; "" means http://127.0.0.1:<free port>/callback
	Headers      map[string]string // sent on every token request (for example Origin)
	Endpoints    Endpoints
	// Capabilities are client capabilities (xms_cc, see claimsreq.go) that
	// every refresh declares in its claims parameter, such as "cp1" for
	// Continuous Access Evaluation.
	Capabilities []string
	// NarrowerScopes allows refreshes with a narrower scope set than
	// Scopes on a non-Microsoft provider (per-resource tokens; config's
	// narrower_scopes opt-in).
	NarrowerScopes bool
	// Claims is a claims request (JSON, from a resource's claims challenge)
	// for one refresh; merged with Capabilities.
	Claims string
}

// Claims are the display-only claims read from an ID token. They are parsed
// without verifying the token's signature, so they must never be used for an
// authorization decision.
type Claims struct {
	Name              string
	PreferredUsername string
	TenantID          string
	Subject           string
}

// Token is the result of a sign-in or refresh.
type Token struct {
	AccessToken  string
	RefreshToken string
	TokenType    string
	IDToken      string
	Expiry       time.Time // time the request was sent + expires_in; zero if unknown
	Scopes       []string
	Fresh        bool          // the access token differs from the previous one
	Rotated      bool          // the response carried a new refresh token
	ClockOffset  time.Duration // server Date minus local clock (0 when no Date header)
	Claims       Claims        // from the id_token, signature NOT verified: display only

	// The expiry radar (radar.go). RefreshExpiry is when the refresh token
	// expires as the response said (sent + refresh_token_expires_in or
	// refresh_expires_in), RefreshExpirySource which field said it;
	// RefreshNoExpiry is set when Keycloak's refresh_expires_in was 0 (an
	// offline token). AuthTime is the id_token's auth_time (NOT verified).
	// All zero when the provider did not say.
	RefreshExpiry       time.Time
	RefreshExpirySource string
	RefreshNoExpiry     bool
	AuthTime            time.Time
}

// Client performs token requests. The zero value is usable: it uses
// http.DefaultClient and a 30 s per-request timeout. Refresh, LoginBrowser,
// LoginDevice and Revoke accept an OIDC profile without endpoints (Provider
// ProviderOIDC, Endpoints.Token empty) and discover them on first use; the
// result is kept per issuer and client for the Client's lifetime, a failed
// discovery is not kept. A Client must not be copied after first use.
type Client struct {
	HTTP    *http.Client
	Timeout time.Duration // per request; 0 means 30 s

	mu         sync.Mutex
	discovered map[discoveryKey]discovered // guarded by mu
}

// DefaultTimeout is the per-request timeout used when Client.Timeout is 0.
const DefaultTimeout = 30 * time.Second
