package oauth

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// newZitadel runs the zitadel/oidc example OpenID Provider in-process on a
// loopback port, with one native (public, PKCE) client, and returns its
// issuer and the user name and password of its test user.
func newZitadel(t *testing.T) (issuer, user, password string) {
	t.Helper()
	hs := httptest.NewUnstartedServer(nil)
	issuer = "http://" + hs.Listener.Addr().String()
	clients := map[string]*storage.Client{
		"native": storage.NativeClient("native", "http://127.0.0.1/callback"),
	}
	st := storage.NewStorageWithClients(storage.NewUserStore(issuer), clients)
	hs.Config.Handler = exampleop.SetupServer(issuer, st, nil, false, op.WithAllowInsecure())
	hs.Start()
	t.Cleanup(hs.Close)
	return issuer, "test-user@127.0.0.1", "verysecure"
}

// zitadelBrowser signs in on the example OP's login form, following every
// redirect like a browser, in a goroutine owned by the test.
type zitadelBrowser struct {
	t              *testing.T
	issuer         string
	user, password string
	wg             sync.WaitGroup
	mu             sync.Mutex
	page           string
	err            error
}

func (b *zitadelBrowser) open(authURL string) error {
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		page, err := b.signIn(b.t.Context(), authURL)
		b.mu.Lock()
		b.page, b.err = page, err
		b.mu.Unlock()
	}()
	return nil
}

func (b *zitadelBrowser) signIn(ctx context.Context, authURL string) (string, error) {
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, authURL, nil)
	resp, err := hc.Do(req)
	if err != nil {
		return "", err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	id := resp.Request.URL.Query().Get("authRequestID")
	if resp.StatusCode != http.StatusOK || id == "" {
		return "", errors.New("no login page: " + resp.Status + " " + resp.Request.URL.String() + " " + string(body))
	}
	form := url.Values{"id": {id}, "username": {b.user}, "password": {b.password}}
	req, _ = http.NewRequestWithContext(ctx, http.MethodPost, b.issuer+"/login/username", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err = hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, _ = io.ReadAll(resp.Body)
	return string(body), nil
}

func (b *zitadelBrowser) wait() (string, error) {
	b.wg.Wait()
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.page, b.err
}

// TestZitadelIntegration runs the whole lifecycle against an independent
// OpenID Provider: discovery, browser sign-in with PKCE, refresh, rotation
// (the old refresh token is then rejected), revoke (then Permanent).
func TestZitadelIntegration(t *testing.T) {
	issuer, user, password := newZitadel(t)
	p, err := OIDCProfile(t.Context(), nil, issuer, "native", []string{"profile", "email"})
	if err != nil {
		t.Fatalf("OIDCProfile(%q) = %v", issuer, err)
	}
	p.RedirectURI = "http://127.0.0.1/callback"
	if p.Endpoints.Revoke == "" {
		t.Fatalf("discovery found no revocation endpoint: %+v", p.Endpoints)
	}
	c := &Client{}

	b := &zitadelBrowser{t: t, issuer: issuer, user: user, password: password}
	tok, err := c.LoginBrowser(t.Context(), p, BrowserOptions{Open: b.open})
	page, berr := b.wait()
	if err != nil {
		t.Fatalf("LoginBrowser = %v (browser: %v, page %q)", err, berr, page)
	}
	if !strings.Contains(page, "Signed in") {
		t.Errorf("browser page = %q; want the success page", page)
	}
	if tok.RefreshToken == "" || tok.AccessToken == "" || tok.Expiry.IsZero() {
		t.Fatalf("LoginBrowser token: rt %v at %v expiry %v; want all", tok.RefreshToken != "", tok.AccessToken != "", tok.Expiry)
	}
	// The example OP keeps profile claims out of the id_token (userinfo only).
	if tok.Claims.Subject != "id1" {
		t.Errorf("Claims = %+v; want subject id1", tok.Claims)
	}

	next, err := c.Refresh(t.Context(), p, tok.RefreshToken, tok.AccessToken)
	if err != nil {
		t.Fatalf("Refresh = %v", err)
	}
	if !next.Fresh || !next.Rotated {
		t.Errorf("Refresh: Fresh=%v Rotated=%v; want both (zitadel rotates)", next.Fresh, next.Rotated)
	}
	_, err = c.Refresh(t.Context(), p, tok.RefreshToken, "")
	var e *Error
	if !errors.As(err, &e) || e.Class != Permanent || e.Code != "invalid_grant" {
		t.Errorf("Refresh(old token) = %v; want Permanent invalid_grant", err)
	}
	if strings.Contains(err.Error(), tok.RefreshToken) {
		t.Errorf("error leaks the refresh token: %v", err)
	}

	if err := c.Revoke(t.Context(), p, next.RefreshToken); err != nil {
		t.Fatalf("Revoke = %v", err)
	}
	_, err = c.Refresh(t.Context(), p, next.RefreshToken, "")
	if !errors.As(err, &e) || e.Class != Permanent || !strings.HasPrefix(e.UserMessage(), "sign in again: ") {
		t.Errorf("Refresh after Revoke = %v; want Permanent with a sign-in message", err)
	}
}
