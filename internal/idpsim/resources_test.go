package idpsim

import (
	"encoding/base64"
	"net/http"
	"slices"
	"strings"
	"testing"
)

func TestResourceOf(t *testing.T) {
	for scope, want := range map[string]string{
		"User.Read":                                     GraphResource,
		"https://graph.microsoft.com/User.Read":         GraphResource,
		"https://graph.microsoft.com/.default":          GraphResource,
		"api://app-1/access_as_user":                    "api://app-1",
		"https://management.azure.com//.default":        "https://management.azure.com",
		"00000002-0000-0000-c000-000000000000/.default": "00000002-0000-0000-c000-000000000000",
		"openid":         "",
		"offline_access": "",
	} {
		if got := ResourceOf(scope); got != want {
			t.Errorf("ResourceOf(%q) = %q; want %q", scope, got, want)
		}
	}
}

// TestPerResourceRefresh: a refresh token redeems access tokens for every
// resource the user consented to, each with that resource as audience; a
// registered resource without consent gets AADSTS65001 consent_required, an
// unknown one AADSTS500011, two resources at once AADSTS28000, and none of
// these refusals uses up the refresh token.
func TestPerResourceRefresh(t *testing.T) {
	s, hs := startHTTP(t, Options{Rotation: Strict})
	const user = "alice@contoso.test"
	s.AddResource("api://registered")
	s.Consent(user, "https://vault.azure.net")
	rt := s.Grant(testClient, user, []string{"offline_access", "openid", "profile", "User.Read"})
	tokenURL := hs.URL + "/common/oauth2/v2.0/token"

	for _, tc := range []struct {
		scope, code, sub string
		aadsts           int
	}{
		{"api://registered/.default offline_access", "invalid_grant", "consent_required", 65001},
		{"api://nowhere/.default", "invalid_resource", "", 500011},
		{"https://vault.azure.net/.default api://registered/x", "invalid_scope", "", 28000},
		{"https://vault.azure.net/.default https://vault.azure.net/user_impersonation", "invalid_scope", "", 70011},
	} {
		f := refreshForm(rt)
		f.Set("scope", tc.scope)
		r := post(t, http.DefaultClient, tokenURL, f)
		eb := r.errBody(t)
		if r.Status != 400 || eb.Error != tc.code || eb.SubError != tc.sub || !slices.Contains(eb.ErrorCodes, tc.aadsts) {
			t.Errorf("scope %q: status %d error %q suberror %q codes %v; want 400 %q %q [%d]", tc.scope, r.Status, eb.Error, eb.SubError, eb.ErrorCodes, tc.code, tc.sub, tc.aadsts)
		}
	}
	f := refreshForm(rt)
	f.Set("scope", "api://nowhere/.default")
	if d := post(t, http.DefaultClient, tokenURL, f).errBody(t).ErrorDescription; !strings.Contains(d, "api://nowhere") {
		t.Errorf("AADSTS500011 description %q does not name the resource", d)
	}

	f = refreshForm(rt) // still unused: Strict would refuse a used one
	f.Set("scope", "https://vault.azure.net/.default offline_access")
	tr := post(t, http.DefaultClient, tokenURL, f).token(t)
	if info, ok := s.Access(tr.AccessToken); !ok || info.Audience != "https://vault.azure.net" || info.Subject != user {
		t.Errorf("Access(vault token) = %+v, %t; want audience https://vault.azure.net of %s", info, ok, user)
	}
	if tr.RefreshToken == "" || tr.RefreshToken == rt {
		t.Fatalf("per-resource refresh did not rotate the refresh token")
	}
	tr2 := post(t, http.DefaultClient, tokenURL, refreshForm(tr.RefreshToken)).token(t)
	if info, _ := s.Access(tr2.AccessToken); info.Audience != GraphResource {
		t.Errorf("audience of a refresh with the grant's scopes = %q; want %q", info.Audience, GraphResource)
	}
	if r := post(t, http.DefaultClient, tokenURL, refreshForm(rt)); r.Status != 400 || r.errBody(t).Error != "invalid_grant" {
		t.Errorf("old refresh token after a per-resource rotation: status %d; want 400 invalid_grant (Strict)", r.Status)
	}
}

func bearer(t *testing.T, url, tok string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("WWW-Authenticate")
}

// TestClaimsChallenge: a CAE-capable token (its request declared xms_cc
// cp1) gets a claims challenge from the resource after Challenge, until a
// token asked for with the challenge's claims is presented; a token of a
// client without cp1 is not challenged, and bad claims are refused.
func TestClaimsChallenge(t *testing.T) {
	s, hs := startHTTP(t, Options{})
	const user = "bob@contoso.test"
	rt := s.Grant(testClient, user, []string{"offline_access", "User.Read"})
	tokenURL, resURL := hs.URL+"/common/oauth2/v2.0/token", hs.URL+"/resource"
	cp1 := `{"access_token":{"xms_cc":{"values":["cp1"]}}}`

	f := refreshForm(rt)
	f.Set("claims", cp1)
	tr := post(t, http.DefaultClient, tokenURL, f).token(t)
	if info, _ := s.Access(tr.AccessToken); !slices.Equal(info.Capabilities, []string{"cp1"}) {
		t.Fatalf("xms_cc of a cp1 request = %v; want [cp1]", info.Capabilities)
	}
	plain := post(t, http.DefaultClient, tokenURL, refreshForm(tr.RefreshToken)).token(t)
	if st, _ := bearer(t, resURL, tr.AccessToken); st != 200 {
		t.Fatalf("resource before a challenge: %d; want 200", st)
	}
	b64 := s.Challenge(user)
	st, hdr := bearer(t, resURL, tr.AccessToken)
	if st != 401 || !strings.Contains(hdr, `error="insufficient_claims"`) || !strings.Contains(hdr, `claims="`+b64+`"`) {
		t.Fatalf("resource after a challenge: %d %q; want 401 insufficient_claims with claims %q", st, hdr, b64)
	}
	if st, _ := bearer(t, resURL, plain.AccessToken); st != 200 {
		t.Errorf("resource with a token of a client without cp1: %d; want 200 (no CAE)", st)
	}
	if st, _ := bearer(t, resURL, "simAT-unknown"); st != 401 {
		t.Errorf("resource with an unknown token: %d; want 401", st)
	}
	claims, _ := base64.StdEncoding.DecodeString(b64)
	merged := `{"access_token":{"xms_cc":{"values":["cp1"]},` + strings.TrimPrefix(string(claims), `{"access_token":{`)
	f = refreshForm(tr.RefreshToken)
	f.Set("claims", merged)
	tr3 := post(t, http.DefaultClient, tokenURL, f).token(t)
	if st, hdr := bearer(t, resURL, tr3.AccessToken); st != 200 {
		t.Errorf("resource with a token that carries the challenge's claims: %d %q; want 200", st, hdr)
	}
	for _, bad := range []string{"not json", `{"access_token":{"nbf":{"value":"soon"}}}`, `{"access_token":{"xms_cc":"cp1"}}`} {
		f = refreshForm(tr3.RefreshToken)
		f.Set("claims", bad)
		if r := post(t, http.DefaultClient, tokenURL, f); r.Status != 400 || r.errBody(t).Error != "invalid_request" {
			t.Errorf("claims %q: status %d; want 400 invalid_request", bad, r.Status)
		}
	}
}
