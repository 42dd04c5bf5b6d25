package oauth

import (
	"encoding/base64"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokentray/tokentray/internal/idpsim"
)

// idTokenWith is an unsigned id_token whose payload is payload.
func idTokenWith(payload string) string {
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(`{"alg":"none"}`)) + "." + enc.EncodeToString([]byte(payload)) + "."
}

func TestRadarFieldsOfTokenResponse(t *testing.T) {
	sent := epoch
	tests := []struct {
		name     string
		ct, body string
		exp      time.Time
		source   string
		noExpiry bool
	}{
		{"entra number", "application/json", `{"access_token":"a","refresh_token_expires_in":86399}`, sent.Add(86399 * time.Second), RefreshTokenExpiresIn, false},
		{"entra string", "application/json", `{"access_token":"a","refresh_token_expires_in":"3600"}`, sent.Add(time.Hour), RefreshTokenExpiresIn, false},
		{"keycloak", "application/json", `{"access_token":"a","refresh_expires_in":1800}`, sent.Add(30 * time.Minute), RefreshExpiresIn, false},
		{"keycloak offline token", "application/json", `{"access_token":"a","refresh_expires_in":0}`, time.Time{}, RefreshExpiresIn, true},
		{"both: entra wins", "application/json", `{"access_token":"a","refresh_token_expires_in":60,"refresh_expires_in":120}`, sent.Add(time.Minute), RefreshTokenExpiresIn, false},
		{"form encoded", "application/x-www-form-urlencoded", `access_token=a&refresh_expires_in=90`, sent.Add(90 * time.Second), RefreshExpiresIn, false},
		{"absent", "application/json", `{"access_token":"a","expires_in":3600}`, time.Time{}, "", false},
		{"negative ignored", "application/json", `{"access_token":"a","refresh_token_expires_in":-5}`, time.Time{}, "", false},
		{"garbage ignored", "application/json", `{"access_token":"a","refresh_token_expires_in":"soon"}`, time.Time{}, "", false},
		{"object ignored", "application/json", `{"access_token":"a","refresh_expires_in":{"s":1}}`, time.Time{}, "", false},
		{"NaN ignored", "application/x-www-form-urlencoded", `access_token=a&refresh_token_expires_in=NaN`, time.Time{}, "", false},
		{"huge ignored", "application/json", `{"access_token":"a","refresh_token_expires_in":1e300}`, time.Time{}, "", false},
		{"bad keycloak value keeps entra", "application/json", `{"access_token":"a","refresh_token_expires_in":10,"refresh_expires_in":"x"}`, sent.Add(10 * time.Second), RefreshTokenExpiresIn, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, e := parseTokenResponse(200, hdr("Content-Type", tt.ct), []byte(tt.body), epoch)
			if e != nil {
				t.Fatalf("parseTokenResponse(%q) error %v", tt.body, e)
			}
			tok := toToken(tr, Profile{}, sent, 0, "")
			if !tok.RefreshExpiry.Equal(tt.exp) || tok.RefreshExpirySource != tt.source || tok.RefreshNoExpiry != tt.noExpiry {
				t.Errorf("toToken(%s) = expiry %v source %q noExpiry %v; want %v %q %v", tt.body,
					tok.RefreshExpiry, tok.RefreshExpirySource, tok.RefreshNoExpiry, tt.exp, tt.source, tt.noExpiry)
			}
		})
	}
}

func TestAuthTime(t *testing.T) {
	tests := []struct {
		name, idToken string
		want          time.Time
	}{
		{"number", idTokenWith(`{"sub":"s","auth_time":1796107916}`), time.Unix(1796107916, 0).UTC()},
		{"string", idTokenWith(`{"auth_time":"1796107916"}`), time.Unix(1796107916, 0).UTC()},
		{"absent", idTokenWith(`{"sub":"s","iat":1796107916}`), time.Time{}},
		{"zero", idTokenWith(`{"auth_time":0}`), time.Time{}},
		{"negative", idTokenWith(`{"auth_time":-1}`), time.Time{}},
		{"past year 9999", idTokenWith(`{"auth_time":253402300800}`), time.Time{}},
		{"wrong type", idTokenWith(`{"auth_time":true}`), time.Time{}},
		{"not json", idTokenWith(`auth_time`), time.Time{}},
		{"not a jwt", "auth_time", time.Time{}},
		{"empty", "", time.Time{}},
	}
	for _, tt := range tests {
		if got := authTime(tt.idToken); !got.Equal(tt.want) {
			t.Errorf("authTime(%s) = %v; want %v", tt.name, got, tt.want)
		}
	}
}

func TestSignInFrequencyLimit(t *testing.T) {
	const real70043 = "AADSTS70043: The refresh token has expired or is invalid due to sign-in frequency checks by conditional access. The token was issued on 2022-07-30T19:55:21.1057795Z and the maximum allowed lifetime for this request is 1209600. Trace ID: edd8cefa-bc52-4bdf-8aaa-ca1b30864300 Correlation ID: 8a6818d1-764e-4767-9fcc-b2072bab4697 Timestamp: 2022-08-15 09:33:09Z"
	tests := []struct {
		name   string
		aadsts []int
		desc   string
		want   time.Duration
		ok     bool
	}{
		{"70043 seconds", []int{70043}, real70043, 14 * 24 * time.Hour, true},
		{"70043 with CRLF as Entra sends", []int{70043}, strings.ReplaceAll(real70043, ". Trace", ".\r\nTrace"), 14 * 24 * time.Hour, true},
		{"70044 session", []int{70044}, "AADSTS70044: The session has expired or is invalid due to sign-in frequency checks by conditional access. The token was issued on 2026-01-01T00:00:00Z and the maximum allowed lifetime for this request is 86400.", 24 * time.Hour, true},
		{"time span", []int{70043}, "... the maximum allowed lifetime for this request is 1.00:00:00.", 24 * time.Hour, true},
		{"hours time span", []int{70043}, "... the Maximum Allowed Lifetime for this request is 08:00:00", 8 * time.Hour, true},
		{"no limit in the wording", []int{70043}, "AADSTS70043: The refresh token has expired or is invalid due to sign-in frequency checks by conditional access.", 0, false},
		{"placeholder", []int{70043}, "The token was issued on {issueDate} and the maximum allowed lifetime for this request is {time}.", 0, false},
		{"zero", []int{70043}, "maximum allowed lifetime for this request is 0.", 0, false},
		{"fraction", []int{70043}, "maximum allowed lifetime for this request is 12.5 seconds", 0, false},
		{"bad time span", []int{70043}, "maximum allowed lifetime for this request is 1.25:99:00", 0, false},
		{"overflow", []int{70043}, "maximum allowed lifetime for this request is 99999999999999999999", 0, false},
		{"other code", []int{700082}, "maximum allowed lifetime for this request is 3600.", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := SignInFrequencyLimit(&Error{AADSTS: tt.aadsts, Description: sanitize(tt.desc)})
			if got != tt.want || ok != tt.ok {
				t.Errorf("SignInFrequencyLimit(%q) = %v, %v; want %v, %v", tt.desc, got, ok, tt.want, tt.ok)
			}
		})
	}
	if _, ok := SignInFrequencyLimit(nil); ok {
		t.Error("SignInFrequencyLimit(nil) reported a limit")
	}
}

// TestRadarAgainstSim: the simulator's SPA client answers with
// refresh_token_expires_in counting down the fixed 24 h, and its sign-in
// frequency policy with AADSTS70043 whose limit SignInFrequencyLimit reads;
// the id_token's auth_time is the sign-in.
func TestRadarAgainstSim(t *testing.T) {
	t.Run("spa", func(t *testing.T) {
		s, base := newSim(t, idpsim.Options{SPAClients: []string{testClient}})
		p := msProfile(t, base)
		p.Headers = map[string]string{"Origin": "http://localhost:3000"}
		p.Scopes = []string{"openid", "offline_access", "User.Read"}
		signIn := time.Now().Truncate(time.Second)
		rt := grant(s, p)
		tok, err := (&Client{}).Refresh(t.Context(), p, rt, "")
		if err != nil {
			t.Fatal(err)
		}
		if tok.RefreshExpirySource != RefreshTokenExpiresIn || tok.RefreshExpiry.Before(signIn.Add(24*time.Hour-2*time.Second)) || tok.RefreshExpiry.After(signIn.Add(24*time.Hour+2*time.Second)) {
			t.Errorf("SPA refresh: RefreshExpiry %v from %q; want about %v from refresh_token_expires_in", tok.RefreshExpiry, tok.RefreshExpirySource, signIn.Add(24*time.Hour))
		}
		if d := tok.AuthTime.Sub(signIn); d < -time.Second || d > time.Second {
			t.Errorf("AuthTime = %v; want the sign-in %v", tok.AuthTime, signIn)
		}
	})
	t.Run("sign-in frequency", func(t *testing.T) {
		var off atomic.Int64
		s, base := newSim(t, idpsim.Options{SignInFrequency: 8 * time.Hour, Clock: func() time.Time { return time.Now().Add(time.Duration(off.Load())) }})
		p := msProfile(t, base)
		rt := grant(s, p)
		off.Store(int64(9 * time.Hour))
		_, err := (&Client{}).Refresh(t.Context(), p, rt, "")
		var oe *Error
		if !errors.As(err, &oe) || ClassOf(err) != Permanent {
			t.Fatalf("refresh past the sign-in frequency: %v; want a permanent *Error", err)
		}
		if got, ok := SignInFrequencyLimit(oe); !ok || got != 8*time.Hour {
			t.Errorf("SignInFrequencyLimit(%q) = %v, %v; want 8h, true", oe.Description, got, ok)
		}
		if !strings.Contains(oe.UserMessage(), "AADSTS70043") {
			t.Errorf("UserMessage() = %q; want it to name AADSTS70043", oe.UserMessage())
		}
	})
}
