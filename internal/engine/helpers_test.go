package engine

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokentray/tokentray/internal/config"
	"github.com/tokentray/tokentray/internal/idpsim"
	"github.com/tokentray/tokentray/internal/oauth"
	"github.com/tokentray/tokentray/internal/state"
	"github.com/tokentray/tokentray/internal/vault"
)

const (
	testClient = "app-client"
	simBase    = "http://127.0.0.1"
)

var testScopes = []string{"openid", "profile", "offline_access", "User.Read"}

// world is one simulator, one vault and one engine wired together.
type world struct {
	t       *testing.T
	sim     *idpsim.Server
	store   store
	mem     *vault.Memory
	eng     *Engine
	names   []string
	subject map[string]string // account → simulator subject
	// episodes records the episodes the engine's snapshots start and end
	// (state.Episodes: the keeper's one rule for its notifications and
	// hooks), from the engine newWorld built.
	episodes *episodeLog
	cancel   context.CancelFunc
	runErr   chan error
	newEng   func() *Engine // a new engine on the same vault, simulator and files
}

type worldOpts struct {
	accounts  int
	settings  func(*config.Settings)
	sim       idpsim.Options
	store     func(*vault.Memory) store // wraps the memory vault
	statePath string
	lockDir   string
	stored    func(now time.Time) vault.Envelope // extra fields of the first envelope
	noRun     bool
	profile   func(*oauth.Profile) // changes every account's profile
}

// episodeLog follows an engine's snapshots with state.Episodes.
type episodeLog struct {
	mu      sync.Mutex
	rule    state.Episodes
	changes []state.EpisodeChange
}

// follow records the episodes of eng's snapshots until ctx ends.
func (l *episodeLog) follow(ctx context.Context, eng *Engine) {
	ch := eng.Subscribe(ctx)
	go func() {
		for s := range ch {
			l.mu.Lock()
			l.changes = append(l.changes, l.rule.Update(s)...)
			l.mu.Unlock()
		}
	}()
}

// started lists the accounts whose episodes started, with the state each
// started in ("acct0 needs_signin"), in order.
func (l *episodeLog) started() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, c := range l.changes {
		if c.Started {
			out = append(out, c.Account.Name+" "+string(c.Account.State))
		}
	}
	return out
}

func testProfile() oauth.Profile {
	ep := idpsim.EndpointsFor(simBase, "common")
	return oauth.Profile{
		Provider: oauth.ProviderMicrosoft, Tenant: "common", ClientID: testClient, Scopes: testScopes,
		Endpoints: oauth.Endpoints{Auth: ep.Auth, Token: ep.Token, Device: ep.Device, Revoke: ep.Revoke, Issuer: ep.Issuer},
	}
}

func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// newWorld builds the world; call it inside a synctest bubble when the test
// uses fake time. Every account starts with a fresh grant stored in the vault.
func newWorld(t *testing.T, o worldOpts) *world {
	t.Helper()
	if o.accounts == 0 {
		o.accounts = 1
	}
	w := &world{t: t, sim: idpsim.New(o.sim), mem: vault.NewMemory(), subject: map[string]string{}}
	w.store = w.mem
	if o.store != nil {
		w.store = o.store(w.mem)
	}
	s := config.Defaults()
	if o.settings != nil {
		o.settings(&s)
	}
	var accts []Account
	now := time.Now().Round(0)
	for i := range o.accounts {
		name := fmt.Sprintf("acct%d", i)
		sub := fmt.Sprintf("user%d@idpsim.test", i)
		rt := w.sim.Grant(testClient, sub, testScopes)
		env := vault.Envelope{}
		if o.stored != nil {
			env = o.stored(now)
		}
		env.RefreshToken = rt
		if err := w.mem.Save(t.Context(), name, env); err != nil {
			t.Fatalf("Save(%q) = %v", name, err)
		}
		w.names = append(w.names, name)
		w.subject[name] = sub
		p := testProfile()
		if o.profile != nil {
			o.profile(&p)
		}
		accts = append(accts, Account{Name: name, Profile: p})
	}
	w.newEng = func() *Engine {
		eng, err := New(Options{
			Settings: s, Store: w.store, Refresher: &oauth.Client{HTTP: w.sim.Client()}, Accounts: accts,
			StatePath: o.statePath, LockDir: o.lockDir, Logger: testLogger(t),
			Rand: rand.New(rand.NewPCG(7, 8)),
		})
		if err != nil {
			t.Fatalf("New() = %v", err)
		}
		return eng
	}
	w.eng = w.newEng()
	w.episodes = &episodeLog{}
	w.episodes.follow(t.Context(), w.eng)
	if !o.noRun {
		w.start()
	}
	return w
}

// start runs the engine until stop (or the end of the test).
func (w *world) start() {
	ctx, cancel := context.WithCancel(context.Background())
	w.cancel = cancel
	w.runErr = make(chan error, 1)
	go func() { w.runErr <- w.eng.Run(ctx) }()
	w.t.Cleanup(w.stop)
}

// stop ends Run and waits for it.
func (w *world) stop() {
	if w.cancel == nil {
		return
	}
	w.cancel()
	<-w.runErr
	w.cancel = nil
}

// tokenRequests lists the simulator's refresh_token requests for account.
func (w *world) tokenRequests(account string) []idpsim.RequestRecord {
	var out []idpsim.RequestRecord
	for _, r := range w.sim.Requests() {
		if r.Endpoint == "token" && r.GrantType == "refresh_token" && r.Subject == w.subject[account] {
			out = append(out, r)
		}
	}
	return out
}

func (w *world) status(account string) state.AccountStatus {
	s, ok := w.eng.Snapshot().Account(account)
	if !ok {
		w.t.Fatalf("Snapshot() has no account %q", account)
	}
	return s
}

// newestRT is the last refresh token the simulator issued (single-grant worlds).
func (w *world) newestRT() string {
	var last string
	for _, v := range w.sim.Issued() {
		if strings.HasPrefix(v, idpsim.RefreshPrefix) {
			last = v
		}
	}
	return last
}

func (w *world) storedRT(account string) string {
	env, err := w.mem.Load(context.Background(), account)
	if err != nil {
		w.t.Fatalf("Load(%q) = %v", account, err)
	}
	return env.RefreshToken
}

// failNextSaves makes the next n Save calls fail with vault.ErrLocked.
type failNextSaves struct {
	store
	mu    sync.Mutex
	n     int
	calls int
}

func (f *failNextSaves) Save(ctx context.Context, account string, e vault.Envelope) error {
	f.mu.Lock()
	f.calls++
	fail := f.n > 0
	if fail {
		f.n--
	}
	f.mu.Unlock()
	if fail {
		return fmt.Errorf("save %q: %w", account, vault.ErrLocked)
	}
	return f.store.Save(ctx, account, e)
}

func (f *failNextSaves) set(n int) { f.mu.Lock(); f.n = n; f.mu.Unlock() }

// concurrently makes n calls of call at once and returns their results in
// order; a call that fails fails the test (what names the call).
func concurrently[T any](t *testing.T, n int, what string, call func() (T, error)) []T {
	t.Helper()
	out := make([]T, n)
	var wg sync.WaitGroup
	for i := range out {
		wg.Go(func() {
			v, err := call()
			if err != nil {
				t.Errorf("%s = %v", what, err)
			}
			out[i] = v
		})
	}
	wg.Wait()
	return out
}
