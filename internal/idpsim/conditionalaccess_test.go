package idpsim

import (
	"net/http"
	"strings"
	"testing"
)

// TestConditionalAccessPerResource: a resource behind a Conditional Access
// policy is refused as Entra refuses it (each answer with its OAuth error,
// AADSTS code and suberror, the description naming the resource), the
// refusal does not use up the refresh token, and the same refresh token
// still redeems tokens for the grant's own scopes and other resources.
func TestConditionalAccessPerResource(t *testing.T) {
	for _, tc := range []struct {
		policy ConditionalAccess
		want   errorOf
	}{
		{ConditionalAccess{}, errorOf{400, "interaction_required", 50076, "basic_action"}},
		{ConditionalAccess{AADSTS: 50079}, errorOf{400, "interaction_required", 50079, "basic_action"}},
		{ConditionalAccess{AADSTS: 53003, Error: "invalid_grant"}, errorOf{400, "invalid_grant", 53003, ""}},
		{ConditionalAccess{AADSTS: 50158}, errorOf{400, "interaction_required", 50158, "basic_action"}},
		{ConditionalAccess{AADSTS: 50097, Error: "invalid_grant"}, errorOf{400, "invalid_grant", 50097, "device_authentication_failed"}},
	} {
		s, hs := startHTTP(t, Options{Rotation: Strict})
		const user = "carol@contoso.test"
		s.Consent(user, "api://mfa")
		s.Consent(user, "api://reports")
		s.RequireConditionalAccess("api://mfa/", tc.policy)
		rt := s.Grant(testClient, user, []string{"offline_access", "openid", "profile", "User.Read"})
		tokenURL := hs.URL + "/common/oauth2/v2.0/token"

		f := refreshForm(rt)
		f.Set("scope", "offline_access openid profile api://mfa/.default")
		r := post(t, http.DefaultClient, tokenURL, f)
		if got := r.errorOf(t); got != tc.want {
			t.Errorf("refresh for api://mfa behind %+v = %+v; want %+v", tc.policy, got, tc.want)
		}
		if d := r.errBody(t).ErrorDescription; !strings.Contains(d, "api://mfa") {
			t.Errorf("AADSTS%d description %q does not name the resource", tc.want.Code, d)
		}
		f = refreshForm(rt) // unused still: Strict refuses a used one
		f.Set("scope", "offline_access api://reports/.default")
		tr := post(t, http.DefaultClient, tokenURL, f).token(t)
		if info, _ := s.Access(tr.AccessToken); info.Audience != "api://reports" {
			t.Errorf("audience of a token for another resource = %q; want api://reports", info.Audience)
		}
		post(t, http.DefaultClient, tokenURL, refreshForm(tr.RefreshToken)).token(t) // the grant's own scopes
	}
}

// TestConditionalAccessUnknownAnswer: a policy with an answer the simulator
// does not know is a test bug, refused at once.
func TestConditionalAccessUnknownAnswer(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "AADSTS70008") {
			t.Errorf("RequireConditionalAccess(AADSTS70008) recovered %v; want a panic naming the code", r)
		}
	}()
	New(Options{}).RequireConditionalAccess("api://x", ConditionalAccess{AADSTS: 70008})
}
