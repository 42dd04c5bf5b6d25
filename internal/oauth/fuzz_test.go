package oauth

import (
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParseTokenResponse checks that no body, status or header makes the
// token-response parser panic or produce an inconsistent result.
func FuzzParseTokenResponse(f *testing.F) {
	f.Add(200, "application/json", "", []byte(`{"access_token":"a","refresh_token":"r","expires_in":3600}`))
	f.Add(400, "application/json", "", []byte(`{"error":"invalid_grant","error_codes":[700082]}`))
	f.Add(429, "text/plain", "30", []byte(`slow down`))
	f.Add(503, "text/html", "Wed, 21 Oct 2015 07:28:00 GMT", []byte(`<html>AADSTS50173</html>`))
	f.Fuzz(func(t *testing.T, status int, ct, retryAfter string, body []byte) {
		h := http.Header{}
		h.Set("Content-Type", ct)
		h.Set("Retry-After", retryAfter)
		tr, e := parseTokenResponse(status, h, body, epoch)
		if e == nil {
			if tr.AccessToken == "" || status < 200 || status > 299 {
				t.Fatalf("success with status %d and access token %q", status, tr.AccessToken)
			}
			return
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
