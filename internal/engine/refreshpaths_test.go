package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tokentray/tokentray/internal/config"
	"github.com/tokentray/tokentray/internal/oauth"
	"github.com/tokentray/tokentray/internal/state"
	"github.com/tokentray/tokentray/internal/vault"
)

// The account's own refresh, per-resource requests, claims requests and the
// grant check run one skeleton (run, send). These tests pin what each
// former difference between the two old paths became.

// pathCall is one kind of refresh, started through the public API.
type pathCall struct {
	name string
	own  bool // the account's own refresh: its failures are the account's
	call func(ctx context.Context, eng *Engine) error
}

var pathCalls = []pathCall{
	{"RefreshNow", true, func(ctx context.Context, eng *Engine) error { _, err := eng.RefreshNow(ctx, "acct0"); return err }},
	{"Token", true, func(ctx context.Context, eng *Engine) error {
		_, err := eng.Token(ctx, "acct0", 2*time.Hour)
		return err
	}},
	{"TokenFor per-resource", false, func(ctx context.Context, eng *Engine) error {
		_, err := eng.TokenFor(ctx, "acct0", TokenRequest{Scopes: []string{"api://reports/.default"}})
		return err
	}},
	{"TokenFor claims", false, func(ctx context.Context, eng *Engine) error {
		_, err := eng.TokenFor(ctx, "acct0", TokenRequest{Claims: `{"access_token":{"nbf":{"essential":true,"value":"1"}}}`})
		return err
	}},
}

// pathFails makes pc's call on acct0 and checks that it failed before
// sending anything, with an error that contains says (and matches is, if not
// nil), not needs sign-in and not a resource refusal. For a per-resource
// or claims call it checks that the account stayed as it was (the failure
// is the caller's) and returns false; for the account's own refresh it
// returns true: the caller checks what was recorded.
func pathFails(t *testing.T, w *world, pc pathCall, says string, is error) bool {
	t.Helper()
	before := w.status("acct0")
	err := pc.call(t.Context(), w.eng)
	if err == nil || !strings.Contains(err.Error(), says) || is != nil && !errors.Is(err, is) || errors.Is(err, ErrNeedsSignIn) || errors.Is(err, ErrResource) {
		t.Fatalf("%s = %v; want an error saying %q (matching %v), not needs sign-in or a resource refusal", pc.name, err, says, is)
	}
	if n := len(w.tokenRequests("acct0")); n != 0 {
		t.Errorf("%s: provider requests = %d; want 0", pc.name, n)
	}
	if pc.own {
		return true
	}
	after := w.status("acct0")
	if after.State != before.State || after.Failures != before.Failures || after.LastError != nil || !after.NextDue.Equal(before.NextDue) {
		t.Errorf("after %s failed: state %s, failures %d, last error %+v, next due %v; want %s, %d, none, %v (the failure is the caller's)",
			pc.name, after.State, after.Failures, after.LastError, after.NextDue, before.State, before.Failures, before.NextDue)
	}
	return false
}

// TestRefreshPathsOnLockFailure: when the cross-process lock file cannot
// be taken, no path sends a request, and every caller gets an error naming
// the lock. The account's own refresh records it as a transient failure
// (the account backs off, so the scheduler does not spin on it); a
// per-resource or claims request leaves the account as it was.
func TestRefreshPathsOnLockFailure(t *testing.T) {
	for _, pc := range pathCalls {
		t.Run(pc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				notDir := filepath.Join(t.TempDir(), "file")
				if err := os.WriteFile(notDir, nil, 0o600); err != nil {
					t.Fatal(err)
				}
				w := newWorld(t, worldOpts{noRun: true, stored: storedNow, lockDir: filepath.Join(notDir, "locks")})
				w.sim.Consent(w.subject["acct0"], "api://reports")
				w.eng.Load(t.Context())
				if !pathFails(t, w, pc, "take lock file", nil) {
					return
				}
				st := w.status("acct0")
				if st.State != state.BackingOff || st.Failures != 1 || st.LastError == nil || st.LastError.Class != state.ClassTransient || !st.NextDue.After(time.Now()) {
					t.Errorf("after a lock failure of the account's own refresh: state %s, failures %d, last error %+v, next due %v; want backing_off, 1, transient, later",
						st.State, st.Failures, st.LastError, st.NextDue)
				}
			})
		})
	}
}

// failLoads makes Load fail with vault.ErrLocked while on.
type failLoads struct {
	store
	mu sync.Mutex
	on bool
}

func (f *failLoads) Load(ctx context.Context, account string) (vault.Envelope, error) {
	f.mu.Lock()
	on := f.on
	f.mu.Unlock()
	if on {
		return vault.Envelope{}, fmt.Errorf("load %q: %w", account, vault.ErrLocked)
	}
	return f.store.Load(ctx, account)
}

// TestRefreshPathsOnVaultReadFailure: when the vault cannot be re-read
// under the lock, no path sends a request, and every caller gets an error
// that says so. The account's own refresh records a storage failure (it
// backs off and says the keychain is locked); a per-resource or claims
// request leaves the account as it was.
func TestRefreshPathsOnVaultReadFailure(t *testing.T) {
	for _, pc := range pathCalls {
		t.Run(pc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var fl *failLoads
				w := newWorld(t, worldOpts{noRun: true, stored: storedNow, lockDir: t.TempDir(),
					store: func(m *vault.Memory) store { fl = &failLoads{store: m}; return fl }})
				w.sim.Consent(w.subject["acct0"], "api://reports")
				w.eng.Load(t.Context())
				fl.mu.Lock()
				fl.on = true
				fl.mu.Unlock()
				if !pathFails(t, w, pc, "read the vault", vault.ErrLocked) {
					return
				}
				st := w.status("acct0")
				if st.State != state.BackingOff || st.LastError == nil || st.LastError.Class != state.ClassStorage || !strings.Contains(st.LastError.Message, "locked") {
					t.Errorf("after a vault read failure of the account's own refresh: state %s, last error %+v; want backing_off with a storage error saying the keychain is locked",
						st.State, st.LastError)
				}
			})
		})
	}
}

// radarIdP is a provider that tells the refresh token's lifetime
// (refresh_expires_in): 30 min for a refresh of the account's own scopes
// (or with claims), 20 min for a per-resource one, which also rotates the
// refresh token.
type radarIdP struct {
	mu sync.Mutex
	n  int
}

func (p *radarIdP) Refresh(_ context.Context, prof oauth.Profile, rt, _ string) (oauth.Token, error) {
	p.mu.Lock()
	p.n++
	n := p.n
	p.mu.Unlock()
	now := time.Now()
	tok := oauth.Token{AccessToken: fmt.Sprintf("simAT-radar%d", n), RefreshToken: rt, Expiry: now.Add(time.Hour), Fresh: true,
		RefreshExpirySource: oauth.RefreshExpiresIn, RefreshExpiry: now.Add(30 * time.Minute), Scopes: prof.Scopes}
	if slices.ContainsFunc(prof.Scopes, func(s string) bool { return strings.HasPrefix(s, "api://") }) {
		tok.RefreshToken, tok.Rotated = fmt.Sprintf("simRT-radar%d", n), true
		tok.RefreshExpiry = now.Add(20 * time.Minute)
	}
	return tok, nil
}

// TestRefreshPathsRadarOnEveryGrant: every grant the engine receives
// teaches the expiry radar, whichever path asked for it: the account's own
// refresh, a claims request, a per-resource request (whose rotated refresh
// token becomes the account's), and the grant check after a narrower-scope
// rotation.
func TestRefreshPathsRadarOnEveryGrant(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mem := vault.NewMemory()
		for _, n := range []string{"ms", "oidc"} {
			if err := mem.Save(t.Context(), n, vault.Envelope{RefreshToken: "simRT-" + n}); err != nil {
				t.Fatal(err)
			}
		}
		ms := testProfile()
		oidc := oauth.Profile{Provider: oauth.ProviderOIDC, ClientID: testClient, Scopes: []string{"openid", "offline_access", "read"}, NarrowerScopes: true}
		eng, err := New(Options{Settings: config.Defaults(), Store: mem, Refresher: &radarIdP{},
			Accounts: []Account{{Name: "ms", Profile: ms}, {Name: "oidc", Profile: oidc}}, Logger: testLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		ctx := t.Context()
		radarAfter := func(name, what string, lifetime time.Duration) {
			t.Helper()
			now := time.Now().UTC()
			st, _ := eng.Snapshot().Account(name)
			wantRadar(t, name+" after "+what, st, &state.Radar{SignInBy: now.Add(lifetime), Source: state.RadarRefreshExpiresIn, Since: now})
		}
		for _, n := range []string{"ms", "oidc"} {
			if _, err := eng.RefreshNow(ctx, n); err != nil {
				t.Fatalf("RefreshNow(%s) = %v", n, err)
			}
			radarAfter(n, "its own refresh", 30*time.Minute)
		}
		time.Sleep(10 * time.Minute)
		if _, err := eng.TokenFor(ctx, "ms", TokenRequest{Claims: `{"access_token":{"nbf":{"essential":true,"value":"1"}}}`}); err != nil {
			t.Fatalf("TokenFor(ms, claims) = %v", err)
		}
		radarAfter("ms", "a claims request", 30*time.Minute)
		time.Sleep(10 * time.Minute)
		if _, err := eng.TokenFor(ctx, "ms", TokenRequest{Scopes: []string{"api://x/.default"}}); err != nil {
			t.Fatalf("TokenFor(ms, api://x/.default) = %v", err)
		}
		radarAfter("ms", "a per-resource request", 20*time.Minute)
		if _, err := eng.TokenFor(ctx, "oidc", TokenRequest{Scopes: []string{"api://y/read"}}); err != nil {
			t.Fatalf("TokenFor(oidc, api://y/read) = %v", err)
		}
		// The per-resource answer said 20 min; the grant check that followed
		// its rotation refreshed the account's own scopes: 30 min.
		radarAfter("oidc", "a per-resource request and its grant check", 30*time.Minute)
	})
}
