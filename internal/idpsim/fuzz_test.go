package idpsim

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzTokenRequest feeds arbitrary bodies to the token endpoint: it must
// never panic and must answer 200 with tokens or a Microsoft-shaped error.
func FuzzTokenRequest(f *testing.F) {
	f.Add("grant_type=refresh_token&client_id=c&refresh_token=simRT-x", "application/x-www-form-urlencoded")
	f.Add("grant_type=authorization_code&code=simAC-x&code_verifier=abc&redirect_uri=http%3A%2F%2F127.0.0.1", "application/x-www-form-urlencoded")
	f.Add("%zz", "application/x-www-form-urlencoded")
	f.Add("{}", "application/json")
	s := New(Options{})
	live := s.Grant("c", "alice", []string{"openid"})
	f.Fuzz(func(t *testing.T, body, ctype string) {
		body = strings.ReplaceAll(body, "LIVE", live) // let the fuzzer reach the success path
		req := httptest.NewRequest(http.MethodPost, "/common/oauth2/v2.0/token", strings.NewReader(body))
		req.Header.Set("Content-Type", ctype)
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		switch w.Code {
		case http.StatusOK:
			var tr tokenResponse
			if err := json.Unmarshal(w.Body.Bytes(), &tr); err != nil || !strings.HasPrefix(tr.AccessToken, AccessPrefix) {
				t.Fatalf("200 without tokens: %v", err)
			}
		case http.StatusBadRequest, http.StatusUnauthorized:
			var eb errorBody
			if err := json.Unmarshal(w.Body.Bytes(), &eb); err != nil || eb.Error == "" || len(eb.ErrorCodes) != 1 ||
				!descRE.MatchString(eb.ErrorDescription) {
				t.Fatalf("status %d with a body that is not a Microsoft error (%v): %.200s", w.Code, err, w.Body)
			}
		default:
			t.Fatalf("status %d; want 200, 400 or 401", w.Code)
		}
	})
}
