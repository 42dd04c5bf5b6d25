package engine

import (
	"context"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/tokentray/tokentray/internal/config"
	"github.com/tokentray/tokentray/internal/idpsim"
	"github.com/tokentray/tokentray/internal/oauth"
	"github.com/tokentray/tokentray/internal/vault"
)

// One loopback simulator shared by the refresh benchmarks of a run.
var bench struct {
	once sync.Once
	sim  *idpsim.Server
	srv  *httptest.Server
	hc   *http.Client
}

func TestMain(m *testing.M) {
	code := m.Run()
	if bench.srv != nil {
		bench.srv.Close()
	}
	os.Exit(code)
}

func benchServer() (*idpsim.Server, string, *http.Client) {
	bench.once.Do(func() {
		bench.sim = idpsim.New(idpsim.Options{})
		bench.srv = httptest.NewServer(bench.sim)
		bench.hc = bench.srv.Client()
	})
	return bench.sim, bench.srv.URL, bench.hc
}

// benchEngine is an engine on vault.Memory with one signed-in account,
// talking to the loopback simulator, with a budget that never binds.
func benchEngine(b *testing.B) *Engine { return benchEngineWith(b, b.TempDir(), vault.NewMemory()) }

// encodingStore behaves like vault.Memory did before it kept envelopes as
// values: every Save encodes, every Load decodes. It is the "before" side of
// the paired benchmark.
type encodingStore struct {
	mu    sync.Mutex
	items map[string][]byte
}

func (s *encodingStore) Load(_ context.Context, account string) (vault.Envelope, error) {
	s.mu.Lock()
	b, ok := s.items[account]
	s.mu.Unlock()
	if !ok {
		return vault.Envelope{}, vault.ErrNotFound
	}
	return vault.Decode(b)
}

func (s *encodingStore) Save(_ context.Context, account string, e vault.Envelope) error {
	b, err := vault.Encode(e)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.items[account] = b
	s.mu.Unlock()
	return nil
}

func (s *encodingStore) Delete(_ context.Context, account string) error {
	s.mu.Lock()
	delete(s.items, account)
	s.mu.Unlock()
	return nil
}

func (s *encodingStore) List(context.Context) ([]string, error) { return nil, nil }

// benchEngineWith is benchEngine with the given lock directory ("" for no
// cross-process lock, to isolate the lock file's cost) and vault.
func benchEngineWith(b *testing.B, lockDir string, mem store) *Engine {
	sim, base, hc := benchServer()
	s := config.Defaults()
	s.Budget.Requests = 1 << 20
	prof := testProfile()
	ep := idpsim.EndpointsFor(base, "common")
	prof.Endpoints = oauth.Endpoints{Token: ep.Token}
	if err := mem.Save(b.Context(), "bench", vault.Envelope{RefreshToken: sim.Grant(testClient, "bench@idpsim.test", testScopes)}); err != nil {
		b.Fatal(err)
	}
	eng, err := New(Options{Settings: s, Store: mem, Refresher: &oauth.Client{HTTP: hc},
		Accounts: []Account{{Name: "bench", Profile: prof}}, LockDir: lockDir})
	if err != nil {
		b.Fatal(err)
	}
	return eng
}

// bareRefresher refreshes with golang.org/x/oauth2 and nothing else.
type bareRefresher struct {
	cfg *oauth2.Config
	ctx context.Context
	rt  string
}

func newBare(b *testing.B) *bareRefresher {
	sim, base, hc := benchServer()
	ep := idpsim.EndpointsFor(base, "common")
	return &bareRefresher{
		cfg: &oauth2.Config{ClientID: testClient, Scopes: testScopes,
			Endpoint: oauth2.Endpoint{TokenURL: ep.Token, AuthStyle: oauth2.AuthStyleInParams}},
		ctx: context.WithValue(b.Context(), oauth2.HTTPClient, hc),
		rt:  sim.Grant(testClient, "bare@idpsim.test", testScopes),
	}
}

func (r *bareRefresher) refresh(b *testing.B) {
	tok, err := r.cfg.TokenSource(r.ctx, &oauth2.Token{RefreshToken: r.rt}).Token()
	if err != nil {
		b.Fatal(err)
	}
	r.rt = tok.RefreshToken
}

// BenchmarkEngineRefresh is one RefreshNow: flight, lock file, re-read of
// vault.Memory, refresh over loopback HTTP, save, state update.
func BenchmarkEngineRefresh(b *testing.B) {
	eng := benchEngine(b)
	for b.Loop() {
		if _, err := eng.RefreshNow(b.Context(), "bench"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBareOAuth2Refresh is a bare x/oauth2 refresh_token grant against
// the same simulator.
func BenchmarkBareOAuth2Refresh(b *testing.B) {
	r := newBare(b)
	for b.Loop() {
		r.refresh(b)
	}
}

// BenchmarkRefreshOverhead alternates the engine, the engine without a lock
// file, the engine on an encoding vault (vault.Memory before it kept
// values), bare x/oauth2 and a bare internal/oauth refresh, so they see the
// same machine load, and reports the medians and the ratios (target
// engine/bare ≤ 1.10).
func BenchmarkRefreshOverhead(b *testing.B) {
	eng := benchEngine(b)
	nolock := benchEngineWith(b, "", vault.NewMemory())
	before := benchEngineWith(b, b.TempDir(), &encodingStore{items: map[string][]byte{}})
	r := newBare(b)
	sim, base, hc := benchServer()
	oc := &oauth.Client{HTTP: hc}
	prof := testProfile()
	prof.Endpoints = oauth.Endpoints{Token: idpsim.EndpointsFor(base, "common").Token}
	ort := sim.Grant(testClient, "oauthpkg@idpsim.test", testScopes)
	var te, tb, to, tn, tj []time.Duration
	for b.Loop() {
		tj0 := time.Now()
		if _, err := before.RefreshNow(b.Context(), "bench"); err != nil {
			b.Fatal(err)
		}
		tn0 := time.Now()
		if _, err := nolock.RefreshNow(b.Context(), "bench"); err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		if _, err := eng.RefreshNow(b.Context(), "bench"); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		r.refresh(b)
		t2 := time.Now()
		tok, err := oc.Refresh(b.Context(), prof, ort, "")
		if err != nil {
			b.Fatal(err)
		}
		ort = tok.RefreshToken
		t3 := time.Now()
		te, tb, to, tn = append(te, t1.Sub(t0)), append(tb, t2.Sub(t1)), append(to, t3.Sub(t2)), append(tn, t0.Sub(tn0))
		tj = append(tj, tn0.Sub(tj0))
	}
	me, mb, mo, mn, mj := median(te), median(tb), median(to), median(tn), median(tj)
	b.ReportMetric(float64(me.Nanoseconds()), "engine-median-ns")
	b.ReportMetric(float64(mb.Nanoseconds()), "bare-median-ns")
	b.ReportMetric(float64(mo.Nanoseconds()), "oauthpkg-median-ns")
	b.ReportMetric(float64(mn.Nanoseconds()), "nolock-median-ns")
	b.ReportMetric(float64(me)/float64(mb), "ratio")
	b.ReportMetric(float64(mn)/float64(mb), "ratio-nolock")
	b.ReportMetric(float64(mj.Nanoseconds()), "before-median-ns")
	b.ReportMetric(float64(mj)/float64(mb), "ratio-before")
	b.ReportMetric(float64(me)/float64(mj), "after-vs-before")
	b.ReportMetric(float64(me)/float64(mo), "ratio-vs-oauthpkg")
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

// BenchmarkSchedule10k measures scheduling 10 000 accounts: heap bytes per
// account (account state with 24 h of history at a 1 h interval, plus the
// heap entry; token strings excluded) and the time of one reschedule (state
// change → due recomputed → heap fixed).
func BenchmarkSchedule10k(b *testing.B) {
	const n = 10000
	accts := make([]Account, n)
	for i := range accts {
		accts[i] = Account{Name: "acct" + string(rune('a'+i%26)) + itoa(i), Profile: testProfile()}
	}
	now := time.Now().Round(0)
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	eng, err := New(Options{Settings: config.Defaults(), Store: vault.NewMemory(), Refresher: &oauth.Client{}, Accounts: accts,
		Rand: rand.New(rand.NewPCG(1, 2))})
	if err != nil {
		b.Fatal(err)
	}
	sched := newSchedule(n)
	eng.mu.Lock()
	for i, a := range eng.accts {
		obt := now.Add(-time.Duration(i%3600) * time.Second)
		eng.adoptLocked(a, vault.Envelope{ObtainedAt: obt, Expiry: obt.Add(90 * time.Minute)})
		for h := range 24 {
			a.addEvent(now.Add(time.Duration(h-24)*time.Hour), true, true, now)
		}
		eng.changedLocked(a)
	}
	eng.mu.Unlock()
	eng.reschedule(sched, now)
	runtime.GC()
	runtime.ReadMemStats(&m1)
	perAccount := float64(m1.HeapAlloc-m0.HeapAlloc) / n
	heapPerAccount := float64(cap(sched.items)*16) / n

	b.ReportAllocs()
	i := 0
	for b.Loop() {
		a := eng.accts[i%n]
		eng.mu.Lock()
		a.lastSuccess = now.Add(time.Duration(i) * time.Millisecond)
		eng.changedLocked(a)
		eng.mu.Unlock()
		eng.reschedule(sched, now)
		i++
	}
	if sched.Len() != n {
		b.Fatalf("scheduled %d accounts; want %d", sched.Len(), n)
	}
	b.ReportMetric(perAccount, "B/account")
	b.ReportMetric(heapPerAccount, "heap-B/account")
	runtime.KeepAlive(eng)
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var buf [20]byte
	p := len(buf)
	for i > 0 {
		p--
		buf[p] = byte('0' + i%10)
		i /= 10
	}
	return string(buf[p:])
}
