package idpsim

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestDiscovery(t *testing.T) {
	_, hs := startHTTP(t, Options{})
	for _, tc := range []struct {
		path, tenant string
	}{
		{"/.well-known/openid-configuration", ""},
		{"/common/v2.0/.well-known/openid-configuration", "common"},
		{"/organizations/v2.0/.well-known/openid-configuration", "organizations"},
		{"/" + DefaultTenantID + "/v2.0/.well-known/openid-configuration", DefaultTenantID},
	} {
		t.Run(tc.path, func(t *testing.T) {
			r := get(t, http.DefaultClient, hs.URL+tc.path)
			if r.Status != http.StatusOK {
				t.Fatalf("GET %s = %d; want 200", tc.path, r.Status)
			}
			var doc map[string]any
			if err := json.Unmarshal(r.Body, &doc); err != nil {
				t.Fatal(err)
			}
			e := EndpointsFor(hs.URL, tc.tenant)
			got := map[string]any{
				"issuer": doc["issuer"], "authorization_endpoint": doc["authorization_endpoint"],
				"token_endpoint": doc["token_endpoint"], "device_authorization_endpoint": doc["device_authorization_endpoint"],
				"revocation_endpoint": doc["revocation_endpoint"], "jwks_uri": doc["jwks_uri"],
				"userinfo_endpoint": doc["userinfo_endpoint"],
			}
			want := map[string]any{
				"issuer": e.Issuer, "authorization_endpoint": e.Auth, "token_endpoint": e.Token,
				"device_authorization_endpoint": e.Device, "revocation_endpoint": e.Revoke, "jwks_uri": e.JWKS,
				"userinfo_endpoint": e.UserInfo,
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("discovery (-want +got):\n%s", d)
			}
			if e.Discovery != hs.URL+tc.path {
				t.Errorf("EndpointsFor(%q).Discovery = %q; want %q", tc.tenant, e.Discovery, hs.URL+tc.path)
			}
		})
	}
}

func TestIssuerMatchesPlainDiscovery(t *testing.T) {
	s, hs := startHTTP(t, Options{})
	r := get(t, http.DefaultClient, s.Issuer(hs.URL+"/")+"/.well-known/openid-configuration")
	var doc struct{ Issuer string }
	if err := json.Unmarshal(r.Body, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Issuer != s.Issuer(hs.URL) {
		t.Errorf("discovery issuer = %q; want %q", doc.Issuer, s.Issuer(hs.URL))
	}
}

func TestBaseURLOption(t *testing.T) {
	_, hs := startHTTP(t, Options{BaseURL: "http://sim.example:9/"})
	r := get(t, http.DefaultClient, hs.URL+"/consumers/v2.0/.well-known/openid-configuration")
	var doc struct {
		Issuer        string `json:"issuer"`
		TokenEndpoint string `json:"token_endpoint"`
	}
	if err := json.Unmarshal(r.Body, &doc); err != nil {
		t.Fatal(err)
	}
	want := EndpointsFor("http://sim.example:9", "consumers")
	if doc.Issuer != want.Issuer || doc.TokenEndpoint != want.Token {
		t.Errorf("discovery = %+v; want issuer %q token %q", doc, want.Issuer, want.Token)
	}
}

func TestRoutes(t *testing.T) {
	for _, tc := range []struct {
		path string
		want route
	}{
		{"/oauth2/v2.0/token", route{endpoint: "token"}},
		{"/common/oauth2/v2.0/token", route{endpoint: "token", tenant: "common"}},
		{"/contoso.onmicrosoft.com/oauth2/v2.0/authorize", route{endpoint: "authorize", tenant: "contoso.onmicrosoft.com"}},
		{"/consumers/oauth2/v2.0/devicecode", route{endpoint: "devicecode", tenant: "consumers"}},
		{"/revoke", route{endpoint: "revoke"}},
		{"/common/oauth2/v2.0/revoke", route{endpoint: "revoke", tenant: "common"}},
		{"/common/discovery/v2.0/keys", route{endpoint: "jwks", tenant: "common"}},
		{"/device", route{endpoint: "device"}},
		{"/oidc/userinfo", route{endpoint: "userinfo"}},
		{"/", route{}},
		{"/common/oauth2/token", route{}},
		{"//oauth2/v2.0/token", route{endpoint: "token"}},
		{"/a/b/oauth2/v2.0/token", route{}},
		{"/v2.0/.well-known/openid-configuration", route{}},
	} {
		if got := parseRoute(tc.path); got != tc.want {
			t.Errorf("parseRoute(%q) = %+v; want %+v", tc.path, got, tc.want)
		}
	}
}

func TestNotFoundAndMethods(t *testing.T) {
	s, hs := startHTTP(t, Options{})
	if r := get(t, http.DefaultClient, hs.URL+"/nope"); r.Status != http.StatusNotFound {
		t.Errorf("GET /nope = %d; want 404", r.Status)
	}
	r := get(t, http.DefaultClient, hs.URL+"/common/oauth2/v2.0/token")
	if d := cmp.Diff(errorOf{400, "invalid_request", 900561, ""}, r.errorOf(t)); d != "" {
		t.Errorf("GET token (-want +got):\n%s", d)
	}
	recs := s.Requests()
	if len(recs) != 2 || recs[0].Endpoint != "notfound" || recs[1].Endpoint != "token" || recs[1].AADSTS != 900561 {
		t.Errorf("Requests() = %+v; want notfound then token/900561", recs)
	}
}

// descRE is the shape of Microsoft's error_description.
var descRE = regexp.MustCompile(`^AADSTS(\d+): .+ Trace ID: [0-9a-f-]{36} Correlation ID: [0-9a-f-]{36} Timestamp: \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$`)

func TestErrorBodyShape(t *testing.T) {
	clock := newSteppedClock()
	_, hs := startHTTP(t, Options{Clock: clock.Now})
	r := post(t, http.DefaultClient, hs.URL+"/common/oauth2/v2.0/token", refreshForm("simRT-unknown"))
	eb := r.errBody(t)
	if !descRE.MatchString(eb.ErrorDescription) {
		t.Errorf("error_description = %q; want Microsoft's shape", eb.ErrorDescription)
	}
	if !strings.Contains(eb.ErrorDescription, eb.TraceID) || !strings.Contains(eb.ErrorDescription, eb.CorrelationID) {
		t.Errorf("error_description %q lacks trace %q or correlation %q", eb.ErrorDescription, eb.TraceID, eb.CorrelationID)
	}
	if eb.Timestamp != "2026-03-01 09:00:00Z" {
		t.Errorf("timestamp = %q; want the server clock", eb.Timestamp)
	}
	if got := r.Header.Get("Content-Type"); !strings.HasPrefix(got, "application/json") {
		t.Errorf("Content-Type = %q; want application/json", got)
	}
	if strings.Contains(string(r.Body), "simRT-unknown") {
		t.Errorf("error body echoes the refresh token")
	}
}

func TestDateHeader(t *testing.T) {
	clock := newSteppedClock()
	_, hs := startHTTP(t, Options{Clock: clock.Now, DateOffset: -90 * time.Second})
	r := get(t, http.DefaultClient, hs.URL+"/.well-known/openid-configuration")
	got, err := http.ParseTime(r.Header.Get("Date"))
	if err != nil {
		t.Fatal(err)
	}
	if want := clock.Now().Add(-90 * time.Second); !got.Equal(want) {
		t.Errorf("Date = %v; want %v", got, want)
	}
}

func TestJWKSAndUserInfo(t *testing.T) {
	s, hs := startHTTP(t, Options{})
	if r := get(t, http.DefaultClient, hs.URL+"/common/discovery/v2.0/keys"); r.Status != 200 || string(r.Body) != `{"keys":[]}` {
		t.Errorf("jwks = %d %s; want 200 {\"keys\":[]}", r.Status, r.Body)
	}
	rt := s.Grant(testClient, "bob", []string{"openid"})
	tr := post(t, http.DefaultClient, hs.URL+"/oauth2/v2.0/token", refreshForm(rt)).token(t)

	req, _ := http.NewRequest("GET", hs.URL+"/oidc/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+tr.AccessToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r := readReply(t, resp)
	var ui map[string]string
	if err := json.Unmarshal(r.Body, &ui); err != nil {
		t.Fatal(err)
	}
	if ui["sub"] != "bob" || ui["preferred_username"] != "bob@idpsim.test" || ui["name"] != "Bob" {
		t.Errorf("userinfo = %v; want bob", ui)
	}
	req.Header.Set("Authorization", "Bearer simAT-nope")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if r := readReply(t, resp); r.Status != http.StatusUnauthorized {
		t.Errorf("userinfo with a bad token = %d; want 401", r.Status)
	}
}

func TestUser(t *testing.T) {
	for _, tc := range []struct{ subject, name, upn string }{
		{"alice@contoso.test", "Alice", "alice@contoso.test"},
		{"bob", "Bob", "bob@idpsim.test"},
		{"@x", "@x", "@x"},
		{"", "", "@idpsim.test"},
	} {
		name, upn := User(tc.subject)
		if name != tc.name || upn != tc.upn {
			t.Errorf("User(%q) = %q, %q; want %q, %q", tc.subject, name, upn, tc.name, tc.upn)
		}
	}
}

func TestRotationNames(t *testing.T) {
	for _, r := range []Rotation{MicrosoftLike, GraceWindow, Strict} {
		got, err := ParseRotation(r.String())
		if err != nil || got != r {
			t.Errorf("ParseRotation(%q) = %v, %v; want %v", r.String(), got, err, r)
		}
	}
	if _, err := ParseRotation("lax"); err == nil {
		t.Errorf("ParseRotation(lax) = nil error")
	}
	if got := Rotation(7).String(); got != "rotation(7)" {
		t.Errorf("Rotation(7).String() = %q", got)
	}
}

func TestDiscoveryMethod(t *testing.T) {
	_, hs := startHTTP(t, Options{})
	r := post(t, http.DefaultClient, hs.URL+"/.well-known/openid-configuration", nil)
	if r.Status != http.StatusMethodNotAllowed {
		t.Errorf("POST discovery = %d; want 405", r.Status)
	}
}
