package idpsim

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

const testClient = "11111111-2222-3333-4444-555555555555"

// steppedClock is a settable clock for tests over real HTTP.
type steppedClock struct {
	mu  sync.Mutex
	now time.Time
}

func newSteppedClock() *steppedClock {
	return &steppedClock{now: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
}

func (c *steppedClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *steppedClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// startHTTP serves a new simulator on a loopback socket for the test.
func startHTTP(t testing.TB, o Options) (*Server, *httptest.Server) {
	t.Helper()
	s := New(o)
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	return s, hs
}

// reply is a decoded response.
type reply struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r reply) token(t testing.TB) tokenResponse {
	t.Helper()
	if r.Status != http.StatusOK {
		t.Fatalf("status = %d, body %s; want 200", r.Status, r.Body)
	}
	var tr tokenResponse
	if err := json.Unmarshal(r.Body, &tr); err != nil {
		t.Fatalf("decode token response: %v", err)
	}
	return tr
}

func (r reply) errBody(t testing.TB) errorBody {
	t.Helper()
	var eb errorBody
	if err := json.Unmarshal(r.Body, &eb); err != nil {
		t.Fatalf("decode error body (status %d): %v; body %.200s", r.Status, err, r.Body)
	}
	return eb
}

// errorOf is the comparable part of an error response.
type errorOf struct {
	Status   int
	Error    string
	Code     int
	SubError string
}

func (r reply) errorOf(t testing.TB) errorOf {
	t.Helper()
	eb := r.errBody(t)
	code := 0
	if len(eb.ErrorCodes) > 0 {
		code = eb.ErrorCodes[0]
	}
	return errorOf{r.Status, eb.Error, code, eb.SubError}
}

func post(t testing.TB, hc *http.Client, u string, form url.Values) reply {
	t.Helper()
	resp, err := hc.PostForm(u, form)
	if err != nil {
		t.Fatalf("POST %s: %v", u, err)
	}
	return readReply(t, resp)
}

func get(t testing.TB, hc *http.Client, u string) reply {
	t.Helper()
	resp, err := hc.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	return readReply(t, resp)
}

func readReply(t testing.TB, resp *http.Response) reply {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return reply{resp.StatusCode, resp.Header, b}
}

func refreshForm(rt string) url.Values {
	return url.Values{"grant_type": {"refresh_token"}, "client_id": {testClient}, "refresh_token": {rt}}
}

// noRedirect is an HTTP client that shows redirects instead of following them.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// pkce returns a verifier and its S256 challenge.
func pkce(seed string) (verifier, challenge string) {
	verifier = strings.Repeat(seed, 64)[:64]
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

// authorizeQuery is a valid authorization request.
func authorizeQuery(challenge string) url.Values {
	return url.Values{
		"client_id":             {testClient},
		"response_type":         {"code"},
		"redirect_uri":          {"http://127.0.0.1:8400/callback"},
		"scope":                 {"offline_access openid profile User.Read"},
		"state":                 {"st-123"},
		"nonce":                 {"n-1"},
		"code_challenge":        {challenge},
		"code_challenge_method": {"S256"},
		"login_hint":            {"alice@contoso.test"},
	}
}

// login runs authorize and returns the code from the redirect.
func login(t testing.TB, base string, q url.Values) string {
	t.Helper()
	r := get(t, noRedirect, base+"/common/oauth2/v2.0/authorize?"+q.Encode())
	if r.Status != http.StatusFound {
		t.Fatalf("authorize status = %d, body %s; want 302", r.Status, r.Body)
	}
	loc, err := url.Parse(r.Header.Get("Location"))
	if err != nil {
		t.Fatalf("parse Location: %v", err)
	}
	code := loc.Query().Get("code")
	if code == "" {
		t.Fatalf("authorize redirect has no code: error %q", loc.Query().Get("error"))
	}
	return code
}

// decodeJWT returns the header and claims of a compact JWT.
func decodeJWT(t testing.TB, tok string) (hdr map[string]string, claims IDClaims) {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("id_token has %d parts; want 3", len(parts))
	}
	for i, v := range []any{&hdr, &claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatalf("decode id_token part %d: %v", i, err)
		}
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("unmarshal id_token part %d: %v", i, err)
		}
	}
	return hdr, claims
}
