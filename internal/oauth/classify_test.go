package oauth

import (
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var epoch = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

var jsonCT = []string{"Content-Type", "application/json; charset=utf-8"}

func TestParseTokenResponseErrors(t *testing.T) {
	tests := []struct {
		name   string
		status int
		h      http.Header
		body   string
		want   *Error
	}{
		{"invalid_grant with error_codes", 400, hdr(jsonCT...),
			`{"error":"invalid_grant","error_description":"AADSTS700082: The refresh token has expired due to inactivity.","error_codes":[700082],"trace_id":"t1","correlation_id":"c1","suberror":"bad_token"}`,
			&Error{Class: Permanent, Code: "invalid_grant", Description: "AADSTS700082: The refresh token has expired due to inactivity.", SubError: "bad_token", TraceID: "t1", CorrelationID: "c1", AADSTS: []int{700082}, Status: 400}},
		{"aadsts only in description", 400, hdr(jsonCT...),
			`{"error":"invalid_request","error_description":"AADSTS50173: The provided grant has expired due to it being revoked."}`,
			&Error{Class: Permanent, Code: "invalid_request", Description: "AADSTS50173: The provided grant has expired due to it being revoked.", AADSTS: []int{50173}, Status: 400}},
		{"error first: temporarily_unavailable beats a permanent aadsts", 400, hdr(jsonCT...),
			`{"error":"temporarily_unavailable","error_codes":[70043]}`,
			&Error{Class: Transient, Code: "temporarily_unavailable", AADSTS: []int{70043}, Status: 400}},
		{"interaction_required", 400, hdr(jsonCT...), `{"error":"interaction_required","error_codes":[50076]}`,
			&Error{Class: Permanent, Code: "interaction_required", AADSTS: []int{50076}, Status: 400}},
		{"consent_required", 400, nil, `{"error":"consent_required","error_codes":[65001]}`,
			&Error{Class: Permanent, Code: "consent_required", AADSTS: []int{65001}, Status: 400}},
		{"login_required", 400, nil, `{"error":"login_required"}`, &Error{Class: Permanent, Code: "login_required", Status: 400}},
		{"invalid_client", 401, nil, `{"error":"invalid_client"}`, &Error{Class: Permanent, Code: "invalid_client", Status: 401}},
		{"unauthorized_client", 400, nil, `{"error":"unauthorized_client"}`, &Error{Class: Permanent, Code: "unauthorized_client", Status: 400}},
		{"429 seconds", 429, hdr("Retry-After", "120"), `{"error":"temporarily_unavailable"}`,
			&Error{Class: RetryAfter, Code: "temporarily_unavailable", Status: 429, RetryAfter: 2 * time.Minute}},
		{"429 no header defaults", 429, nil, ``, &Error{Class: RetryAfter, Status: 429, RetryAfter: DefaultRetryAfter, Err: errTest("malformed token response")}},
		{"503 http date", 503, hdr("Retry-After", epoch.Add(90*time.Second).Format(http.TimeFormat)), `busy`,
			&Error{Class: RetryAfter, Status: 503, RetryAfter: 90 * time.Second, Err: errTest("unparsable body (4 bytes)")}},
		{"503 without retry-after is transient", 503, nil, ``, &Error{Class: Transient, Status: 503, Err: errTest("malformed token response")}},
		{"500 html page", 500, hdr("Content-Type", "text/html"), `<!DOCTYPE html><html><body>Sorry AADSTS90033 oops</body></html>`,
			&Error{Class: Transient, Status: 500, AADSTS: []int{90033}, Err: errTest("html body (63 bytes)")}},
		{"400 html page naming a permanent code", 400, hdr("Content-Type", "text/html"), `<html>AADSTS700082 expired</html>`,
			&Error{Class: Permanent, Status: 400, AADSTS: []int{700082}, Err: errTest("html body (33 bytes)")}},
		{"408", 408, hdr("Content-Type", "text/plain"), `timeout`, &Error{Class: Transient, Status: 408, Err: errTest("plain-text body (7 bytes)")}},
		{"200 malformed json", 200, hdr(jsonCT...), `{"access_token":`, &Error{Class: Transient, Status: 200, Err: errTest("malformed token response: invalid json body (16 bytes)")}},
		{"200 without access token", 200, hdr(jsonCT...), `{"token_type":"Bearer"}`, &Error{Class: Transient, Status: 200, Err: errTest("token response has no access_token")}},
		{"200 carrying an error", 200, hdr(jsonCT...), `{"error":"invalid_grant"}`, &Error{Class: Permanent, Code: "invalid_grant", Status: 200}},
		{"one field of the wrong type", 400, hdr(jsonCT...), `{"error":"invalid_grant","error_codes":"700082","expires_in":{}}`,
			&Error{Class: Permanent, Code: "invalid_grant", Status: 400}},
		{"json without error field", 400, hdr(jsonCT...), `{}`, &Error{Class: Transient, Status: 400}},
		{"request ids from headers", 400, hdr("X-Ms-Request-Id", "rid", "Client-Request-Id", "cid"), `{"error":"invalid_grant"}`,
			&Error{Class: Permanent, Code: "invalid_grant", Status: 400, TraceID: "rid", CorrelationID: "cid"}},
		{"token in description stripped", 400, nil, `{"error":"invalid_grant","error_description":"bad refresh_token=0.AXoAsecretsecret&x=1 and eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc"}`,
			&Error{Class: Permanent, Code: "invalid_grant", Description: "bad refresh_token=[redacted]&x=1 and [redacted]", Status: 400}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.h
			if h == nil {
				h = http.Header{}
			}
			_, got := parseTokenResponse(tt.status, h, []byte(tt.body), epoch)
			if diff := cmp.Diff(tt.want, got, errCmp); diff != "" {
				t.Errorf("parseTokenResponse(%d, %q) mismatch (-want +got):\n%s", tt.status, tt.body, diff)
			}
		})
	}
}

// errTest is an error compared by message only.
type errTest string

func (e errTest) Error() string { return string(e) }

var errCmp = cmp.Options{
	cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Err" }, cmp.Comparer(func(a, b error) bool {
		if a == nil || b == nil {
			return a == nil && b == nil
		}
		return a.Error() == b.Error()
	})),
	cmpopts.EquateEmpty(),
}

func TestParseTokenResponseSuccess(t *testing.T) {
	tests := []struct {
		name string
		h    http.Header
		body string
		want tokenResponse
	}{
		{"json", hdr(jsonCT...), `{"access_token":"at","token_type":"Bearer","refresh_token":"rt","expires_in":3599,"scope":"a b","id_token":"x.y.z"}`,
			tokenResponse{AccessToken: "at", TokenType: "Bearer", RefreshToken: "rt", ExpiresIn: 3599, Scope: "a b", IDToken: "x.y.z"}},
		{"expires_in as string", hdr(jsonCT...), `{"access_token":"at","expires_in":"3600"}`, tokenResponse{AccessToken: "at", ExpiresIn: 3600}},
		{"form encoded", hdr("Content-Type", "application/x-www-form-urlencoded"), `access_token=at&token_type=bearer&expires_in=60`,
			tokenResponse{AccessToken: "at", TokenType: "bearer", ExpiresIn: 60}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, e := parseTokenResponse(200, tt.h, []byte(tt.body), epoch)
			if e != nil {
				t.Fatalf("parseTokenResponse(200, %q) error %v", tt.body, e)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("parseTokenResponse(200, %q) mismatch (-want +got):\n%s", tt.body, diff)
			}
		})
	}
}

func TestUserMessage(t *testing.T) {
	tests := []struct {
		e    *Error
		want string
	}{
		{&Error{Class: Permanent, Code: "invalid_grant", AADSTS: []int{700082}},
			"sign in again: the provider ended this sign-in (AADSTS700082: refresh token expired after 90 days of inactivity)"},
		{&Error{Class: Permanent, Code: "interaction_required", AADSTS: []int{50076}},
			"sign in again: the provider needs you to sign in interactively (AADSTS50076)"},
		{&Error{Class: Permanent, AADSTS: []int{50173}},
			"sign in again: the provider ended this sign-in (AADSTS50173: the grant was revoked, for example after a password change)"},
		{&Error{Class: RetryAfter, Status: 429, RetryAfter: 2 * time.Minute}, "throttled: retrying after 2m"},
		{&Error{Class: RetryAfter, Status: 503, RetryAfter: 90 * time.Second}, "throttled: retrying after 1m30s"},
		{&Error{Class: Transient, Status: 503}, "temporary provider problem, will retry: http 503 Service Unavailable"},
		{&Error{Class: Transient, Err: errTest("request timed out")}, "cannot reach the provider, will retry: request timed out"},
		{&Error{Class: Transient, Code: "temporarily_unavailable", Status: 400, AADSTS: []int{90033}},
			"temporary provider problem, will retry: the provider is temporarily unavailable (AADSTS90033)"},
		{&Error{Class: Transient, Status: 500, Err: errTest("html body (10 bytes)")}, "temporary provider problem, will retry: http 500 Internal Server Error: html body (10 bytes)"},
		{&Error{Class: Transient, Code: "invalid_request", Status: 400, AADSTS: []int{9002327}},
			"the provider rejected the request, will retry (check the account settings if this persists): the provider answered invalid_request (AADSTS9002327: the app is registered as a single-page app: add an Origin header to the account)"},
	}
	for _, tt := range tests {
		if got := tt.e.UserMessage(); got != tt.want {
			t.Errorf("%#v.UserMessage() = %q; want %q", tt.e, got, tt.want)
		}
	}
}

func TestErrorString(t *testing.T) {
	e := &Error{Class: RetryAfter, Code: "temporarily_unavailable", Description: "AADSTS1: busy\nline two", Status: 429, RetryAfter: time.Minute}
	want := "oauth retry-after error (http 429): temporarily_unavailable: AADSTS1: busy (retry after 1m0s)"
	if got := e.Error(); got != want {
		t.Errorf("Error() = %q; want %q", got, want)
	}
}

func TestSanitize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"AADSTS70008: The provided authorization code or refresh token has expired. Trace ID: 0d1e2f3a-aaaa-bbbb-cccc-000000000000", "AADSTS70008: The provided authorization code or refresh token has expired. Trace ID: 0d1e2f3a-aaaa-bbbb-cccc-000000000000"},
		{`code=abc123&state=x`, "code=[redacted]&state=x"},
		{`{"access_token": "xyz"}`, `{"access_token": "[redacted]"}`},
		{"token " + strings.Repeat("A", 50), "token [redacted]"},
		{"secret SECRETVALUE here", "secret [redacted] here"},
	}
	for _, tt := range tests {
		if got := sanitize(tt.in, "SECRETVALUE"); got != tt.want {
			t.Errorf("sanitize(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	far := time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		in          string
		want, asked time.Duration
	}{
		{"", 0, 0}, {"0", 0, 0}, {"-5", 0, 0}, {"30", 30 * time.Second, 0}, {" 7 ", 7 * time.Second, 0},
		{epoch.Add(time.Hour).Format(http.TimeFormat), time.Hour, 0},
		{epoch.Add(-time.Hour).Format(http.TimeFormat), 0, 0},
		{"soon", 0, 0}, {"604800", MaxRetryAfter, 0}, {"604801", MaxRetryAfter, MaxRetryAfter + time.Second},
		{"9000000000", MaxRetryAfter, 9000000000 * time.Second},
		{"99999999999", MaxRetryAfter, math.MaxInt64},
		{far.Format(http.TimeFormat), MaxRetryAfter, far.Sub(epoch)},
	}
	for _, tt := range tests {
		if got, asked := parseRetryAfter(tt.in, epoch); got != tt.want || asked != tt.asked {
			t.Errorf("parseRetryAfter(%q) = %v, %v; want %v, %v", tt.in, got, asked, tt.want, tt.asked)
		}
	}
}

func TestClassOf(t *testing.T) {
	wrapped := &Error{Class: Permanent}
	tests := []struct {
		err  error
		want Class
	}{
		{nil, Transient},
		{errTest("x"), Transient},
		{wrapped, Permanent},
		{&wrapErr{wrapped}, Permanent},
	}
	for _, tt := range tests {
		if got := ClassOf(tt.err); got != tt.want {
			t.Errorf("ClassOf(%v) = %v; want %v", tt.err, got, tt.want)
		}
	}
}

type wrapErr struct{ err error }

func (w *wrapErr) Error() string { return "wrapped: " + w.err.Error() }
func (w *wrapErr) Unwrap() error { return w.err }

func TestParseClaims(t *testing.T) {
	// {"name":"Ada","preferred_username":"ada@x","tid":"t","sub":"s"}, alg none.
	id := "eyJhbGciOiJub25lIn0.eyJuYW1lIjoiQWRhIiwicHJlZmVycmVkX3VzZXJuYW1lIjoiYWRhQHgiLCJ0aWQiOiJ0Iiwic3ViIjoicyJ9."
	want := Claims{Name: "Ada", PreferredUsername: "ada@x", TenantID: "t", Subject: "s"}
	if diff := cmp.Diff(want, parseClaims(id)); diff != "" {
		t.Errorf("parseClaims mismatch (-want +got):\n%s", diff)
	}
	for _, bad := range []string{"", "abc", "a.!!!.c", "a.bm90IGpzb24.c"} {
		if got := parseClaims(bad); got != (Claims{}) {
			t.Errorf("parseClaims(%q) = %+v; want zero", bad, got)
		}
	}
}

// TestInvalidScopeIsAConfigurationError: invalid_scope never heals by
// retrying the same scopes: it is permanent, and its message says to fix
// the account's scopes in the settings.
func TestInvalidScopeIsAConfigurationError(t *testing.T) {
	_, err := parseTokenResponse(400, hdr(jsonCT...), []byte(`{"error":"invalid_scope","error_description":"AADSTS70011: The provided value for the input parameter 'scope' is not valid.","error_codes":[70011]}`), epoch)
	if err == nil || err.Class != Permanent {
		t.Fatalf("class of invalid_scope = %v; want permanent", err)
	}
	if m := err.UserMessage(); !strings.Contains(m, "fix the account's scopes in the settings") || !strings.Contains(m, "AADSTS70011") {
		t.Errorf("UserMessage() = %q; want it to say to fix the account's scopes in the settings, naming AADSTS70011", m)
	}
}

// TestGrantEnded: only answers that prove the grant ended say so; consent,
// Conditional Access and scope answers are about one request's resource.
func TestGrantEnded(t *testing.T) {
	for _, tt := range []struct {
		body string
		want bool
	}{
		{`{"error":"invalid_grant","error_codes":[70008]}`, true},
		{`{"error":"invalid_grant","error_codes":[700082]}`, true},
		{`{"error":"invalid_grant","error_codes":[50173]}`, true},
		{`{"error":"invalid_grant","error_codes":[70000]}`, true},
		{`{"error":"invalid_grant","error_codes":[70043]}`, true},
		{`{"error":"interaction_required","error_codes":[70044]}`, true},
		{`{"error":"invalid_grant","error_codes":[700084]}`, true},
		{`{"error":"invalid_grant","error_codes":[50133]}`, true},
		{`{"error":"invalid_grant"}`, true}, // another provider: nothing more to go by
		{`{"error":"invalid_grant","error_codes":[65001],"suberror":"consent_required"}`, false},
		{`{"error":"invalid_grant","error_codes":[50076],"suberror":"basic_action"}`, false},
		{`{"error":"interaction_required","error_codes":[50076]}`, false},
		{`{"error":"interaction_required","error_codes":[50079]}`, false},
		{`{"error":"invalid_grant","error_codes":[53003]}`, false},
		{`{"error":"interaction_required","error_codes":[50158]}`, false},
		{`{"error":"invalid_grant","error_codes":[50097],"suberror":"device_authentication_failed"}`, false},
		{`{"error":"interaction_required"}`, false},
		{`{"error":"consent_required","error_codes":[65001]}`, false},
		{`{"error":"invalid_scope","error_codes":[70011]}`, false},
		{`{"error":"invalid_resource","error_codes":[500011]}`, false},
		{`{"error":"temporarily_unavailable"}`, false},
		{`{"error":"temporarily_unavailable","error_codes":[70043]}`, false}, // the error field first: transient
	} {
		_, err := parseTokenResponse(400, hdr(jsonCT...), []byte(tt.body), epoch)
		if got := GrantEnded(err); got != tt.want {
			t.Errorf("GrantEnded(%s) = %t; want %t", tt.body, got, tt.want)
		}
	}
	if GrantEnded(errTest("network down")) || GrantEnded(nil) {
		t.Errorf("GrantEnded of a non-OAuth error = true; want false")
	}
}

// TestResourceAdvice: a refusal of one resource's token says what to do,
// naming the AADSTS code when there is one.
func TestResourceAdvice(t *testing.T) {
	for body, want := range map[string]string{
		`{"error":"interaction_required","error_codes":[50076]}`:    "AADSTS50076: the administrator's Conditional Access policy requires multi-factor authentication",
		`{"error":"invalid_grant","error_codes":[53003]}`:           "AADSTS53003: the administrator's Conditional Access policy blocks",
		`{"error":"invalid_grant","error_codes":[50097]}`:           "AADSTS50097: the administrator's Conditional Access policy requires device authentication",
		`{"error":"invalid_grant","error_codes":[65001]}`:           "AADSTS65001: consent to this resource is missing",
		`{"error":"interaction_required"}`:                          "sign in once with this scope",
		`{"error":"invalid_resource","error_codes":[500011]}`:       "AADSTS500011: the resource is not known",
		`{"error":"temporarily_unavailable","error_codes":[90033]}`: "",
	} {
		_, err := parseTokenResponse(400, hdr(jsonCT...), []byte(body), epoch)
		got := ResourceAdvice(err)
		if want == "" && got != "" || !strings.Contains(got, want) {
			t.Errorf("ResourceAdvice(%s) = %q; want %q", body, got, want)
		}
	}
}
