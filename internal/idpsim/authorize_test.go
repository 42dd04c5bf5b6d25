package idpsim

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func codeForm(code, verifier string) url.Values {
	return url.Values{
		"grant_type":    {"authorization_code"},
		"client_id":     {testClient},
		"code":          {code},
		"redirect_uri":  {"http://127.0.0.1:8400/callback"},
		"code_verifier": {verifier},
	}
}

func TestLoginCodePKCE(t *testing.T) {
	s, hs := startHTTP(t, Options{AccessTTL: 2 * time.Minute})
	verifier, challenge := pkce("v")
	q := authorizeQuery(challenge)

	r := get(t, noRedirect, hs.URL+"/common/oauth2/v2.0/authorize?"+q.Encode())
	if r.Status != http.StatusFound {
		t.Fatalf("authorize = %d %s; want 302", r.Status, r.Body)
	}
	loc, _ := url.Parse(r.Header.Get("Location"))
	if loc.Host != "127.0.0.1:8400" || loc.Path != "/callback" || loc.Query().Get("state") != "st-123" {
		t.Errorf("redirect = %s; want http://127.0.0.1:8400/callback with state st-123", loc)
	}
	code := loc.Query().Get("code")
	if !strings.HasPrefix(code, CodePrefix) {
		t.Fatalf("code %q lacks prefix %q", code, CodePrefix)
	}

	tr := post(t, http.DefaultClient, hs.URL+"/common/oauth2/v2.0/token", codeForm(code, verifier)).token(t)
	if !strings.HasPrefix(tr.AccessToken, AccessPrefix) || !strings.HasPrefix(tr.RefreshToken, RefreshPrefix) {
		t.Errorf("tokens lack prefixes: access %.6q refresh %.6q", tr.AccessToken, tr.RefreshToken)
	}
	if tr.ExpiresIn != 120 || tr.TokenType != "Bearer" || tr.Scope != q.Get("scope") {
		t.Errorf("response = expires_in %d type %q scope %q; want 120 Bearer %q", tr.ExpiresIn, tr.TokenType, tr.Scope, q.Get("scope"))
	}
	hdr, c := decodeJWT(t, tr.IDToken)
	if hdr["alg"] != "none" {
		t.Errorf("id_token alg = %q; want none", hdr["alg"])
	}
	iss := EndpointsFor(hs.URL, "common").Issuer
	want := IDClaims{Issuer: iss, Audience: testClient, Subject: "alice@contoso.test", ObjectID: objectID("alice@contoso.test"),
		TenantID: DefaultTenantID, Name: "Alice", PreferredUsername: "alice@contoso.test", Nonce: "n-1",
		IssuedAt: c.IssuedAt, NotBefore: c.IssuedAt, Expiry: c.IssuedAt + 120, Version: "2.0", AuthTime: c.IssuedAt}
	if d := cmp.Diff(want, c); d != "" {
		t.Errorf("id_token claims (-want +got):\n%s", d)
	}
	if !s.Valid(tr.RefreshToken) {
		t.Errorf("Valid(new refresh token) = false")
	}
	issued := s.Issued()
	for _, tok := range []string{code, tr.AccessToken, tr.RefreshToken, tr.IDToken} {
		if !slices.Contains(issued, tok) {
			t.Errorf("Issued() lacks a %.6s… token", tok)
		}
	}

	// Single use.
	r = post(t, http.DefaultClient, hs.URL+"/common/oauth2/v2.0/token", codeForm(code, verifier))
	if d := cmp.Diff(errorOf{400, "invalid_grant", 54005, ""}, r.errorOf(t)); d != "" {
		t.Errorf("second redemption (-want +got):\n%s", d)
	}
}

func TestLoginHS256AndGUIDTenant(t *testing.T) {
	_, hs := startHTTP(t, Options{SigningKey: []byte("k")})
	verifier, challenge := pkce("w")
	const tid = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	r := get(t, noRedirect, hs.URL+"/"+tid+"/oauth2/v2.0/authorize?"+authorizeQuery(challenge).Encode())
	loc, _ := url.Parse(r.Header.Get("Location"))
	tr := post(t, http.DefaultClient, hs.URL+"/"+tid+"/oauth2/v2.0/token", codeForm(loc.Query().Get("code"), verifier)).token(t)
	hdr, c := decodeJWT(t, tr.IDToken)
	if hdr["alg"] != "HS256" || strings.HasSuffix(tr.IDToken, ".") {
		t.Errorf("id_token alg = %q (%d chars); want a signed HS256", hdr["alg"], len(tr.IDToken))
	}
	if c.TenantID != tid || c.Issuer != hs.URL+"/"+tid+"/v2.0" {
		t.Errorf("id_token tid %q iss %q; want %q and the tenant issuer", c.TenantID, c.Issuer, tid)
	}
}

func TestNoOfflineAccessNoRefreshToken(t *testing.T) {
	_, hs := startHTTP(t, Options{})
	verifier, challenge := pkce("x")
	q := authorizeQuery(challenge)
	q.Set("scope", "User.Read")
	tr := post(t, http.DefaultClient, hs.URL+"/common/oauth2/v2.0/token", codeForm(login(t, hs.URL, q), verifier)).token(t)
	if tr.RefreshToken != "" || tr.IDToken != "" {
		t.Errorf("scope User.Read gave refresh %t id_token %t; want neither", tr.RefreshToken != "", tr.IDToken != "")
	}
}

func TestAuthorizeErrors(t *testing.T) {
	_, challenge := pkce("y")
	for _, tc := range []struct {
		name     string
		edit     func(url.Values)
		page     bool // error shown as a page, not redirected
		wantErr  string
		wantCode string
	}{
		{"no client", func(q url.Values) { q.Del("client_id") }, true, "invalid_request", "900144"},
		{"unknown client", func(q url.Values) { q.Set("client_id", "other") }, true, "unauthorized_client", "700016"},
		{"https redirect", func(q url.Values) { q.Set("redirect_uri", "https://evil.test/cb") }, true, "invalid_request", "50011"},
		{"remote http redirect", func(q url.Values) { q.Set("redirect_uri", "http://10.0.0.1/cb") }, true, "invalid_request", "50011"},
		{"no redirect", func(q url.Values) { q.Del("redirect_uri") }, true, "invalid_request", "50011"},
		{"token response", func(q url.Values) { q.Set("response_type", "token") }, false, "unsupported_response_type", "700054"},
		{"no scope", func(q url.Values) { q.Del("scope") }, false, "invalid_request", "70011"},
		{"no state", func(q url.Values) { q.Del("state") }, false, "invalid_request", "900144"},
		{"no challenge", func(q url.Values) { q.Del("code_challenge") }, false, "invalid_request", "9002325"},
		{"plain method", func(q url.Values) { q.Set("code_challenge_method", "plain") }, false, "invalid_request", "9002325"},
		{"no method", func(q url.Values) { q.Del("code_challenge_method") }, false, "invalid_request", "9002325"},
		{"short challenge", func(q url.Values) { q.Set("code_challenge", "abc") }, false, "invalid_request", "9002325"},
		{"fragment mode", func(q url.Values) { q.Set("response_mode", "fragment") }, false, "invalid_request", "9002313"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, hs := startHTTP(t, Options{Clients: []string{testClient}})
			q := authorizeQuery(challenge)
			tc.edit(q)
			r := get(t, noRedirect, hs.URL+"/common/oauth2/v2.0/authorize?"+q.Encode())
			if tc.page {
				if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), "AADSTS"+tc.wantCode) {
					t.Errorf("authorize = %d %.200s; want a 400 page with AADSTS%s", r.Status, r.Body, tc.wantCode)
				}
			} else {
				loc, err := url.Parse(r.Header.Get("Location"))
				if r.Status != http.StatusFound || err != nil {
					t.Fatalf("authorize = %d; want a 302 error redirect", r.Status)
				}
				got := []string{loc.Query().Get("error"), loc.Query().Get("error_codes"), loc.Query().Get("state"), loc.Query().Get("code")}
				want := []string{tc.wantErr, tc.wantCode, q.Get("state"), ""}
				if d := cmp.Diff(want, got); d != "" {
					t.Errorf("redirect error, codes, state, code (-want +got):\n%s", d)
				}
			}
			recs := s.Requests()
			if len(recs) != 1 || recs[0].Error != tc.wantErr {
				t.Errorf("Requests() = %+v; want one authorize with error %q", recs, tc.wantErr)
			}
		})
	}
}

func TestAuthorizeFormPostAndLocalhost(t *testing.T) {
	_, hs := startHTTP(t, Options{})
	_, challenge := pkce("z")
	q := authorizeQuery(challenge)
	q.Set("response_mode", "form_post")
	q.Set("redirect_uri", "http://localhost:5000/cb")
	r := get(t, noRedirect, hs.URL+"/oauth2/v2.0/authorize?"+q.Encode())
	body := string(r.Body)
	if r.Status != http.StatusOK || !strings.Contains(body, `action="http://localhost:5000/cb"`) ||
		!strings.Contains(body, `name="code" value="simAC-`) || !strings.Contains(body, `name="state" value="st-123"`) {
		t.Errorf("form_post page = %d %s; want an auto-post form with code and state", r.Status, body)
	}
}

func TestCodeRedemptionErrors(t *testing.T) {
	verifier, challenge := pkce("p")
	other, _ := pkce("q")
	for _, tc := range []struct {
		name    string
		edit    func(url.Values)
		advance time.Duration
		want    errorOf
	}{
		{"wrong verifier", func(f url.Values) { f.Set("code_verifier", other) }, 0, errorOf{400, "invalid_grant", 501481, ""}},
		{"no verifier", func(f url.Values) { f.Del("code_verifier") }, 0, errorOf{400, "invalid_grant", 501481, ""}},
		{"short verifier", func(f url.Values) { f.Set("code_verifier", "abc") }, 0, errorOf{400, "invalid_grant", 501481, ""}},
		{"other redirect", func(f url.Values) { f.Set("redirect_uri", "http://127.0.0.1:8401/callback") }, 0, errorOf{400, "invalid_grant", 50011, ""}},
		{"other client", func(f url.Values) { f.Set("client_id", "other") }, 0, errorOf{400, "invalid_grant", 9002313, ""}},
		{"unknown code", func(f url.Values) { f.Set("code", "simAC-nope") }, 0, errorOf{400, "invalid_grant", 9002313, ""}},
		{"no code", func(f url.Values) { f.Del("code") }, 0, errorOf{400, "invalid_request", 900144, ""}},
		{"expired code", func(url.Values) {}, codeTTL, errorOf{400, "invalid_grant", 70008, ""}},
		{"no client id", func(f url.Values) { f.Del("client_id") }, 0, errorOf{400, "invalid_request", 900144, ""}},
		{"no grant type", func(f url.Values) { f.Del("grant_type") }, 0, errorOf{400, "invalid_request", 900144, ""}},
		{"password grant", func(f url.Values) { f.Set("grant_type", "password") }, 0, errorOf{400, "unsupported_grant_type", 70003, ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := newSteppedClock()
			_, hs := startHTTP(t, Options{Clock: clock.Now})
			code := login(t, hs.URL, authorizeQuery(challenge))
			clock.Advance(tc.advance)
			f := codeForm(code, verifier)
			tc.edit(f)
			r := post(t, http.DefaultClient, hs.URL+"/common/oauth2/v2.0/token", f)
			if d := cmp.Diff(tc.want, r.errorOf(t)); d != "" {
				t.Errorf("redeem (-want +got):\n%s", d)
			}
			if strings.Contains(string(r.Body), code) {
				t.Errorf("error body echoes the code")
			}
			if tc.advance == 0 && tc.name != "unknown code" && tc.name != "no code" {
				// A failed redemption does not burn the code.
				post(t, http.DefaultClient, hs.URL+"/common/oauth2/v2.0/token", codeForm(code, verifier)).token(t)
			}
		})
	}
}
