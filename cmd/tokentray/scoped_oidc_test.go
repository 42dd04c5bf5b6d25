//go:build linux

package main

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tokentray/tokentray/internal/state"
	"golang.org/x/oauth2"
)

// TestCLINarrowerScopeOIDC: against the zitadel/oidc example OP, token
// --scope asks for a narrower scope on refresh (RFC 6749 §6), prints that
// token and serves it from the cache afterwards; a scope outside the grant
// gets the provider's invalid_scope, exit 1. This OP narrows the rotated
// refresh token to the requested scope (RFC 6749 §6 says it must not):
// tokentray checks the account's own scopes at once, says the sign-in was
// narrowed and needs sign-in, and keeps narrower requests off for the
// account afterwards.
func TestCLINarrowerScopeOIDC(t *testing.T) {
	o := startExampleOP(t, "http://localhost:1/callback")
	c := newCLI(t)
	c.must("", "config", "set", "storage.backend", "file")
	c.must("", "account", "add", "plain", "--provider", "oidc", "--issuer", o.issuer, "--client-id", "native", "--scope", "profile", "--scope", "email")
	c.must(o.nativeRefreshTokenWith(t, "openid", "offline_access", "profile", "email")+"\n", "import", "plain", "--refresh-token-stdin")
	c.must("", "account", "add", "idp", "--provider", "oidc", "--issuer", o.issuer, "--client-id", "native", "--scope", "profile", "--scope", "email", "--narrower-scopes")
	c.must(o.nativeRefreshTokenWith(t, "openid", "offline_access", "profile", "email")+"\n", "import", "idp", "--refresh-token-stdin")
	startHeadless(t, c)

	// Without the opt-in a narrower scope is refused before any request,
	// and the account stays as it was.
	posts0 := o.tokenPosts.Load()
	if r := c.run("", "token", "plain", "--scope", "email"); r.code != 1 || !strings.Contains(r.stderr, "narrower_scopes: true") || r.stdout != "" {
		t.Errorf("token --scope without narrower_scopes: exit %d, stdout %d bytes, stderr %q; want exit 1 naming the opt-in", r.code, len(r.stdout), r.stderr)
	}
	if got := o.tokenPosts.Load() - posts0; got != 0 {
		t.Errorf("token requests for a refused narrower scope = %d; want 0", got)
	}
	if a, _ := statusJSON(t, c).Account("plain"); a.State != state.OK {
		t.Errorf("account without the opt-in after a refused scope: %s; want ok", a.State)
	}

	r := c.run("", "token", "idp", "--scope", "phone")
	if r.code != 1 || !strings.Contains(r.stderr, "invalid_scope") || !strings.Contains(r.stderr, "not affected") {
		t.Errorf("token --scope phone (not granted): exit %d, stderr %q; want 1 with the provider's invalid_scope", r.code, r.stderr)
	}
	if a, _ := statusJSON(t, c).Account("idp"); a.State != state.OK {
		t.Errorf("account after a refused scope: %s; want ok", a.State)
	}
	posts := o.tokenPosts.Load()
	var js map[string]any
	if err := json.Unmarshal([]byte(c.must("", "token", "idp", "--scope", "email", "--json").stdout), &js); err != nil {
		t.Fatal(err)
	}
	tok, _ := js["access_token"].(string)
	if len(tok) < 20 || fmt.Sprint(js["scope"]) != "openid offline_access email" {
		t.Errorf("token --scope email --json: token of %d bytes, scope %q; want a token for the narrower scope", len(tok), js["scope"])
	}
	if got := o.tokenPosts.Load() - posts; got != 2 {
		t.Errorf("token requests for --scope email = %d; want 2 (the narrower refresh, then the check of the account's own scopes)", got)
	}
	if again := strings.TrimSpace(c.must("", "token", "idp", "--scope", "email").stdout); again != tok {
		t.Errorf("second token --scope email is not the cached token")
	}
	a, _ := statusJSON(t, c).Account("idp")
	if a.State != state.NeedsSignIn || !strings.Contains(a.Reason, "narrowed") || !strings.Contains(a.Reason, "RFC 6749") {
		t.Errorf("account after the provider narrowed its grant: %s, reason %q; want needs sign-in saying the provider narrowed it", a.State, a.Reason)
	}
	if r := c.run("", "token", "idp", "--scope", "profile"); r.code == 0 || !strings.Contains(r.stderr, "narrowed") && !strings.Contains(r.stderr, "sign in") {
		t.Errorf("token --scope after narrowing: exit %d, stderr %q; want a failure saying why", r.code, r.stderr)
	}
	// The OP's tokens carry no prefix the suite's secret scan knows: look
	// for this one by value in everything else the commands printed or wrote.
	c.assertNotLeaked(tok, "tokens.json")
}

// assertNotLeaked fails if tok appears in what the commands printed (other
// than token and env stdout) or in a file outside the vault.
func (c *cli) assertNotLeaked(tok string, vaultFiles ...string) {
	c.t.Helper()
	c.mu.Lock()
	out := c.output.String()
	c.mu.Unlock()
	if strings.Contains(out, tok) {
		c.t.Errorf("the access token appears in the command output")
	}
	filepath.Walk(c.dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() && !slices.Contains(vaultFiles, filepath.Base(p)) {
			if b, _ := os.ReadFile(p); strings.Contains(string(b), tok) {
				c.t.Errorf("the access token appears in %s", p)
			}
		}
		return nil
	})
}

// nativeRefreshTokenWith is nativeRefreshToken with the given scopes.
func (o *exampleOP) nativeRefreshTokenWith(t *testing.T, scopes ...string) string {
	t.Helper()
	cfg := oauth2.Config{ClientID: "native", RedirectURL: "http://127.0.0.1/callback",
		Endpoint: oauth2.Endpoint{AuthURL: o.authURL, TokenURL: o.tokenURL, AuthStyle: oauth2.AuthStyleInParams},
		Scopes:   scopes}
	verifier := oauth2.GenerateVerifier()
	u, _, err := o.signIn(t.Context(), cfg.AuthCodeURL("scoped-state", oauth2.S256ChallengeOption(verifier)),
		func(u *url.URL) bool { return u.Host == "127.0.0.1" && u.Path == "/callback" })
	if err != nil || u == nil {
		t.Fatalf("sign in with the native client: %v (stopped at %v)", err, u)
	}
	tok, err := cfg.Exchange(t.Context(), u.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil || tok.RefreshToken == "" {
		t.Fatalf("code exchange: %v", err)
	}
	return tok.RefreshToken
}
