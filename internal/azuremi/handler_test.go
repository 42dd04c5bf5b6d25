package azuremi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// endpoint serves a Handler on a loopback port of its own; calls counts
// the requests that reached the token function.
type endpoint struct {
	h     *Handler
	url   string
	addr  string
	calls atomic.Int32
	peer  atomic.Int64 // PeerPID seen by the last token call
}

func startEndpoint(t *testing.T, secret string, token TokenFunc) *endpoint {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ep := &endpoint{addr: ln.Addr().String()}
	h, err := NewHandler(netip.MustParseAddrPort(ep.addr), secret, func(ctx context.Context, resource string) (Token, error) {
		ep.calls.Add(1)
		ep.peer.Store(int64(PeerPID(ctx)))
		return token(ctx, resource)
	})
	if err != nil {
		t.Fatal(err)
	}
	ep.h, ep.url = h, h.URL()
	srv := &http.Server{Handler: h, ConnContext: ConnContext}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ep
}

const testSecret = "0123456789abcdefghijklmnopqrstuvwxyzABCDEF"

func fixedToken(ctx context.Context, resource string) (Token, error) {
	return Token{AccessToken: "at-for-" + resource, Expiry: time.Unix(2000000000, 0)}, nil
}

// do sends one request and returns the status, the decoded JSON body and
// the headers.
func do(t *testing.T, req *http.Request) (int, map[string]any, http.Header) {
	t.Helper()
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if len(b) > 0 && req.Method != http.MethodHead {
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s %s: body %q is not JSON: %v", req.Method, req.URL, b, err)
		}
	}
	return resp.StatusCode, m, resp.Header
}

// TestEndpointServesTheSDKRequest: the request MSAL sends gets the token
// of the resource it names, with expires_on in epoch seconds as a string;
// on Linux the access log can name the sending process (here the test
// itself) from the TCP peer's socket.
func TestEndpointServesTheSDKRequest(t *testing.T) {
	ep := startEndpoint(t, testSecret, fixedToken)
	req, _ := http.NewRequest(http.MethodGet, ep.url+"?api-version=2019-08-01&resource=https%3A%2F%2Fvault.azure.net", nil)
	req.Header.Set(HeaderName, testSecret)
	status, body, hdr := do(t, req)
	if status != http.StatusOK {
		t.Fatalf("GET = %d %v; want 200", status, body)
	}
	want := map[string]any{"access_token": "at-for-https://vault.azure.net", "expires_on": "2000000000", "resource": "https://vault.azure.net", "token_type": "Bearer"}
	for k, v := range want {
		if body[k] != v {
			t.Errorf("answer %s = %#v; want %#v", k, body[k], v)
		}
	}
	if len(body) != len(want) {
		t.Errorf("answer has %d fields (%v); want %d", len(body), body, len(want))
	}
	if hdr.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control = %q; want no-store", hdr.Get("Cache-Control"))
	}
	wantPID := int64(0)
	if runtime.GOOS == "linux" {
		wantPID = int64(os.Getpid())
	}
	if got := ep.peer.Load(); got != wantPID {
		t.Errorf("PeerPID = %d; want %d (this process sent the request)", got, wantPID)
	}
	// A second request on the kept-alive connection shares its lookup.
	ep.peer.Store(-1)
	req, _ = http.NewRequest(http.MethodGet, ep.url+"?api-version=2019-08-01&resource=api%3A%2F%2Fsecond", nil)
	req.Header.Set(HeaderName, testSecret)
	if status, body, _ := do(t, req); status != http.StatusOK || body["access_token"] != "at-for-api://second" {
		t.Fatalf("second GET = %d %v; want 200 with the token of api://second", status, body)
	}
	if got := ep.peer.Load(); got != wantPID {
		t.Errorf("PeerPID on the kept-alive connection = %d; want %d", got, wantPID)
	}
}

// TestEndpointRefuses: what is not an SDK's request with this endpoint's
// secret never reaches the token function, gets a status and a code that
// say why, and no answer carries a CORS header.
func TestEndpointRefuses(t *testing.T) {
	ep := startEndpoint(t, testSecret, fixedToken)
	good := ep.url + "?api-version=2019-08-01&resource=https%3A%2F%2Fmanagement.azure.com"
	port := ep.addr[strings.LastIndexByte(ep.addr, ':')+1:]
	cases := []struct {
		name   string
		method string
		url    string
		edit   func(*http.Request)
		status int
		code   string
	}{
		{"no secret header", "GET", good, func(r *http.Request) { r.Header.Del(HeaderName) }, 401, CodeNoSecret},
		{"empty secret header", "GET", good, func(r *http.Request) { r.Header.Set(HeaderName, "") }, 401, CodeBadSecret},
		{"wrong secret", "GET", good, func(r *http.Request) { r.Header.Set(HeaderName, testSecret[:len(testSecret)-1]+"X") }, 401, CodeBadSecret},
		{"secret with a suffix", "GET", good, func(r *http.Request) { r.Header.Set(HeaderName, testSecret+"x") }, 401, CodeBadSecret},
		{"wrong then right secret", "GET", good, func(r *http.Request) { r.Header.Set(HeaderName, "nope"); r.Header.Add(HeaderName, testSecret) }, 401, CodeBadSecret},
		{"browser origin", "GET", good, func(r *http.Request) { r.Header.Set("Origin", "https://evil.example") }, 403, CodeBrowser},
		{"null origin", "GET", good, func(r *http.Request) { r.Header.Set("Origin", "null") }, 403, CodeBrowser},
		{"rebound host name", "GET", good, func(r *http.Request) { r.Host = "evil.example:" + port }, 403, CodeHost},
		{"localhost host name", "GET", good, func(r *http.Request) { r.Host = "localhost:" + port }, 403, CodeHost},
		{"host without port", "GET", good, func(r *http.Request) { r.Host = "127.0.0.1" }, 403, CodeHost},
		{"POST", "POST", good, nil, 405, CodeMethod},
		{"OPTIONS preflight", "OPTIONS", good, func(r *http.Request) { r.Header.Set("Access-Control-Request-Method", "GET") }, 405, CodeMethod},
		{"PUT", "PUT", good, nil, 405, CodeMethod},
		{"another path", "GET", strings.Replace(good, Path, "/metadata/identity/oauth2/token", 1), nil, 404, CodeNotFound},
		{"other api-version", "GET", strings.Replace(good, APIVersion, "2017-09-01", 1), nil, 400, CodeAPIVersion},
		{"user-assigned identity", "GET", good + "&client_id=00000000-0000-0000-0000-000000000000", nil, 400, CodeRequest},
		{"no resource", "GET", ep.url + "?api-version=2019-08-01", nil, 400, CodeRequest},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := ep.calls.Load()
			req, _ := http.NewRequest(c.method, c.url, nil)
			req.Header.Set(HeaderName, testSecret)
			if c.edit != nil {
				c.edit(req)
			}
			status, body, hdr := do(t, req)
			if status != c.status || body["error"] != c.code {
				t.Errorf("%s = %d %v; want %d with error %q", c.name, status, body, c.status, c.code)
			}
			if _, ok := body["access_token"]; ok {
				t.Errorf("%s: the answer carries an access token", c.name)
			}
			if n := ep.calls.Load() - before; n != 0 {
				t.Errorf("%s reached the token function (%d calls); want none", c.name, n)
			}
			for k := range hdr {
				if strings.HasPrefix(strings.ToLower(k), "access-control-") {
					t.Errorf("%s: answer has CORS header %s", c.name, k)
				}
			}
			if msg, _ := body["message"].(string); msg == "" || body["statusCode"] != float64(c.status) {
				t.Errorf("%s: answer %v; want statusCode %d and a message", c.name, body, c.status)
			}
		})
	}
}

// TestEndpointPassesTheProviderError: a failure of the token function
// comes back with its status and a message naming the provider's code;
// any other error is a 500 that says what failed.
func TestEndpointPassesTheProviderError(t *testing.T) {
	var fail error
	ep := startEndpoint(t, testSecret, func(context.Context, string) (Token, error) { return Token{}, fail })
	get := func() (int, map[string]any) {
		req, _ := http.NewRequest(http.MethodGet, ep.url+"?api-version=2019-08-01&resource=api%3A%2F%2Fx", nil)
		req.Header.Set(HeaderName, testSecret)
		s, b, _ := do(t, req)
		return s, b
	}
	fail = &Error{Status: 400, Code: "invalid_grant", Message: "AADSTS70043: the refresh token has expired; run: tokentray login work"}
	if s, b := get(); s != 400 || b["error"] != "invalid_grant" || !strings.Contains(b["message"].(string), "AADSTS70043") {
		t.Errorf("provider refusal = %d %v; want 400 invalid_grant naming AADSTS70043", s, b)
	}
	fail = errors.New("vault locked")
	if s, b := get(); s != 500 || !strings.Contains(b["message"].(string), "vault locked") {
		t.Errorf("other failure = %d %v; want 500 saying what failed", s, b)
	}
}

// TestNewHandlerRefusesWeakSetups: a short secret or a non-loopback address
// is refused.
func TestNewHandlerRefusesWeakSetups(t *testing.T) {
	if _, err := NewHandler(netip.MustParseAddrPort("127.0.0.1:1"), "short", fixedToken); err == nil {
		t.Error("NewHandler with a 5-byte secret succeeded; want an error")
	}
	if _, err := NewHandler(netip.MustParseAddrPort("192.0.2.1:1"), testSecret, fixedToken); err == nil {
		t.Error("NewHandler on 192.0.2.1 succeeded; want an error (loopback only)")
	}
}

// TestNewSecret: secrets carry at least 128 random bits and differ.
func TestNewSecret(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		s, err := NewSecret()
		if err != nil {
			t.Fatal(err)
		}
		if len(s) < 22 || seen[s] {
			t.Fatalf("NewSecret() = %d chars (seen before: %v); want ≥ 22 (128 bits) and new", len(s), seen[s])
		}
		seen[s] = true
	}
}
