package oauth

import (
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tokentray/tokentray/internal/idpsim"
)

func TestRequestClaims(t *testing.T) {
	for _, tc := range []struct {
		name   string
		caps   []string
		claims string
		want   string
	}{
		{"none", nil, "", ""},
		{"cp1", []string{"cp1"}, "", `{"access_token":{"xms_cc":{"values":["cp1"]}}}`},
		{"challenge only", nil, `{"access_token":{"nbf":{"essential":true,"value":"1700000000"}}}`,
			`{"access_token":{"nbf":{"essential":true,"value":"1700000000"}}}`},
		{"merged", []string{"cp1"}, `{"access_token":{"nbf":{"essential":true,"value":"1700000000"}},"id_token":{"acrs":{"values":["c1"]}}}`,
			`{"access_token":{"nbf":{"essential":true,"value":"1700000000"},"xms_cc":{"values":["cp1"]}},"id_token":{"acrs":{"values":["c1"]}}}`},
		{"challenge wins", []string{"cp1"}, `{"access_token":{"xms_cc":{"values":["cp1","x"]}}}`,
			`{"access_token":{"xms_cc":{"values":["cp1","x"]}}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := RequestClaims(tc.caps, tc.claims)
			if err != nil || got != tc.want {
				t.Errorf("RequestClaims(%q, %q) = %q, %v; want %q", tc.caps, tc.claims, got, err, tc.want)
			}
		})
	}
	if _, err := RequestClaims([]string{"cp2"}, ""); err == nil || !strings.Contains(err.Error(), `"cp2"`) || !strings.Contains(err.Error(), "cp1") {
		t.Errorf("RequestClaims(cp2) error = %v; want one naming cp2 and the allowed cp1", err)
	}
	if _, err := RequestClaims(nil, "[1]"); err == nil {
		t.Errorf("RequestClaims(nil, [1]) succeeded; want an error (not an object)")
	}
}

func TestDecodeClaimsChallenge(t *testing.T) {
	j := `{"access_token":{"nbf":{"essential":true,"value":"1700000000"}}}`
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if got, err := DecodeClaimsChallenge(enc.EncodeToString([]byte(j))); err != nil || got != j {
			t.Errorf("DecodeClaimsChallenge(%q) = %q, %v; want %q", enc.EncodeToString([]byte(j)), got, err, j)
		}
	}
	for in, want := range map[string]string{
		"":                                  "empty",
		"!!!":                               "not base64",
		"WzFd":                              "not a JSON object", // [1]
		"bnVsbA==":                          "not a JSON object", // null
		strings.Repeat("A", MaxClaimsB64+4): "at most",
	} {
		if _, err := DecodeClaimsChallenge(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("DecodeClaimsChallenge(%.20q) error = %v; want one saying %q", in, err, want)
		}
	}
}

func FuzzDecodeClaimsChallenge(f *testing.F) {
	f.Add("eyJhY2Nlc3NfdG9rZW4iOnsibmJmIjp7ImVzc2VudGlhbCI6dHJ1ZX19fQ==")
	f.Add("e30")
	f.Add("W10=")
	f.Add("")
	f.Fuzz(func(t *testing.T, in string) {
		got, err := DecodeClaimsChallenge(in)
		if err != nil {
			if strings.Contains(err.Error(), in) && len(in) > 8 {
				t.Fatalf("error %q quotes the input", err)
			}
			return
		}
		var obj map[string]any
		if json.Unmarshal([]byte(got), &obj) != nil || obj == nil || len(got) > MaxClaimsBytes {
			t.Fatalf("DecodeClaimsChallenge(%q) = %q; not a bounded JSON object", in, got)
		}
		if _, err := RequestClaims(Capabilities, got); err != nil {
			t.Fatalf("RequestClaims(cp1, %q) = %v; a decoded challenge must merge", got, err)
		}
	})
}

// TestRefreshClaimsAgainstSim: a profile with cp1 declares it on the
// refresh (the simulator's token carries xms_cc), a narrower resource
// scope set gets a token for that resource, and a challenge's claims
// answered on a refresh satisfy the resource.
func TestRefreshClaimsAgainstSim(t *testing.T) {
	s, base := newSim(t, idpsim.Options{})
	p := msProfile(t, base)
	rt := grant(s, p)
	p.Capabilities = []string{"cp1"}
	c := &Client{}
	tok, err := c.Refresh(t.Context(), p, rt, "")
	if err != nil {
		t.Fatalf("Refresh(cp1) = %v", err)
	}
	info, _ := s.Access(tok.AccessToken)
	if diff := cmp.Diff([]string{"cp1"}, info.Capabilities); diff != "" {
		t.Errorf("xms_cc of the refreshed token (-want +got):\n%s", diff)
	}
	s.Consent(testSubject, "api://reports")
	q := p
	q.Scopes = []string{"offline_access", "openid", "profile", "api://reports/.default"}
	b64 := s.Challenge(testSubject)
	q.Claims, err = DecodeClaimsChallenge(b64)
	if err != nil {
		t.Fatalf("DecodeClaimsChallenge(sim's) = %v", err)
	}
	tok2, err := c.Refresh(t.Context(), q, tok.RefreshToken, "")
	if err != nil {
		t.Fatalf("Refresh(api://reports, claims) = %v", err)
	}
	info, _ = s.Access(tok2.AccessToken)
	if info.Audience != "api://reports" || info.ClaimsNbf == 0 || !slices.Contains(info.Capabilities, "cp1") {
		t.Errorf("token for api://reports with claims = %+v; want aud api://reports, nbf set, cp1 kept", info)
	}
	if !slices.Contains(tok2.Scopes, "api://reports/.default") {
		t.Errorf("scopes = %v; want the requested set echoed", tok2.Scopes)
	}
	q.Capabilities = []string{"bogus"}
	if _, err := c.Refresh(t.Context(), q, tok2.RefreshToken, ""); err == nil || !strings.Contains(err.Error(), "bogus") {
		t.Errorf("Refresh(capability bogus) = %v; want an error naming it", err)
	}
}
