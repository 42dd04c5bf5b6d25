package idpsim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestIntrospection: the RFC 7662 endpoint answers active, with subject,
// UPN, scope, audience and expiry, for a live access token the simulator
// issued, on the plain and the tenant route; and {"active":false} alone for
// an unknown token, a refresh token, an expired access token and one whose
// grant was revoked.
func TestIntrospection(t *testing.T) {
	clock := newSteppedClock()
	s, hs := startHTTP(t, Options{Clock: clock.Now, AccessTTL: time.Hour})
	const imap = "https://outlook.office.com/IMAP.AccessAsUser.All"
	s.Consent("alice@contoso.test", "https://outlook.office.com")
	tokenURL := hs.URL + "/common/oauth2/v2.0/token"
	redeem := func(rt, scope string) string {
		t.Helper()
		f := refreshForm(rt)
		if scope != "" {
			f.Set("scope", scope)
		}
		return post(t, http.DefaultClient, tokenURL, f).token(t).AccessToken
	}
	aliceRT := s.Grant(testClient, "alice@contoso.test", []string{"offline_access", "User.Read"})
	mail := redeem(aliceRT, imap)
	own := redeem(aliceRT, "")
	bobRT := s.Grant(testClient, "bob", nil)
	revoked := redeem(bobRT, "")
	s.Revoke(bobRT)
	expiresAt := clock.Now().Add(time.Hour).Unix()

	inactive := introspection{}
	for _, tc := range []struct {
		name, token, url string
		advance          time.Duration // clock step before the request
		want             introspection
	}{
		{"per-resource access token", mail, IntrospectionURL(hs.URL, ""), 0, introspection{
			Active: true, Subject: "alice@contoso.test", Username: "alice@contoso.test", Scope: imap,
			Audience: "https://outlook.office.com", ClientID: testClient, TokenType: "Bearer", Expiry: expiresAt}},
		{"own access token, tenant route", own, IntrospectionURL(hs.URL, "organizations"), 0, introspection{
			Active: true, Subject: "alice@contoso.test", Username: "alice@contoso.test", Scope: "offline_access User.Read",
			Audience: GraphResource, ClientID: testClient, TokenType: "Bearer", Expiry: expiresAt}},
		{"unknown token", AccessPrefix + "nothing-issued", IntrospectionURL(hs.URL, ""), 0, inactive},
		{"refresh token", aliceRT, IntrospectionURL(hs.URL, ""), 0, inactive},
		{"revoked grant", revoked, IntrospectionURL(hs.URL, ""), 0, inactive},
		{"one second before expiry", mail, IntrospectionURL(hs.URL, ""), time.Hour - time.Second, introspection{
			Active: true, Subject: "alice@contoso.test", Username: "alice@contoso.test", Scope: imap,
			Audience: "https://outlook.office.com", ClientID: testClient, TokenType: "Bearer", Expiry: expiresAt}},
		{"expired", mail, IntrospectionURL(hs.URL, ""), time.Second, inactive},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock.Advance(tc.advance)
			r := post(t, http.DefaultClient, tc.url, url.Values{"token": {tc.token}, "token_type_hint": {"access_token"}})
			if r.Status != http.StatusOK {
				t.Fatalf("status %d, body %s; want 200", r.Status, r.Body)
			}
			var got introspection
			if err := json.Unmarshal(r.Body, &got); err != nil {
				t.Fatalf("decode %s: %v", r.Body, err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("introspection (-want +got):\n%s", d)
			}
			if !tc.want.Active && string(r.Body) != `{"active":false}` {
				t.Errorf("inactive body = %s; want {\"active\":false} alone", r.Body)
			}
		})
	}
	for _, rec := range s.Requests() {
		if rec.Endpoint == "introspect" && strings.Contains(rec.Subject, "bob") {
			t.Errorf("the log names %q for a revoked token's introspection; want no subject", rec.Subject)
		}
	}
}

// TestIntrospectionBadRequests: a GET and a request without a token are
// refused with the error naming what is wrong.
func TestIntrospectionBadRequests(t *testing.T) {
	_, hs := startHTTP(t, Options{})
	u := IntrospectionURL(hs.URL, "")
	r := get(t, http.DefaultClient, u+"?token=x")
	if eo := r.errorOf(t); eo.Status != http.StatusMethodNotAllowed || eo.Error != "invalid_request" || r.Header.Get("Allow") != "POST" {
		t.Errorf("GET: %+v, Allow %q; want 405 invalid_request, Allow POST", eo, r.Header.Get("Allow"))
	}
	r = post(t, http.DefaultClient, u, url.Values{"token_type_hint": {"access_token"}})
	if eo := r.errorOf(t); eo.Status != 400 || eo.Error != "invalid_request" || !strings.Contains(r.errBody(t).ErrorDescription, "'token'") {
		t.Errorf("no token: %+v %s; want 400 invalid_request naming 'token'", eo, r.Body)
	}
}
