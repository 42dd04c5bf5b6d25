package idpsim

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestSignInFrequency: with a sign-in frequency policy, refreshes work
// until auth_time + limit, whatever the rotations in between (the limit does
// not slide), then answer invalid_grant AADSTS70043 naming the limit in
// seconds as Entra does; id_tokens carry auth_time, the sign-in's time.
func TestSignInFrequency(t *testing.T) {
	clock := newSteppedClock()
	signIn := clock.Now()
	s := New(Options{SignInFrequency: 8 * time.Hour, Clock: clock.Now})
	hc := s.Client()
	rt := s.Grant(testClient, "alice", []string{"openid", "offline_access"})
	for range 7 {
		clock.Advance(time.Hour)
		tr := post(t, hc, "http://idpsim.test/common/oauth2/v2.0/token", refreshForm(rt)).token(t)
		_, c := decodeJWT(t, tr.IDToken)
		if c.AuthTime != signIn.Unix() {
			t.Fatalf("id_token auth_time = %d; want the sign-in %d", c.AuthTime, signIn.Unix())
		}
		rt = tr.RefreshToken
	}
	clock.Advance(time.Hour) // 8 h after the sign-in, 1 h after the last rotation
	r := post(t, hc, "http://idpsim.test/common/oauth2/v2.0/token", refreshForm(rt))
	if d := cmp.Diff(errorOf{400, "invalid_grant", 70043, ""}, r.errorOf(t)); d != "" {
		t.Errorf("refresh 8h after sign-in (-want +got):\n%s", d)
	}
	desc := r.errBody(t).ErrorDescription
	want := "AADSTS70043: The refresh token has expired or is invalid due to sign-in frequency checks by conditional access. The token was issued on 2026-03-01T09:00:00.0000000Z and the maximum allowed lifetime for this request is 28800. Trace ID: "
	if !strings.HasPrefix(desc, want) {
		t.Errorf("error_description = %q; want it to start %q", desc, want)
	}
	if s.Valid(rt) {
		t.Error("Valid(refresh token past the sign-in frequency) = true")
	}
	// A new sign-in starts a new window.
	rt2 := s.Grant(testClient, "alice", []string{"openid", "offline_access"})
	post(t, hc, "http://idpsim.test/common/oauth2/v2.0/token", refreshForm(rt2)).token(t)
}
