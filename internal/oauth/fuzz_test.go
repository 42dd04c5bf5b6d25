package oauth

import (
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzParseTokenResponse checks that no body, status or header makes the
// token-response parser panic or produce an inconsistent result.
func FuzzParseTokenResponse(f *testing.F) {
	f.Add(200, "application/json", "", []byte(`{"access_token":"a","refresh_token":"r","expires_in":3600}`))
	f.Add(400, "application/json", "", []byte(`{"error":"invalid_grant","error_codes":[700082]}`))
	f.Add(429, "text/plain", "30", []byte(`slow down`))
	f.Add(503, "text/html", "Wed, 21 Oct 2015 07:28:00 GMT", []byte(`<html>AADSTS50173</html>`))
	f.Add(200, "application/json", "", []byte(`{"access_token":"a","refresh_token_expires_in":"86399","refresh_expires_in":0}`))
	f.Add(200, "application/json", "", []byte(`{"access_token":"a","refresh_expires_in":-1e400,"id_token":"e30.eyJhdXRoX3RpbWUiOjE3OTYxMDc5MTZ9."}`))
	f.Add(200, "application/x-www-form-urlencoded", "", []byte(`access_token=a&refresh_token_expires_in=NaN&refresh_expires_in=1800`))
	f.Add(400, "application/json", "", []byte(`{"error":"invalid_grant","error_codes":[70043],"error_description":"AADSTS70043: ... the maximum allowed lifetime for this request is 1.00:00:00."}`))
	f.Fuzz(func(t *testing.T, status int, ct, retryAfter string, body []byte) {
		h := http.Header{}
		h.Set("Content-Type", ct)
		h.Set("Retry-After", retryAfter)
		tr, e := parseTokenResponse(status, h, body, epoch)
		if e == nil {
			if tr.AccessToken == "" || status < 200 || status > 299 {
				t.Fatalf("success with status %d and access token %q", status, tr.AccessToken)
			}
			tok := toToken(tr, Profile{}, epoch, 0, "")
			if !tok.RefreshExpiry.IsZero() && !tok.RefreshExpiry.After(epoch) {
				t.Fatalf("RefreshExpiry %v not after the request %v", tok.RefreshExpiry, epoch)
			}
			if tok.RefreshNoExpiry && !tok.RefreshExpiry.IsZero() {
				t.Fatalf("RefreshNoExpiry with RefreshExpiry %v", tok.RefreshExpiry)
			}
			return
		}
		if d, ok := SignInFrequencyLimit(e); ok != (d > 0) {
			t.Fatalf("SignInFrequencyLimit = %v, %v", d, ok)
		}
		if e.Class < Transient || e.Class > Permanent {
			t.Fatalf("class %d out of range", e.Class)
		}
		if e.RetryAfter < 0 || (e.Class == RetryAfter && e.RetryAfter == 0) {
			t.Fatalf("class %v with RetryAfter %v", e.Class, e.RetryAfter)
		}
		msg := e.Error()
		if !utf8.ValidString(e.UserMessage()) && utf8.Valid(body) {
			t.Fatalf("UserMessage not UTF-8: %q", e.UserMessage())
		}
		if strings.ContainsAny(msg, "\r\n") {
			t.Fatalf("Error() has a line break: %q", msg)
		}
		if len(e.Description) > maxDescription+3 {
			t.Fatalf("description of %d bytes", len(e.Description))
		}
	})
}

// FuzzSignInFrequencyLimit checks that no AADSTS70043 wording makes the
// limit parser panic or report a limit that is not positive.
func FuzzSignInFrequencyLimit(f *testing.F) {
	f.Add("AADSTS70043: The refresh token has expired or is invalid due to sign-in frequency checks by conditional access. The token was issued on 2022-07-30T19:55:21.1057795Z and the maximum allowed lifetime for this request is 1209600.")
	f.Add("the maximum allowed lifetime for this request is 14.00:00:00.")
	f.Add("the maximum allowed lifetime for this request is 9999999999.23:59:59.9999999")
	f.Add("maximum allowed lifetime for this request is {time}.")
	f.Fuzz(func(t *testing.T, desc string) {
		d, ok := SignInFrequencyLimit(&Error{AADSTS: []int{70043}, Description: desc})
		if ok != (d > 0) || d > maxRadarSeconds*time.Second {
			t.Fatalf("SignInFrequencyLimit(%q) = %v, %v", desc, d, ok)
		}
	})
}
