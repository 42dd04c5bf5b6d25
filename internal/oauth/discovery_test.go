package oauth

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tokentray/tokentray/internal/idpsim"
)

// countsDiscovery serves an idpsim.Server, counts requests for the discovery
// document and answers them 503 while failing is set.
type countsDiscovery struct {
	next    http.Handler
	failing atomic.Bool
	n       atomic.Int32
}

func (h *countsDiscovery) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasSuffix(r.URL.Path, "/.well-known/openid-configuration") {
		h.n.Add(1)
		if h.failing.Load() {
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
	}
	h.next.ServeHTTP(w, r)
}

// newCountingSim serves a simulator behind countsDiscovery and returns an
// OIDC profile for it without endpoints, as a caller builds from settings.
func newCountingSim(t *testing.T) (*idpsim.Server, *countsDiscovery, Profile) {
	t.Helper()
	s := idpsim.New(idpsim.Options{})
	h := &countsDiscovery{next: s}
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	p := Profile{Provider: ProviderOIDC, Issuer: s.Issuer(hs.URL), ClientID: testClient, Scopes: []string{"email"}}
	return s, h, p
}

func TestRefreshDiscoversOncePerIssuerAndClient(t *testing.T) {
	s, h, p := newCountingSim(t)
	c := &Client{}
	rt := s.Grant(testClient, testSubject, []string{"openid", "offline_access", "email"})
	for i := range 2 {
		tok, err := c.Refresh(t.Context(), p, rt, "")
		if err != nil {
			t.Fatalf("Refresh #%d with an undiscovered OIDC profile = %v", i+1, err)
		}
		rt = tok.RefreshToken
	}
	if n := h.n.Load(); n != 1 {
		t.Errorf("discovery requests after two refreshes = %d; want 1", n)
	}
	// Another client of the same issuer is discovered on its own.
	other := p
	other.ClientID = "other-client"
	ort := s.Grant(other.ClientID, testSubject, []string{"openid", "offline_access", "email"})
	if _, err := c.Refresh(t.Context(), other, ort, ""); err != nil {
		t.Fatalf("Refresh(other client) = %v", err)
	}
	if n := h.n.Load(); n != 2 {
		t.Errorf("discovery requests after a second client = %d; want 2", n)
	}
}

func TestDiscoveryFailureIsNotCached(t *testing.T) {
	s, h, p := newCountingSim(t)
	c := &Client{}
	rt := s.Grant(testClient, testSubject, []string{"openid", "offline_access", "email"})
	h.failing.Store(true)
	_, err := c.Refresh(t.Context(), p, rt, "")
	if err == nil || !strings.Contains(err.Error(), "refresh: discover") || ClassOf(err) != Transient {
		t.Fatalf("Refresh with discovery down = %v; want a transient \"refresh: discover ...\" error", err)
	}
	for _, tc := range []struct {
		op  string
		err error
	}{
		{"browser sign-in", func() error { _, err := c.LoginBrowser(t.Context(), p, BrowserOptions{}); return err }()},
		{"device sign-in", func() error { _, err := c.LoginDevice(t.Context(), p, nil); return err }()},
		{"revoke", c.Revoke(t.Context(), p, rt)},
	} {
		if tc.err == nil || !strings.HasPrefix(tc.err.Error(), tc.op+": discover") {
			t.Errorf("%s with discovery down = %v; want %q", tc.op, tc.err, tc.op+": discover ...")
		}
	}
	if n := h.n.Load(); n != 4 {
		t.Errorf("discovery requests while failing = %d; want 4 (a failure is not cached)", n)
	}
	h.failing.Store(false)
	for i := range 2 {
		tok, err := c.Refresh(t.Context(), p, rt, "")
		if err != nil {
			t.Fatalf("Refresh #%d after discovery is back = %v", i+1, err)
		}
		rt = tok.RefreshToken
	}
	if n := h.n.Load(); n != 5 {
		t.Errorf("discovery requests after recovery and two refreshes = %d; want 5", n)
	}
}

func TestResolveKeepsCompleteProfiles(t *testing.T) {
	s, h, p := newCountingSim(t)
	c := &Client{}
	full, err := OIDCProfile(t.Context(), nil, p.Issuer, p.ClientID, p.Scopes)
	if err != nil {
		t.Fatal(err)
	}
	h.n.Store(0)
	rt := s.Grant(testClient, testSubject, full.Scopes)
	if _, err := c.Refresh(t.Context(), full, rt, ""); err != nil {
		t.Fatalf("Refresh(complete OIDC profile) = %v", err)
	}
	got, err := c.resolve(t.Context(), full)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(full, got); d != "" {
		t.Errorf("resolve changed a complete profile (-want +got):\n%s", d)
	}
	ms, err := MicrosoftProfileAt(strings.TrimSuffix(p.Issuer, "/"), testTenant, testClient, graphScopes)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := c.resolve(t.Context(), ms); err != nil || !cmp.Equal(ms, got) {
		t.Errorf("resolve(microsoft profile) = %+v, %v; want it unchanged", got, err)
	}
	if n := h.n.Load(); n != 0 {
		t.Errorf("discovery requests for complete profiles = %d; want 0", n)
	}
}

func TestResolveMatchesOIDCProfile(t *testing.T) {
	_, _, p := newCountingSim(t)
	want, err := OIDCProfile(t.Context(), nil, p.Issuer, p.ClientID, p.Scopes)
	if err != nil {
		t.Fatal(err)
	}
	c := &Client{}
	for range 2 { // discovered, then cached
		got, err := c.resolve(t.Context(), p)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("resolve differs from OIDCProfile (-want +got):\n%s", d)
		}
	}
}

func TestRevokeDiscovers(t *testing.T) {
	s, h, p := newCountingSim(t)
	c := &Client{}
	rt := s.Grant(testClient, testSubject, []string{"openid", "offline_access", "email"})
	if err := c.Revoke(t.Context(), p, rt); err != nil {
		t.Fatalf("Revoke(undiscovered OIDC profile) = %v", err)
	}
	if _, err := c.Refresh(t.Context(), p, rt, ""); ClassOf(err) != Permanent {
		t.Errorf("Refresh after Revoke = %v; want Permanent", err)
	}
	if n := h.n.Load(); n != 1 {
		t.Errorf("discovery requests = %d; want 1", n)
	}
}

func TestResolveConcurrent(t *testing.T) {
	s, _, p := newCountingSim(t)
	c := &Client{}
	var wg sync.WaitGroup
	for range 8 {
		rt := s.Grant(testClient, testSubject, []string{"openid", "offline_access", "email"})
		wg.Go(func() {
			if _, err := c.Refresh(t.Context(), p, rt, ""); err != nil {
				t.Errorf("concurrent Refresh = %v", err)
			}
		})
	}
	wg.Wait()
}
