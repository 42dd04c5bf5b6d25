package oauth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tokentray/tokentray/internal/idpsim"
)

// browser follows the authorization URL like a real browser would, in a
// goroutine owned by the test, and records the final page.
type browser struct {
	t       *testing.T
	tamper  func(u *url.URL) // edits the URL before it is visited
	wg      sync.WaitGroup
	mu      sync.Mutex
	visited []*url.URL
	status  int
	page    string
}

func (b *browser) open(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	b.mu.Lock()
	b.visited = append(b.visited, u)
	b.mu.Unlock()
	if b.tamper != nil {
		b.tamper(u)
	}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		req, _ := http.NewRequestWithContext(b.t.Context(), http.MethodGet, u.String(), nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		b.mu.Lock()
		b.status, b.page = resp.StatusCode, string(body)
		b.mu.Unlock()
	}()
	return nil
}

func (b *browser) wait() (int, string) {
	b.wg.Wait()
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.status, b.page
}

func TestLoginBrowser(t *testing.T) {
	s, base := newSim(t, idpsim.Options{})
	p := msProfile(t, base)
	b := &browser{t: t}
	tok, err := (&Client{}).LoginBrowser(t.Context(), p, BrowserOptions{Open: b.open})
	if err != nil {
		t.Fatalf("LoginBrowser = %v", err)
	}
	status, page := b.wait()
	if status != http.StatusOK || !strings.Contains(page, "Signed in") {
		t.Errorf("browser page = %d %q; want 200 and a success page", status, page)
	}
	if tok.RefreshToken == "" || tok.AccessToken == "" || !tok.Fresh || !s.Valid(tok.RefreshToken) {
		t.Errorf("LoginBrowser token: rt %v at %v fresh %v; want a valid pair", tok.RefreshToken != "", tok.AccessToken != "", tok.Fresh)
	}
	if _, upn := idpsim.User("user@idpsim.test"); tok.Claims.PreferredUsername != upn {
		t.Errorf("Claims.PreferredUsername = %q; want %q", tok.Claims.PreferredUsername, upn)
	}
	q := b.visited[0].Query()
	if q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43 || len(q.Get("state")) < 22 {
		t.Errorf("authorization URL %v; want S256 PKCE and a random state", b.visited[0])
	}
	redirect, _ := url.Parse(q.Get("redirect_uri"))
	if redirect.Hostname() != "127.0.0.1" || redirect.Path != "/callback" || redirect.Port() == "0" || redirect.Port() == "" {
		t.Errorf("redirect_uri = %v; want http://127.0.0.1:<port>/callback", redirect)
	}
	// The token can be refreshed.
	if _, err := (&Client{}).Refresh(t.Context(), p, tok.RefreshToken, tok.AccessToken); err != nil {
		t.Errorf("Refresh after sign-in = %v", err)
	}
}

func TestLoginBrowserRejects(t *testing.T) {
	_, base := newSim(t, idpsim.Options{})
	tests := []struct {
		name     string
		scopes   []string
		tamper   func(u *url.URL)
		want     string
		wantIs   error
		wantPage int
	}{
		{"wrong state", graphScopes, func(u *url.URL) { setQuery(u, "state", "forged") }, "wrong state", nil, http.StatusBadRequest},
		{"wrong PKCE challenge", graphScopes, func(u *url.URL) {
			sum := sha256.Sum256([]byte("another verifier"))
			setQuery(u, "code_challenge", base64.RawURLEncoding.EncodeToString(sum[:]))
		}, "invalid_grant", nil, http.StatusBadRequest},
		{"no offline_access", nil, func(u *url.URL) { setQuery(u, "scope", "openid profile") }, "offline_access", ErrNoRefreshToken, http.StatusBadRequest},
		{"provider error redirect", graphScopes, func(u *url.URL) {
			// The "browser" goes straight back with an error, as after the user declines.
			q := u.Query()
			cb, _ := url.Parse(q.Get("redirect_uri"))
			cb.RawQuery = url.Values{"state": {q.Get("state")}, "error": {"access_denied"},
				"error_description": {"AADSTS65004: User declined to consent."}}.Encode()
			*u = *cb
		}, "access_denied", nil, http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := msProfile(t, base)
			b := &browser{t: t, tamper: tt.tamper}
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			_, err := (&Client{}).LoginBrowser(ctx, p, BrowserOptions{Open: b.open, Timeout: 10 * time.Second})
			status, page := b.wait()
			if err == nil {
				t.Fatalf("LoginBrowser = nil; want an error (page %d %q)", status, page)
			}
			if tt.want != "" && !strings.Contains(err.Error(), tt.want) {
				t.Errorf("LoginBrowser = %v; want %q", err, tt.want)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("LoginBrowser = %v; want errors.Is %v", err, tt.wantIs)
			}
			if tt.wantPage != 0 && (status != tt.wantPage || !strings.Contains(page, "Sign-in failed")) {
				t.Errorf("browser page = %d %q; want %d and a failure page", status, page, tt.wantPage)
			}
		})
	}
}

func setQuery(u *url.URL, k, v string) {
	q := u.Query()
	q.Set(k, v)
	u.RawQuery = q.Encode()
}

func TestLoginBrowserNoBrowserPrintsURL(t *testing.T) {
	_, base := newSim(t, idpsim.Options{})
	p := msProfile(t, base)
	p.RedirectURI = "http://localhost/done"
	b := &browser{t: t}
	var out bytes.Buffer
	printed := make(chan string, 1)
	o := BrowserOptions{NoBrowser: true, Out: &out, Open: func(string) error {
		t.Error("Open called with NoBrowser")
		return nil
	}}
	o.Print = func(u string) { printed <- u; _ = b.open(u) }
	if _, err := (&Client{}).LoginBrowser(t.Context(), p, o); err != nil {
		t.Fatalf("LoginBrowser = %v", err)
	}
	b.wait()
	u, _ := url.Parse(<-printed)
	redirect, _ := url.Parse(u.Query().Get("redirect_uri"))
	if redirect.Hostname() != "localhost" || redirect.Path != "/done" {
		t.Errorf("redirect_uri = %v; want http://localhost:<port>/done", redirect)
	}

	// Without Print, the URL goes alone on a line of Out.
	o.Print = nil
	o.Timeout = time.Millisecond
	_, err := (&Client{}).LoginBrowser(t.Context(), p, o)
	if err == nil || !strings.Contains(err.Error(), "no answer from the browser") {
		t.Errorf("LoginBrowser with nobody at the browser = %v; want a timeout", err)
	}
	line := out.String()
	if !strings.HasPrefix(line, p.Endpoints.Auth+"?") || strings.Count(line, "\n") != 1 || !strings.HasSuffix(line, "\n") {
		t.Errorf("printed %q; want the URL alone on a line", line)
	}
}

func TestLoginBrowserOpenFailsPrints(t *testing.T) {
	_, base := newSim(t, idpsim.Options{})
	p := msProfile(t, base)
	var out bytes.Buffer
	_, err := (&Client{}).LoginBrowser(t.Context(), p, BrowserOptions{
		Open: func(string) error { return errors.New("no display") }, Out: &out, Timeout: time.Millisecond})
	if err == nil {
		t.Fatal("LoginBrowser = nil; want a timeout")
	}
	if !strings.HasPrefix(out.String(), p.Endpoints.Auth) {
		t.Errorf("printed %q; want the URL after Open failed", out.String())
	}
}

func TestLoginBrowserRedirectURI(t *testing.T) {
	for _, bad := range []string{"https://127.0.0.1/cb", "http://example.com/cb", "::"} {
		_, _, err := listenLoopback(bad)
		if err == nil {
			t.Errorf("listenLoopback(%q) = nil; want an error", bad)
		}
	}
}

func TestLoginDevice(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := idpsim.New(idpsim.Options{AutoApproveDevice: 3, DeviceInterval: 5 * time.Second})
		p := msProfile(t, "http://127.0.0.1:1")
		c := &Client{HTTP: s.Client()}
		var shown []DeviceCode
		start := time.Now()
		tok, err := c.LoginDevice(t.Context(), p, func(d DeviceCode) { shown = append(shown, d) })
		if err != nil {
			t.Fatalf("LoginDevice = %v", err)
		}
		if got := time.Since(start); got != 15*time.Second {
			t.Errorf("LoginDevice took %v; want 15s (3 polls at 5s)", got)
		}
		if len(shown) != 1 || shown[0].UserCode == "" || shown[0].VerificationURI == "" || shown[0].ExpiresIn != 15*time.Minute || !strings.Contains(shown[0].Message, shown[0].UserCode) {
			t.Errorf("show got %+v; want one code with URI, message and 15m expiry", shown)
		}
		if tok.RefreshToken == "" || !s.Valid(tok.RefreshToken) {
			t.Errorf("LoginDevice refresh token valid = %v; want a valid one", s.Valid(tok.RefreshToken))
		}
	})
}

func TestLoginDeviceApproveAndExpire(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := idpsim.New(idpsim.Options{DeviceTTL: time.Minute})
		p := msProfile(t, "http://127.0.0.1:1")
		c := &Client{HTTP: s.Client()}
		_, err := c.LoginDevice(t.Context(), p, nil)
		if err == nil || !strings.Contains(err.Error(), "expired") {
			t.Errorf("LoginDevice with nobody approving = %v; want an expiry error", err)
		}

		start := time.Now()
		tok, err := c.LoginDevice(t.Context(), p, func(d DeviceCode) {
			if err := s.ApproveDevice(d.UserCode); err != nil {
				t.Errorf("ApproveDevice = %v", err)
			}
		})
		if err != nil || tok.RefreshToken == "" {
			t.Fatalf("LoginDevice = %v; want tokens", err)
		}
		if got := time.Since(start); got != 5*time.Second {
			t.Errorf("approved LoginDevice took %v; want one 5s interval", got)
		}
	})
}

// slowsDown answers the first polls with slow_down and records when each
// poll arrived.
type slowsDown struct {
	mu    sync.Mutex
	polls []time.Time
}

func (h *slowsDown) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if strings.HasSuffix(r.URL.Path, "/devicecode") {
		io.WriteString(w, `{"device_code":"dc","user_code":"UC","verification_uri":"https://example/device","expires_in":600,"interval":2}`)
		return
	}
	h.mu.Lock()
	h.polls = append(h.polls, time.Now())
	n := len(h.polls)
	h.mu.Unlock()
	switch n {
	case 1, 2:
		w.WriteHeader(400)
		io.WriteString(w, `{"error":"slow_down"}`)
	case 3:
		w.WriteHeader(400)
		io.WriteString(w, `{"error":"authorization_pending"}`)
	default:
		io.WriteString(w, `{"access_token":"at","refresh_token":"rt","expires_in":60}`)
	}
}

type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := newRecorder()
	t.h.ServeHTTP(rec, r)
	return rec.result(r), nil
}

func TestLoginDeviceSlowDown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := &slowsDown{}
		p := Profile{ClientID: "c", Endpoints: Endpoints{Token: "https://idp.example/token", Device: "https://idp.example/devicecode"}}
		c := &Client{HTTP: &http.Client{Transport: handlerTransport{h}}}
		start := time.Now()
		if _, err := c.LoginDevice(t.Context(), p, nil); err != nil {
			t.Fatalf("LoginDevice = %v", err)
		}
		var gaps []time.Duration
		last := start
		for _, at := range h.polls {
			gaps = append(gaps, at.Sub(last))
			last = at
		}
		want := []time.Duration{2 * time.Second, 7 * time.Second, 12 * time.Second, 12 * time.Second}
		if len(gaps) != len(want) {
			t.Fatalf("poll gaps %v; want %v", gaps, want)
		}
		for i := range want {
			if gaps[i] != want[i] {
				t.Errorf("poll gaps %v; want %v (interval, then +5s per slow_down)", gaps, want)
				break
			}
		}
	})
}

// answersPoll issues a device code and answers every poll with body.
type answersPoll struct {
	status int
	body   string
}

func (h answersPoll) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if strings.HasSuffix(r.URL.Path, "/devicecode") {
		io.WriteString(w, `{"device_code":"dc","user_code":"UC","verification_url":"https://example/device","expires_in":"600"}`)
		return
	}
	w.WriteHeader(h.status)
	io.WriteString(w, h.body)
}

func TestLoginDeviceErrors(t *testing.T) {
	tests := []struct {
		name   string
		h      answersPoll
		class  Class
		wantIs error
		want   string
	}{
		{"declined", answersPoll{400, `{"error":"access_denied"}`}, Permanent, nil, "access_denied"},
		{"expired", answersPoll{400, `{"error":"expired_token"}`}, Permanent, nil, "expired_token"},
		{"no refresh token", answersPoll{200, `{"access_token":"at","expires_in":60}`}, Transient, ErrNoRefreshToken, "offline_access"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p := Profile{ClientID: "c", Endpoints: Endpoints{Token: "https://idp.example/token", Device: "https://idp.example/devicecode"}}
				c := &Client{HTTP: &http.Client{Transport: handlerTransport{tt.h}}}
				var shown DeviceCode
				_, err := c.LoginDevice(t.Context(), p, func(d DeviceCode) { shown = d })
				if err == nil || ClassOf(err) != tt.class || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("LoginDevice = %v (class %v); want %v containing %q", err, ClassOf(err), tt.class, tt.want)
				}
				if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
					t.Errorf("LoginDevice = %v; want errors.Is %v", err, tt.wantIs)
				}
				if shown.VerificationURI != "https://example/device" || shown.ExpiresIn != 10*time.Minute {
					t.Errorf("show got %+v; want Google-style verification_url and a 10m expiry", shown)
				}
			})
		})
	}
	p := Profile{ClientID: "c", Endpoints: Endpoints{Token: "https://idp.example/token"}}
	if _, err := (&Client{}).LoginDevice(t.Context(), p, nil); err == nil || !strings.Contains(err.Error(), "no device authorization endpoint") {
		t.Errorf("LoginDevice without a device endpoint = %v; want an error", err)
	}
}

// TestLoginDeclaresCapabilities: an account with client capabilities (cp1)
// declares them when its sign-in is redeemed, browser and device alike, so
// the first access token is already a CAE token; without them nothing is
// declared.
func TestLoginDeclaresCapabilities(t *testing.T) {
	t.Run("browser", func(t *testing.T) {
		s, base := newSim(t, idpsim.Options{})
		for _, caps := range [][]string{{"cp1"}, nil} {
			p := msProfile(t, base)
			p.Capabilities = caps
			b := &browser{t: t}
			tok, err := (&Client{}).LoginBrowser(t.Context(), p, BrowserOptions{Open: b.open})
			if err != nil {
				t.Fatalf("LoginBrowser(%v) = %v", caps, err)
			}
			b.wait()
			if info, ok := s.Access(tok.AccessToken); !ok || !slices.Equal(info.Capabilities, caps) {
				t.Errorf("browser sign-in with capabilities %v: the token's xms_cc = %v (known %v)", caps, info.Capabilities, ok)
			}
		}
	})
	t.Run("device", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s := idpsim.New(idpsim.Options{AutoApproveDevice: 1, DeviceInterval: 5 * time.Second})
			p := msProfile(t, "http://127.0.0.1:1")
			p.Capabilities = []string{"cp1"}
			tok, err := (&Client{HTTP: s.Client()}).LoginDevice(t.Context(), p, func(DeviceCode) {})
			if err != nil {
				t.Fatalf("LoginDevice = %v", err)
			}
			if info, ok := s.Access(tok.AccessToken); !ok || !slices.Equal(info.Capabilities, []string{"cp1"}) {
				t.Errorf("device sign-in with cp1: the token's xms_cc = %v (known %v)", info.Capabilities, ok)
			}
		})
	})
}
