package idpsim

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// refreshChain refreshes n times, each time with the newest refresh token,
// and returns every refresh token seen, oldest first.
func refreshChain(t *testing.T, tokenURL, first string, n int) []string {
	t.Helper()
	chain := []string{first}
	for range n {
		tr := post(t, http.DefaultClient, tokenURL, refreshForm(chain[len(chain)-1])).token(t)
		if tr.RefreshToken == "" || tr.RefreshToken == chain[len(chain)-1] {
			t.Fatalf("refresh did not rotate the refresh token")
		}
		chain = append(chain, tr.RefreshToken)
	}
	return chain
}

func TestRotationPolicies(t *testing.T) {
	type step struct {
		advance time.Duration
		index   int // which token of the chain to try
		want    int // AADSTS, 0 for success
	}
	for _, tc := range []struct {
		name  string
		opts  Options
		steps []step
	}{
		{"microsoft old tokens keep working", Options{Rotation: MicrosoftLike, RefreshTTL: 24 * time.Hour}, []step{
			{0, 0, 0}, {0, 1, 0}, {time.Hour, 0, 0}, {0, 3, 0},
			{23 * time.Hour, 0, 700082}, // 24h after issue
		}},
		{"strict rejects a used token at once", Options{Rotation: Strict}, []step{
			{0, 0, 70008}, {0, 1, 70008}, {0, 3, 0}, {0, 3, 70008},
		}},
		{"strict reuse revokes the grant", Options{Rotation: Strict, ReuseRevokes: true}, []step{
			{0, 3, 0}, {0, 3, 70008}, {0, 2, 50173},
		}},
		{"grace keeps a used token for the window", Options{Rotation: GraceWindow, Grace: 2 * time.Hour}, []step{
			{0, 0, 0}, {time.Hour, 1, 0}, {59 * time.Minute, 0, 0}, {time.Minute, 0, 70008},
			{0, 1, 70008}, {0, 3, 0},
		}},
		{"grace unused token is not limited by the window", Options{Rotation: GraceWindow, Grace: time.Minute}, []step{
			{10 * time.Hour, 3, 0}, {time.Minute, 3, 70008},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := newSteppedClock()
			tc.opts.Clock = clock.Now
			s, hs := startHTTP(t, tc.opts)
			tokenURL := hs.URL + "/common/oauth2/v2.0/token"
			chain := refreshChain(t, tokenURL, s.Grant(testClient, "alice", []string{"offline_access", "openid"}), 3)
			for i, st := range tc.steps {
				clock.Advance(st.advance)
				valid := s.Valid(chain[st.index])
				r := post(t, http.DefaultClient, tokenURL, refreshForm(chain[st.index]))
				got := 0
				if r.Status != http.StatusOK {
					if e := r.errorOf(t); e.Error == "invalid_grant" && e.Status == 400 {
						got = e.Code
					} else {
						t.Fatalf("step %d: error %+v; want invalid_grant 400", i, e)
					}
				}
				if got != st.want {
					t.Errorf("step %d: refresh with chain[%d] = AADSTS %d; want %d", i, st.index, got, st.want)
				}
				if valid != (st.want == 0) {
					t.Errorf("step %d: Valid(chain[%d]) = %t before a refresh that got %d", i, st.index, valid, got)
				}
			}
		})
	}
}

func TestGraceWindowMaxLive(t *testing.T) {
	s, hs := startHTTP(t, Options{Rotation: GraceWindow, Grace: time.Hour, MaxLive: 3})
	tokenURL := hs.URL + "/oauth2/v2.0/token"
	chain := refreshChain(t, tokenURL, s.Grant(testClient, "alice", nil), 4) // 5 tokens, 3 live
	var got []bool
	for _, rt := range chain {
		got = append(got, s.Valid(rt))
	}
	if d := cmp.Diff([]bool{false, false, true, true, true}, got); d != "" {
		t.Errorf("Valid per chain token (-want +got):\n%s", d)
	}
	r := post(t, http.DefaultClient, tokenURL, refreshForm(chain[0]))
	if d := cmp.Diff(errorOf{400, "invalid_grant", 70008, ""}, r.errorOf(t)); d != "" {
		t.Errorf("refresh with dropped token (-want +got):\n%s", d)
	}
	// MaxLive caps one grant only.
	other := s.Grant(testClient, "bob", nil)
	if !s.Valid(other) || !s.Valid(chain[4]) {
		t.Errorf("a second grant disturbed the first")
	}
}

func TestRefreshResponse(t *testing.T) {
	s, hs := startHTTP(t, Options{AccessTTL: 90*time.Second + time.Millisecond})
	rt := s.Grant(testClient, "alice@contoso.test", []string{"offline_access", "openid", "profile", "User.Read"})
	tokenURL := hs.URL + "/common/oauth2/v2.0/token"
	tr := post(t, http.DefaultClient, tokenURL, refreshForm(rt)).token(t)
	if tr.ExpiresIn != 91 || tr.ExtExpiresIn != 91 {
		t.Errorf("expires_in = %d ext %d; want 91 (rounded up)", tr.ExpiresIn, tr.ExtExpiresIn)
	}
	if tr.Scope != "offline_access openid profile User.Read" {
		t.Errorf("scope = %q; want the grant's scopes", tr.Scope)
	}
	if _, c := decodeJWT(t, tr.IDToken); c.Subject != "alice@contoso.test" || c.Nonce != "" || c.Audience != testClient {
		t.Errorf("id_token claims = %+v", c)
	}
	f := refreshForm(tr.RefreshToken)
	f.Set("scope", "https://graph.microsoft.com/.default offline_access")
	tr2 := post(t, http.DefaultClient, tokenURL, f).token(t)
	if tr2.Scope != "https://graph.microsoft.com/.default offline_access" || tr2.IDToken != "" {
		t.Errorf("scope = %q, id_token %t; want the requested scope echoed, no id_token", tr2.Scope, tr2.IDToken != "")
	}
	if tr2.AccessToken == tr.AccessToken {
		t.Errorf("refresh returned the same access token")
	}
	if got := s.Refreshes("alice@contoso.test"); got != 2 {
		t.Errorf("Refreshes = %d; want 2", got)
	}
}

func TestRefreshErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opts   Options
		form   func(rt string) url.Values
		header http.Header
		want   errorOf
	}{
		{"unknown token", Options{}, func(string) url.Values { return refreshForm("simRT-nope") }, nil, errorOf{400, "invalid_grant", 9002313, ""}},
		{"no token", Options{}, func(string) url.Values { return refreshForm("") }, nil, errorOf{400, "invalid_request", 900144, ""}},
		{"other client", Options{}, func(rt string) url.Values {
			f := refreshForm(rt)
			f.Set("client_id", "other")
			return f
		}, nil, errorOf{400, "invalid_grant", 70000, ""}},
		{"unregistered client", Options{Clients: []string{"other"}}, refreshForm, nil, errorOf{400, "unauthorized_client", 700016, ""}},
		{"missing secret", Options{ClientSecrets: map[string]string{testClient: "s3"}}, refreshForm, nil, errorOf{401, "invalid_client", 7000215, ""}},
		{"wrong secret", Options{ClientSecrets: map[string]string{testClient: "s3"}}, func(rt string) url.Values {
			f := refreshForm(rt)
			f.Set("client_secret", "s4")
			return f
		}, nil, errorOf{401, "invalid_client", 7000215, ""}},
		{"spa without origin", Options{SPAClients: []string{testClient}}, refreshForm, nil, errorOf{400, "invalid_request", 9002327, ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, hs := startHTTP(t, tc.opts)
			rt := s.Grant(testClient, "alice", nil)
			r := post(t, http.DefaultClient, hs.URL+"/common/oauth2/v2.0/token", tc.form(rt))
			if d := cmp.Diff(tc.want, r.errorOf(t)); d != "" {
				t.Errorf("refresh (-want +got):\n%s", d)
			}
			if !s.Valid(rt) {
				t.Errorf("a rejected request invalidated the grant")
			}
		})
	}
}

func TestConfidentialClient(t *testing.T) {
	s, hs := startHTTP(t, Options{ClientSecrets: map[string]string{testClient: "s3&cret"}})
	rt := s.Grant(testClient, "alice", nil)
	f := refreshForm(rt)
	f.Set("client_secret", "s3&cret")
	tr := post(t, http.DefaultClient, hs.URL+"/oauth2/v2.0/token", f).token(t)

	// HTTP Basic, form-encoded per RFC 6749 §2.3.1.
	form := refreshForm(tr.RefreshToken)
	form.Del("client_id")
	req, _ := http.NewRequest("POST", hs.URL+"/oauth2/v2.0/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(testClient), url.QueryEscape("s3&cret"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	readReply(t, resp).token(t)
}

func TestSPAFixedLifetime(t *testing.T) {
	clock := newSteppedClock()
	s := New(Options{SPAClients: []string{testClient}, Clock: clock.Now})
	hc := s.Client()
	rt := s.Grant(testClient, "alice", nil)
	do := func(rt string) reply {
		req, _ := http.NewRequest("POST", "http://idpsim.test/common/oauth2/v2.0/token", strings.NewReader(refreshForm(rt).Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", "http://localhost:3000")
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return readReply(t, resp)
	}
	clock.Advance(23 * time.Hour)
	tr := do(rt).token(t)
	if tr.RefreshTokenExpiresIn != 3600 {
		t.Errorf("refresh_token_expires_in = %d; want 3600", tr.RefreshTokenExpiresIn)
	}
	clock.Advance(time.Hour)
	if d := cmp.Diff(errorOf{400, "invalid_grant", 700084, ""}, do(tr.RefreshToken).errorOf(t)); d != "" {
		t.Errorf("refresh after 24h (-want +got):\n%s", d)
	}
}

func TestRevoke(t *testing.T) {
	for _, tc := range []struct {
		name   string
		revoke func(t *testing.T, s *Server, base, rt, at string)
	}{
		{"endpoint with refresh token", func(t *testing.T, s *Server, base, rt, _ string) {
			r := post(t, http.DefaultClient, base+"/revoke", url.Values{"token": {rt}, "token_type_hint": {"refresh_token"}, "client_id": {testClient}})
			if r.Status != http.StatusOK {
				t.Fatalf("revoke = %d; want 200", r.Status)
			}
		}},
		{"tenant endpoint with access token", func(t *testing.T, s *Server, base, _, at string) {
			if r := post(t, http.DefaultClient, base+"/common/oauth2/v2.0/revoke", url.Values{"token": {at}}); r.Status != http.StatusOK {
				t.Fatalf("revoke = %d; want 200", r.Status)
			}
		}},
		{"Revoke", func(t *testing.T, s *Server, _, rt, _ string) {
			if !s.Revoke(rt) {
				t.Fatalf("Revoke(known token) = false")
			}
		}},
		{"RevokeGrant", func(t *testing.T, s *Server, _, _, _ string) {
			if n := s.RevokeGrant("alice"); n != 1 {
				t.Fatalf("RevokeGrant = %d; want 1", n)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, hs := startHTTP(t, Options{})
			tokenURL := hs.URL + "/common/oauth2/v2.0/token"
			first := s.Grant(testClient, "alice", nil)
			other := s.Grant(testClient, "bob", nil)
			tr := post(t, http.DefaultClient, tokenURL, refreshForm(first)).token(t)
			tc.revoke(t, s, hs.URL, tr.RefreshToken, tr.AccessToken)
			for _, rt := range []string{first, tr.RefreshToken} {
				r := post(t, http.DefaultClient, tokenURL, refreshForm(rt))
				if d := cmp.Diff(errorOf{400, "invalid_grant", 50173, ""}, r.errorOf(t)); d != "" {
					t.Errorf("refresh after revoke (-want +got):\n%s", d)
				}
			}
			if !s.Valid(other) {
				t.Errorf("revoking alice ended bob's grant")
			}
		})
	}
}

func TestRevokeEndpointEdges(t *testing.T) {
	s, hs := startHTTP(t, Options{})
	rt := s.Grant(testClient, "alice", nil)
	for _, tc := range []struct {
		name string
		form url.Values
		want int
	}{
		{"unknown token", url.Values{"token": {"simRT-nope"}}, 200},
		{"no token", url.Values{}, 400},
		{"other client", url.Values{"token": {rt}, "client_id": {"other"}}, 200},
	} {
		if r := post(t, http.DefaultClient, hs.URL+"/revoke", tc.form); r.Status != tc.want {
			t.Errorf("%s: revoke = %d; want %d", tc.name, r.Status, tc.want)
		}
	}
	if !s.Valid(rt) {
		t.Errorf("revoke by another client ended the grant")
	}
	if s.Revoke("simRT-nope") {
		t.Errorf("Revoke(unknown) = true")
	}
	if r := get(t, http.DefaultClient, hs.URL+"/revoke"); r.Status != 400 {
		t.Errorf("GET /revoke = %d; want 400", r.Status)
	}
}

func TestRequestLog(t *testing.T) {
	clock := newSteppedClock()
	s, hs := startHTTP(t, Options{Clock: clock.Now})
	rt := s.Grant(testClient, "alice", nil)
	tokenURL := hs.URL + "/contoso/oauth2/v2.0/token"
	post(t, http.DefaultClient, tokenURL, refreshForm(rt)).token(t)
	s.Inject(Fault{Kind: Throttle429})
	post(t, http.DefaultClient, tokenURL, refreshForm(rt))
	post(t, http.DefaultClient, tokenURL, refreshForm("simRT-nope"))
	want := []RequestRecord{
		{Time: clock.Now(), Endpoint: "token", Tenant: "contoso", GrantType: "refresh_token", ClientID: testClient, Subject: "alice", Status: 200},
		{Time: clock.Now(), Endpoint: "token", Tenant: "contoso", GrantType: "refresh_token", ClientID: testClient, Subject: "alice", Status: 429,
			Error: "temporarily_unavailable", AADSTS: 50196, Fault: Throttle429},
		{Time: clock.Now(), Endpoint: "token", Tenant: "contoso", GrantType: "refresh_token", ClientID: testClient, Status: 400,
			Error: "invalid_grant", AADSTS: 9002313},
	}
	if d := cmp.Diff(want, s.Requests()); d != "" {
		t.Errorf("Requests() (-want +got):\n%s", d)
	}
	if got := s.Refreshes("alice"); got != 1 {
		t.Errorf("Refreshes(alice) = %d; want 1", got)
	}
}
