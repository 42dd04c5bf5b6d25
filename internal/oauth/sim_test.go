package oauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tokentray/tokentray/internal/idpsim"
)

const (
	testClient  = "11111111-2222-3333-4444-555555555555"
	testTenant  = "organizations"
	testSubject = "ada@idpsim.test"
)

var graphScopes = []string{"https://graph.microsoft.com/.default"}

// newSim serves an idpsim.Server on a loopback port for the test.
func newSim(t testing.TB, o idpsim.Options) (*idpsim.Server, string) {
	t.Helper()
	s := idpsim.New(o)
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	return s, hs.URL
}

// msProfile is a Microsoft profile pointed at the simulator.
func msProfile(t testing.TB, base string) Profile {
	t.Helper()
	p, err := MicrosoftProfileAt(base, testTenant, testClient, graphScopes)
	if err != nil {
		t.Fatalf("MicrosoftProfileAt(%q) = %v", base, err)
	}
	return p
}

// grant signs the test user in on the simulator without a browser.
func grant(s *idpsim.Server, p Profile) string {
	return s.Grant(p.ClientID, testSubject, p.Scopes)
}

func TestRefreshAgainstSim(t *testing.T) {
	s, base := newSim(t, idpsim.Options{AccessTTL: 30 * time.Minute, DateOffset: time.Hour})
	p := msProfile(t, base)
	rt := grant(s, p)
	c := &Client{}
	before := time.Now()
	tok, err := c.Refresh(t.Context(), p, rt, "")
	after := time.Now()
	if err != nil {
		t.Fatalf("Refresh = %v", err)
	}
	if !tok.Fresh || !tok.Rotated || tok.RefreshToken == rt || tok.AccessToken == "" {
		t.Errorf("Refresh: Fresh=%v Rotated=%v new rt=%v; want a fresh rotated pair", tok.Fresh, tok.Rotated, tok.RefreshToken != rt)
	}
	if tok.Expiry.Before(before.Add(30*time.Minute)) || tok.Expiry.After(after.Add(30*time.Minute)) {
		t.Errorf("Expiry = %v; want sent time + 30m (sent between %v and %v)", tok.Expiry, before, after)
	}
	if d := tok.ClockOffset - time.Hour; d < -2*time.Second || d > 2*time.Second {
		t.Errorf("ClockOffset = %v; want about 1h", tok.ClockOffset)
	}
	name, upn := idpsim.User(testSubject)
	if tok.Claims.Name != name || tok.Claims.PreferredUsername != upn || tok.Claims.TenantID != idpsim.DefaultTenantID {
		t.Errorf("Claims = %+v; want name %q, username %q, tid %q", tok.Claims, name, upn, idpsim.DefaultTenantID)
	}
	if got := s.Refreshes(testSubject); got != 1 {
		t.Errorf("Refreshes = %d; want 1", got)
	}

	// The second refresh is again a network call, and Fresh compares with the
	// access token passed in.
	tok2, err := c.Refresh(t.Context(), p, tok.RefreshToken, tok.AccessToken)
	if err != nil {
		t.Fatalf("second Refresh = %v", err)
	}
	if !tok2.Fresh || tok2.AccessToken == tok.AccessToken {
		t.Errorf("second Refresh: Fresh=%v, same access token %v; want a new one", tok2.Fresh, tok2.AccessToken == tok.AccessToken)
	}
	if got := s.Refreshes(testSubject); got != 2 {
		t.Errorf("Refreshes = %d; want 2 (no cache)", got)
	}
}

// TestRefreshFaults checks the class of every simulator fault kind, from
// real HTTP responses on a loopback port.
func TestRefreshFaults(t *testing.T) {
	type want struct {
		class  Class
		code   string
		aadsts int
		retry  time.Duration // minimum RetryAfter
		is     error
	}
	tests := []struct {
		name  string
		fault idpsim.Fault
		want  want
	}{
		{"429 seconds", idpsim.Fault{Kind: idpsim.Throttle429, RetryAfter: 2 * time.Minute}, want{class: RetryAfter, code: "temporarily_unavailable", aadsts: 50196, retry: 2 * time.Minute}},
		{"429 date", idpsim.Fault{Kind: idpsim.Throttle429, RetryAfter: 2 * time.Minute, RetryAfterDate: true}, want{class: RetryAfter, retry: 118 * time.Second}},
		{"429 no header", idpsim.Fault{Kind: idpsim.Throttle429}, want{class: RetryAfter, retry: DefaultRetryAfter}},
		{"503 retry-after", idpsim.Fault{Kind: idpsim.Unavailable503, RetryAfter: 30 * time.Second}, want{class: RetryAfter, aadsts: 90033, retry: 30 * time.Second}},
		{"503 plain", idpsim.Fault{Kind: idpsim.Unavailable503}, want{class: Transient, code: "temporarily_unavailable"}},
		{"500", idpsim.Fault{Kind: idpsim.ServerError500}, want{class: Transient, code: "server_error"}},
		{"connection reset", idpsim.Fault{Kind: idpsim.ConnReset}, want{class: Transient}},
		{"malformed json", idpsim.Fault{Kind: idpsim.MalformedJSON}, want{class: Transient}},
		{"5 MiB body", idpsim.Fault{Kind: idpsim.HugeBody}, want{class: Transient, is: errTooLarge}},
		{"html error page", idpsim.Fault{Kind: idpsim.HTMLError}, want{class: Transient}},
		{"interaction_required", idpsim.Fault{Kind: idpsim.InteractionRequired}, want{class: Permanent, code: "interaction_required", aadsts: 50076}},
		{"consent_required", idpsim.Fault{Kind: idpsim.ConsentRequired}, want{class: Permanent, code: "consent_required", aadsts: 65001}},
		{"temporarily_unavailable 400", idpsim.Fault{Kind: idpsim.TemporarilyUnavailable}, want{class: Transient, code: "temporarily_unavailable", aadsts: 90033}},
		{"invalid_grant as 500 is still permanent", idpsim.Fault{Kind: idpsim.InvalidGrant, Status: 500}, want{class: Permanent, code: "invalid_grant", aadsts: 70008}},
	}
	for _, code := range idpsim.InvalidGrantCodes {
		tests = append(tests, struct {
			name  string
			fault idpsim.Fault
			want  want
		}{fmt.Sprintf("invalid_grant AADSTS%d", code), idpsim.Fault{Kind: idpsim.InvalidGrant, Code: code}, want{class: Permanent, code: "invalid_grant", aadsts: code}})
	}
	covered := map[idpsim.FaultKind]bool{idpsim.Delay: true} // Delay: TestRefreshTimeout
	for _, tt := range tests {
		covered[tt.fault.Kind] = true
	}
	for _, k := range idpsim.FaultKinds() {
		if !covered[k] {
			t.Errorf("fault kind %v has no case", k)
		}
	}

	s, base := newSim(t, idpsim.Options{})
	p := msProfile(t, base)
	rt := grant(s, p)
	c := &Client{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s.Inject(tt.fault)
			_, err := c.Refresh(t.Context(), p, rt, "")
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Refresh = %v; want an *Error", err)
			}
			if e.Class != tt.want.class || ClassOf(err) != tt.want.class {
				t.Errorf("Refresh class = %v; want %v (%v)", e.Class, tt.want.class, err)
			}
			if tt.want.code != "" && e.Code != tt.want.code {
				t.Errorf("Refresh code = %q; want %q", e.Code, tt.want.code)
			}
			if tt.want.aadsts != 0 && !slices.Contains(e.AADSTS, tt.want.aadsts) {
				t.Errorf("Refresh AADSTS = %v; want %d", e.AADSTS, tt.want.aadsts)
			}
			if e.RetryAfter < tt.want.retry || (tt.want.class != RetryAfter && e.RetryAfter != 0) {
				t.Errorf("Refresh RetryAfter = %v; want at least %v", e.RetryAfter, tt.want.retry)
			}
			if tt.want.is != nil && !errors.Is(err, tt.want.is) {
				t.Errorf("Refresh = %v; want errors.Is %v", err, tt.want.is)
			}
			if tt.want.class == Permanent && (e.TraceID == "" || e.CorrelationID == "") {
				t.Errorf("Refresh trace/correlation id = %q/%q; want both", e.TraceID, e.CorrelationID)
			}
			msg := e.UserMessage()
			prefix := map[Class]string{Permanent: "sign in again: ", RetryAfter: "throttled: retrying after ", Transient: ""}[tt.want.class]
			if !strings.HasPrefix(msg, prefix) || msg == "" {
				t.Errorf("UserMessage() = %q; want prefix %q", msg, prefix)
			}
			assertNoSecrets(t, s, err.Error()+" "+msg)
			// The token sent stays usable after a fault.
			if !s.Valid(rt) {
				t.Fatalf("refresh token invalid after fault %v", tt.fault.Kind)
			}
		})
	}
}

// assertNoSecrets fails when text contains any token the simulator issued.
func assertNoSecrets(t *testing.T, s *idpsim.Server, text string) {
	t.Helper()
	for _, tok := range s.Issued() {
		if strings.Contains(text, tok) {
			t.Errorf("text leaks an issued token: %q", text)
		}
	}
}

func TestRefreshTimeoutAndCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := idpsim.New(idpsim.Options{})
		p := msProfile(t, "http://127.0.0.1:1")
		rt := grant(s, p)
		c := &Client{HTTP: s.Client(), Timeout: 3 * time.Second}

		s.Inject(idpsim.Fault{Kind: idpsim.Delay, Delay: time.Minute})
		start := time.Now()
		_, err := c.Refresh(t.Context(), p, rt, "")
		if ClassOf(err) != Transient || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Refresh with a 1m delay = %v; want a Transient timeout", err)
		}
		if got := time.Since(start); got != 3*time.Second {
			t.Errorf("Refresh gave up after %v; want 3s (Client.Timeout)", got)
		}

		// A short delay is just served.
		s.Inject(idpsim.Fault{Kind: idpsim.Delay, Delay: time.Second})
		if _, err := c.Refresh(t.Context(), p, rt, ""); err != nil {
			t.Errorf("Refresh with a 1s delay = %v; want success", err)
		}

		ctx, cancel := context.WithCancel(t.Context())
		s.Inject(idpsim.Fault{Kind: idpsim.Delay, Delay: time.Minute})
		go func() {
			time.Sleep(time.Second) // fake time inside the bubble
			cancel()
		}()
		_, err = c.Refresh(ctx, p, rt, "")
		if !errors.Is(err, context.Canceled) || ClassOf(err) != Transient {
			t.Errorf("Refresh after cancel = %v; want context.Canceled", err)
		}
	})
}

// TestRotation checks what an old refresh token gets under each policy.
func TestRotation(t *testing.T) {
	tests := []struct {
		rotation      idpsim.Rotation
		oldRightAfter bool // old token accepted right after rotation
		oldAfterGrace bool // old token accepted after the grace window
	}{
		{idpsim.MicrosoftLike, true, true},
		{idpsim.GraceWindow, true, false},
		{idpsim.Strict, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.rotation.String(), func(t *testing.T) {
			var mu sync.Mutex
			now := time.Now()
			clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
			advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
			s, base := newSim(t, idpsim.Options{Rotation: tt.rotation, Grace: time.Hour, Clock: clock})
			p := msProfile(t, base)
			c := &Client{}
			old := grant(s, p)
			tok, err := c.Refresh(t.Context(), p, old, "")
			if err != nil || !tok.Rotated {
				t.Fatalf("Refresh = %+v, %v; want a rotated token", tok.Rotated, err)
			}
			check := func(when string, want bool) {
				t.Helper()
				_, err := c.Refresh(t.Context(), p, old, "")
				if got := err == nil; got != want {
					t.Errorf("old token %s: Refresh = %v; want accepted %v", when, err, want)
				}
				if err != nil && ClassOf(err) != Permanent {
					t.Errorf("old token %s: class %v; want Permanent", when, ClassOf(err))
				}
			}
			check("right after rotation", tt.oldRightAfter)
			advance(2 * time.Hour)
			check("after the grace window", tt.oldAfterGrace)
			// The newest token always works.
			if _, err := c.Refresh(t.Context(), p, tok.RefreshToken, tok.AccessToken); err != nil && tt.rotation != idpsim.Strict {
				t.Errorf("newest token: Refresh = %v; want success", err)
			}
		})
	}
}

// keepsRefreshToken is a token endpoint that never rotates and hands out the
// same access token every time.
func keepsRefreshToken(t *testing.T, extra string) *httptest.Server {
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":"same-at","token_type":"Bearer","expires_in":60%s}`, extra)
	}))
	t.Cleanup(hs.Close)
	return hs
}

func TestRefreshWithoutRotation(t *testing.T) {
	tests := []struct {
		name, extra string
		wantRT      string
		rotated     bool
	}{
		{"no refresh token", "", "rt-1", false},
		{"same refresh token", `,"refresh_token":"rt-1"`, "rt-1", false},
		{"new refresh token", `,"refresh_token":"rt-2"`, "rt-2", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hs := keepsRefreshToken(t, tt.extra)
			p := Profile{ClientID: "c", Endpoints: Endpoints{Token: hs.URL + "/token"}}
			tok, err := (&Client{}).Refresh(t.Context(), p, "rt-1", "same-at")
			if err != nil {
				t.Fatalf("Refresh = %v", err)
			}
			if tok.RefreshToken != tt.wantRT || tok.Rotated != tt.rotated || tok.Fresh {
				t.Errorf("Refresh = rt %q rotated %v fresh %v; want rt %q rotated %v fresh false", tok.RefreshToken, tok.Rotated, tok.Fresh, tt.wantRT, tt.rotated)
			}
		})
	}
}

func TestRefreshHeadersAndSecrets(t *testing.T) {
	s, base := newSim(t, idpsim.Options{
		SPAClients:    []string{"spa"},
		ClientSecrets: map[string]string{"conf": "s3cret-value"},
	})
	c := &Client{}
	spa, _ := MicrosoftProfileAt(base, testTenant, "spa", nil)
	rt := s.Grant("spa", testSubject, spa.Scopes)
	_, err := c.Refresh(t.Context(), spa, rt, "")
	var e *Error
	if !errors.As(err, &e) || !slices.Contains(e.AADSTS, 9002327) {
		t.Fatalf("SPA refresh without Origin = %v; want AADSTS9002327", err)
	}
	if !strings.Contains(e.UserMessage(), "Origin") {
		t.Errorf("UserMessage() = %q; want advice to add an Origin header", e.UserMessage())
	}
	spa.Headers = map[string]string{"Origin": "http://localhost"}
	if _, err := c.Refresh(t.Context(), spa, rt, ""); err != nil {
		t.Errorf("SPA refresh with Origin = %v; want success", err)
	}

	conf, _ := MicrosoftProfileAt(base, testTenant, "conf", nil)
	rt = s.Grant("conf", testSubject, conf.Scopes)
	_, err = c.Refresh(t.Context(), conf, rt, "")
	if ClassOf(err) != Permanent || !strings.Contains(err.Error(), "invalid_client") {
		t.Errorf("confidential refresh without secret = %v; want Permanent invalid_client", err)
	}
	conf.ClientSecret = "s3cret-value"
	if _, err := c.Refresh(t.Context(), conf, rt, ""); err != nil {
		t.Errorf("confidential refresh with secret = %v; want success", err)
	}
	conf.ClientSecret = "wrong"
	if _, err := c.Refresh(t.Context(), conf, rt, ""); ClassOf(err) != Permanent {
		t.Errorf("confidential refresh with a wrong secret = %v; want Permanent", err)
	}
}

func TestRefreshRejectsPlainHTTP(t *testing.T) {
	p := Profile{ClientID: "c", Endpoints: Endpoints{Token: "http://login.example.com/token"}}
	_, err := (&Client{}).Refresh(t.Context(), p, "rt", "")
	if err == nil || !strings.Contains(err.Error(), "must use https") {
		t.Errorf("Refresh(http non-loopback) = %v; want an https error", err)
	}
	if _, err := (&Client{}).Refresh(t.Context(), p, "", ""); ClassOf(err) != Permanent {
		t.Errorf("Refresh with no refresh token = %v; want Permanent", err)
	}
}

func TestDiscoverSim(t *testing.T) {
	s, base := newSim(t, idpsim.Options{})
	ep, err := Discover(t.Context(), nil, s.Issuer(base))
	if err != nil {
		t.Fatalf("Discover = %v", err)
	}
	want := idpsim.EndpointsFor(base, "")
	got := Endpoints{Auth: want.Auth, Token: want.Token, Device: want.Device, Revoke: want.Revoke, Issuer: want.Issuer}
	if diff := cmp.Diff(got, ep); diff != "" {
		t.Errorf("Discover mismatch (-want +got):\n%s", diff)
	}
	p, err := OIDCProfile(t.Context(), nil, s.Issuer(base), "c", []string{"email", "openid"})
	if err != nil {
		t.Fatalf("OIDCProfile = %v", err)
	}
	if diff := cmp.Diff([]string{"openid", "offline_access", "email"}, p.Scopes); diff != "" {
		t.Errorf("OIDCProfile scopes mismatch (-want +got):\n%s", diff)
	}
}

// servesDiscovery answers the discovery URL with doc (%s is the server URL).
func servesDiscovery(t *testing.T, doc string) string {
	var hs *httptest.Server
	hs = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/openid-configuration" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, doc, hs.URL)
	}))
	t.Cleanup(hs.Close)
	return hs.URL
}

func TestDiscoverRejects(t *testing.T) {
	tests := []struct{ name, doc, want string }{
		{"issuer mismatch", `{"issuer":"https://evil.example","authorization_endpoint":"%[1]s/a","token_endpoint":"%[1]s/t"}`, "names issuer"},
		{"no token endpoint", `{"issuer":"%[1]s","authorization_endpoint":"%[1]s/a"}`, "token_endpoint missing"},
		{"plain http endpoint", `{"issuer":"%[1]s","authorization_endpoint":"%[1]s/a","token_endpoint":"http://idp.example.com/t"}`, "must use https"},
		{"not json", `<html>%s</html>`, "malformed discovery document"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			iss := servesDiscovery(t, tt.doc)
			_, err := Discover(t.Context(), nil, iss)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Discover = %v; want an error containing %q", err, tt.want)
			}
		})
	}
	if _, err := Discover(t.Context(), nil, "http://idp.example.com"); err == nil || !strings.Contains(err.Error(), "https") {
		t.Errorf("Discover(plain http) = %v; want an https error", err)
	}
}

func TestRevokeSim(t *testing.T) {
	s, base := newSim(t, idpsim.Options{})
	c := &Client{}
	ms := msProfile(t, base)
	if err := c.Revoke(t.Context(), ms, "rt"); !errors.Is(err, ErrRevokeUnsupported) {
		t.Errorf("Revoke(microsoft) = %v; want ErrRevokeUnsupported", err)
	}
	p, err := OIDCProfile(t.Context(), nil, s.Issuer(base), testClient, nil)
	if err != nil {
		t.Fatalf("OIDCProfile = %v", err)
	}
	rt := s.Grant(testClient, testSubject, p.Scopes)
	if err := c.Revoke(t.Context(), p, rt); err != nil {
		t.Fatalf("Revoke = %v", err)
	}
	if _, err := c.Refresh(t.Context(), p, rt, ""); ClassOf(err) != Permanent {
		t.Errorf("Refresh after Revoke = %v; want Permanent", err)
	}
}

// echoesToken is a token endpoint that quotes the refresh token it got in
// its error description, as a careless server might.
func echoesToken(t *testing.T) *httptest.Server {
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"error":"invalid_grant","error_description":"AADSTS70000: token %s is bad (refresh_token=%s)"}`,
			r.PostForm.Get("refresh_token"), r.PostForm.Get("refresh_token"))
	}))
	t.Cleanup(hs.Close)
	return hs
}

func TestRefreshErrorNeverQuotesToken(t *testing.T) {
	hs := echoesToken(t)
	p := Profile{ClientID: "c", Endpoints: Endpoints{Token: hs.URL + "/token"}}
	const rt = "short.rt-1"
	_, err := (&Client{}).Refresh(t.Context(), p, rt, "")
	var e *Error
	if !errors.As(err, &e) || e.Class != Permanent {
		t.Fatalf("Refresh = %v; want Permanent", err)
	}
	for _, text := range []string{err.Error(), e.UserMessage(), e.Description} {
		if strings.Contains(text, rt) {
			t.Errorf("error text %q quotes the refresh token", text)
		}
	}
	if !strings.Contains(e.Description, "AADSTS70000") {
		t.Errorf("Description = %q; want the server's description kept", e.Description)
	}
}
