package oauth

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokentray/tokentray/internal/idpsim"
	"golang.org/x/oauth2"
)

func TestMain(m *testing.M) {
	// The zitadel example OP logs every request through the default logger.
	slog.SetDefault(slog.New(slog.DiscardHandler))
	code := m.Run()
	benchOnce.stop()
	os.Exit(code)
}

// benchServer is one loopback listener shared by both benchmarks; each
// benchmark invocation swaps in a fresh simulator so neither pays for the
// other's accumulated token state.
type benchServer struct {
	once sync.Once
	hs   *httptest.Server
	sim  atomic.Pointer[idpsim.Server]
	hc   *http.Client
}

var benchOnce benchServer

func (s *benchServer) start() {
	s.once.Do(func() {
		s.hs = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s.sim.Load().ServeHTTP(w, r)
		}))
		s.hc = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4, IdleConnTimeout: time.Minute}}
	})
}

func (s *benchServer) stop() {
	if s.hs != nil {
		s.hs.Close()
		s.hc.CloseIdleConnections()
	}
}

// fresh installs a new simulator and returns a profile and refresh token.
func (s *benchServer) fresh(b *testing.B) (Profile, string) {
	s.start()
	sim := idpsim.New(idpsim.Options{})
	s.sim.Store(sim)
	p := msProfile(b, s.hs.URL)
	return p, sim.Grant(p.ClientID, testSubject, p.Scopes)
}

// BenchmarkRefresh is one forced refresh through Client.Refresh.
func BenchmarkRefresh(b *testing.B) {
	p, rt := benchOnce.fresh(b)
	c := &Client{HTTP: benchOnce.hc}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Refresh(ctx, p, rt, ""); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBareOAuth2Refresh is the baseline: oauth2.Config.TokenSource with
// an expired token, so Token() does one refresh_token grant.
func BenchmarkBareOAuth2Refresh(b *testing.B) {
	p, rt := benchOnce.fresh(b)
	cfg := &oauth2.Config{
		ClientID: p.ClientID,
		Endpoint: oauth2.Endpoint{TokenURL: p.Endpoints.Token, AuthStyle: oauth2.AuthStyleInParams},
		Scopes:   p.Scopes,
	}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, benchOnce.hc)
	expired := time.Now().Add(-time.Hour)
	b.ReportAllocs()
	for b.Loop() {
		ts := cfg.TokenSource(ctx, &oauth2.Token{AccessToken: "old", RefreshToken: rt, Expiry: expired})
		if _, err := ts.Token(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRefreshPaired does one Client.Refresh and one bare oauth2
// refresh per iteration, in alternating order, against the same simulator, so load changes on a
// shared machine hit both alike; it reports each side's ns per refresh and
// their ratio (target ≤ 1.05).
func BenchmarkRefreshPaired(b *testing.B) {
	p, rt := benchOnce.fresh(b)
	c := &Client{HTTP: benchOnce.hc}
	cfg := &oauth2.Config{
		ClientID: p.ClientID,
		Endpoint: oauth2.Endpoint{TokenURL: p.Endpoints.Token, AuthStyle: oauth2.AuthStyleInParams},
		Scopes:   p.Scopes,
	}
	ctx := context.Background()
	bareCtx := context.WithValue(ctx, oauth2.HTTPClient, benchOnce.hc)
	expired := time.Now().Add(-time.Hour)
	var ours, bare time.Duration
	n := 0
	refresh := func() {
		t0 := time.Now()
		if _, err := c.Refresh(ctx, p, rt, ""); err != nil {
			b.Fatal(err)
		}
		ours += time.Since(t0)
	}
	baseline := func() {
		t0 := time.Now()
		ts := cfg.TokenSource(bareCtx, &oauth2.Token{AccessToken: "old", RefreshToken: rt, Expiry: expired})
		if _, err := ts.Token(); err != nil {
			b.Fatal(err)
		}
		bare += time.Since(t0)
	}
	for b.Loop() {
		// Alternate which side goes first, so neither always pays for
		// whatever the other left behind (GC debt, a cold connection).
		if n%2 == 0 {
			refresh()
			baseline()
		} else {
			baseline()
			refresh()
		}
		n++
	}
	b.ReportMetric(float64(ours.Nanoseconds())/float64(n), "ours-ns/refresh")
	b.ReportMetric(float64(bare.Nanoseconds())/float64(n), "bare-ns/refresh")
	b.ReportMetric(float64(ours)/float64(bare), "ratio")
}
