package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tokentray/tokentray/internal/config"
	"github.com/tokentray/tokentray/internal/idpsim"
	"github.com/tokentray/tokentray/internal/oauth"
	"github.com/tokentray/tokentray/internal/state"
	"github.com/tokentray/tokentray/internal/vault"
)

func TestConcurrentTokenCallersShareOneRefresh(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, worldOpts{noRun: true, stored: storedNow, lockDir: t.TempDir()})
		toks := concurrently(t, 10, "Token()", func() (string, error) {
			tok, err := w.eng.Token(t.Context(), "acct0", time.Minute)
			return tok.Token, err
		})
		if n := len(w.tokenRequests("acct0")); n != 1 {
			t.Errorf("requests for 10 concurrent Token calls = %d; want 1", n)
		}
		for _, tk := range toks {
			if tk != toks[0] || tk == "" {
				t.Fatalf("concurrent Token calls returned different tokens")
			}
		}
		// A token valid long enough is served without a request.
		if _, err := w.eng.Token(t.Context(), "acct0", 30*time.Minute); err != nil {
			t.Fatal(err)
		}
		if n := len(w.tokenRequests("acct0")); n != 1 {
			t.Errorf("requests after a Token call the held token satisfies = %d; want 1", n)
		}
	})
}

func TestConcurrentRefreshNowShareResult(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, worldOpts{noRun: true, stored: storedNow})
		w.sim.Inject(idpsim.Fault{Kind: idpsim.Delay, Delay: time.Second})
		res := concurrently(t, 5, "RefreshNow()", func() (state.Result, error) { return w.eng.RefreshNow(t.Context(), "acct0") })
		if n := len(w.tokenRequests("acct0")); n != 1 {
			t.Errorf("requests for 5 concurrent RefreshNow = %d; want 1", n)
		}
		for _, r := range res {
			if diff := cmp.Diff(res[0], r); diff != "" {
				t.Errorf("results differ (-first +other):\n%s", diff)
			}
		}
	})
}

func TestSubscribeLatestValue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, worldOpts{noRun: true, stored: storedNow})
		ctx, cancel := context.WithCancel(t.Context())
		ch := w.eng.Subscribe(ctx)
		first := <-ch
		if st, _ := first.Account("acct0"); st.State != state.SignedOut && st.State != state.OK {
			t.Fatalf("first snapshot state = %s", st.State)
		}
		// Nobody reads while several refreshes happen: the engine must not block.
		for range 3 {
			if _, err := w.eng.RefreshNow(t.Context(), "acct0"); err != nil {
				t.Fatal(err)
			}
		}
		s := <-ch
		if s.Counters.RefreshSuccessTotal != 3 {
			t.Errorf("latest snapshot counts %d successes; want 3", s.Counters.RefreshSuccessTotal)
		}
		select {
		case s := <-ch:
			t.Errorf("a second, stale snapshot was queued: %+v", s.Counters)
		default:
		}
		cancel()
		synctest.Wait()
		if _, ok := <-ch; ok {
			t.Errorf("channel still open after ctx ended")
		}
	})
}

func TestRefreshDisabledMeansManualOnly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, worldOpts{settings: func(s *config.Settings) { s.Refresh.Enabled = false }})
		time.Sleep(24 * time.Hour)
		if n := len(w.tokenRequests("acct0")); n != 0 {
			t.Fatalf("automatic refreshes with refresh.enabled=false = %d; want 0", n)
		}
		if st := w.status("acct0"); !st.NextDue.IsZero() {
			t.Errorf("next due = %v; want none", st.NextDue)
		}
		if _, err := w.eng.RefreshNow(t.Context(), "acct0"); err != nil {
			t.Fatalf("RefreshNow with refresh disabled = %v; want it to work", err)
		}
	})
}

func TestSignInImportSignOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, worldOpts{sim: idpsim.Options{AutoApproveDevice: 1}})
		synctest.Wait()
		if err := w.eng.SignOut(t.Context(), "acct0"); err != nil {
			t.Fatalf("SignOut() = %v", err)
		}
		if st := w.status("acct0"); st.State != state.SignedOut {
			t.Fatalf("after SignOut: state %s; want signed_out", st.State)
		}
		if _, err := w.mem.Load(t.Context(), "acct0"); !errors.Is(err, vault.ErrNotFound) {
			t.Errorf("after SignOut the vault still has the envelope (err %v)", err)
		}
		if _, err := w.eng.Token(t.Context(), "acct0", 0); !errors.Is(err, ErrSignedOut) {
			t.Errorf("Token() when signed out = %v; want ErrSignedOut", err)
		}
		var shown []oauth.DeviceCode
		res, err := w.eng.SignIn(t.Context(), "acct0", SignInMethod{Device: true, Show: func(c oauth.DeviceCode) { shown = append(shown, c) }})
		if err != nil || !res.Saved {
			t.Fatalf("SignIn(device) = %+v, %v", res, err)
		}
		st := w.status("acct0")
		if st.State != state.OK || len(shown) != 1 || st.SignedInAs.Username == "" {
			t.Errorf("after SignIn: state %s, codes shown %d, signed in as %+v", st.State, len(shown), st.SignedInAs)
		}
		if _, err := w.eng.Import(t.Context(), "acct0", "simRT-not-a-real-token"); err == nil {
			t.Errorf("Import(bogus) = nil; want an error")
		}
		if st := w.status("acct0"); st.State != state.OK {
			t.Errorf("a failed import changed the state to %s", st.State)
		}
		rt := w.sim.Grant(testClient, "other@idpsim.test", testScopes)
		if _, err := w.eng.Import(t.Context(), "acct0", rt); err != nil {
			t.Fatalf("Import() = %v", err)
		}
		if got := w.storedRT("acct0"); got != w.newestRT() {
			t.Errorf("after Import the vault does not hold the newest refresh token")
		}
		if _, err := w.eng.Token(t.Context(), "nope", 0); !errors.Is(err, ErrUnknownAccount) {
			t.Errorf("Token(unknown) = %v; want ErrUnknownAccount", err)
		}
	})
}

// TestNoTokenEscapes scans logs, errors, snapshots (JSON) and the state file
// of a busy run for any token the simulator issued (invariant 4).
func TestNoTokenEscapes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var logs bytes.Buffer
		var mu sync.Mutex
		statePath := t.TempDir() + "/state.json"
		var saves *failNextSaves
		w := newWorld(t, worldOpts{noRun: true, statePath: statePath, accounts: 2,
			store: func(m *vault.Memory) store { saves = &failNextSaves{store: m}; return saves }})
		lw := lockedWriter{mu: &mu, w: &logs}
		eng := w.newEng()
		eng.log = slog.New(slog.NewJSONHandler(lw, &slog.HandlerOptions{Level: slog.LevelDebug}))
		w.eng = eng
		w.sim.Inject(idpsim.Fault{Kind: idpsim.ServerError500})
		w.start()
		var errs []string
		time.Sleep(5 * time.Minute)
		saves.set(2)
		for _, f := range []idpsim.Fault{{Kind: idpsim.InvalidGrant}, {Kind: idpsim.Throttle429, RetryAfter: time.Minute}, {Kind: idpsim.MalformedJSON}} {
			w.sim.Inject(f)
			if _, err := w.eng.RefreshNow(t.Context(), "acct1"); err != nil {
				errs = append(errs, err.Error())
			}
			time.Sleep(2 * time.Minute)
		}
		if _, err := w.eng.RefreshNow(t.Context(), "acct0"); err != nil {
			errs = append(errs, err.Error())
		}
		time.Sleep(2 * time.Hour)
		w.stop()
		snap, _ := json.Marshal(w.eng.Snapshot())
		state, err := os.ReadFile(statePath)
		if err != nil {
			t.Fatal(err)
		}
		tok, _ := w.eng.Token(t.Context(), "acct0", 0)
		mu.Lock()
		haystacks := map[string]string{"logs": logs.String(), "errors": strings.Join(errs, "\n"), "snapshot": string(snap), "state file": string(state), "AccessToken.String": tok.String()}
		mu.Unlock()
		issued := w.sim.Issued()
		if len(issued) < 5 {
			t.Fatalf("only %d tokens issued; the scenario did not run", len(issued))
		}
		for where, text := range haystacks {
			for _, secret := range issued {
				if strings.Contains(text, secret) {
					t.Errorf("a token the simulator issued appears in the %s", where)
					break
				}
			}
		}
		if !strings.Contains(logs.String(), `"msg":"refresh"`) || !strings.Contains(logs.String(), `"expires_in"`) {
			t.Errorf("logs have no refresh line with expires_in:\n%s", logs.String())
		}
	})
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestSnapshotJSONIsSnakeCase(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, worldOpts{})
		synctest.Wait()
		b, err := json.Marshal(w.eng.Snapshot())
		if err != nil {
			t.Fatal(err)
		}
		for _, key := range []string{`"refresh_success_total":1`, `"refresh_failed_total":{}`, `"refresh_skipped_total":0`,
			`"state":"ok"`, `"last_success":`, `"next_due":`, `"access_expiry":`, `"storage":{"kind":"memory","degraded":false}`, `"history":[{`} {
			if !bytes.Contains(b, []byte(key)) {
				t.Errorf("snapshot JSON lacks %s:\n%s", key, b)
			}
		}
	})
}

func TestNewRejectsBadOptions(t *testing.T) {
	ok := Options{Settings: config.Defaults(), Store: vault.NewMemory(), Refresher: &oauth.Client{}, Rand: rand.New(rand.NewPCG(1, 1))}
	tests := []struct {
		name string
		edit func(*Options)
	}{
		{"no store", func(o *Options) { o.Store = nil }},
		{"no refresher", func(o *Options) { o.Refresher = nil }},
		{"zero settings", func(o *Options) { o.Settings = config.Settings{} }},
		{"duplicate account", func(o *Options) { o.Accounts = []Account{{Name: "a"}, {Name: "a"}} }},
		{"unnamed account", func(o *Options) { o.Accounts = []Account{{}} }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := ok
			tc.edit(&o)
			if _, err := New(o); err == nil {
				t.Errorf("New(%s) = nil error; want one", tc.name)
			}
		})
	}
	if _, err := New(ok); err != nil {
		t.Errorf("New(valid) = %v", err)
	}
}

func TestLockName(t *testing.T) {
	tests := map[string]string{
		"work":      "work.lock",
		"my-acct_2": "my-acct_2.lock",
		"../etc":    "~2e2e2f657463.lock",
		".hidden":   "~2e68696464656e.lock",
		"a b":       "~612062.lock",
	}
	for in, want := range tests {
		if got := lockName(in); got != want {
			t.Errorf("lockName(%q) = %q; want %q", in, got, want)
		}
	}
}

// lockedThenOpen fails the first n Loads with vault.ErrLocked.
type lockedThenOpen struct {
	store
	mu sync.Mutex
	n  int
}

func (l *lockedThenOpen) Load(ctx context.Context, account string) (vault.Envelope, error) {
	l.mu.Lock()
	fail := l.n > 0
	if fail {
		l.n--
	}
	l.mu.Unlock()
	if fail {
		return vault.Envelope{}, vault.ErrLocked
	}
	return l.store.Load(ctx, account)
}

func TestLockedKeychainAtStartRecovers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, worldOpts{store: func(m *vault.Memory) store { return &lockedThenOpen{store: m, n: 2} }})
		synctest.Wait()
		st := w.status("acct0")
		if st.State != state.BackingOff || st.LastError == nil || st.LastError.Class != state.ClassStorage || !strings.Contains(st.LastError.Message, "locked") {
			t.Fatalf("with a locked keychain at start: state %s, error %+v; want backing_off, storage, locked", st.State, st.LastError)
		}
		time.Sleep(5 * time.Minute)
		if st := w.status("acct0"); st.State != state.OK || len(w.tokenRequests("acct0")) != 1 {
			t.Errorf("after unlock: state %s, %d requests; want ok, 1", st.State, len(w.tokenRequests("acct0")))
		}
	})
}

func TestTokenNeedsSignInSendsNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, worldOpts{noRun: true})
		w.sim.Inject(idpsim.Fault{Kind: idpsim.InvalidGrant})
		w.start()
		synctest.Wait()
		if _, err := w.eng.Token(t.Context(), "acct0", time.Minute); err == nil || !strings.Contains(err.Error(), "needs sign-in") {
			t.Errorf("Token() of an account that needs sign-in = %v; want a needs sign-in error", err)
		}
		if n := len(w.tokenRequests("acct0")); n != 1 {
			t.Errorf("requests = %d; want 1", n)
		}
	})
}

func TestRunTwiceIsRefused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, worldOpts{})
		synctest.Wait()
		if err := w.eng.Run(t.Context()); err == nil {
			t.Errorf("a second concurrent Run() = nil; want an error")
		}
	})
}

// TestOtherProcessRefreshSkipsScheduled runs a second engine (another
// process, as the CLI is) on the same vault and lock dir: its refresh makes
// the first engine's scheduled refresh unnecessary.
func TestOtherProcessRefreshSkipsScheduled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, worldOpts{lockDir: t.TempDir()}) // access tokens live 1 h: due after 55 min
		time.Sleep(50 * time.Minute)
		other := w.newEng()
		if _, err := other.RefreshNow(t.Context(), "acct0"); err != nil {
			t.Fatalf("other process RefreshNow() = %v", err)
		}
		time.Sleep(10 * time.Minute) // the first engine's due time passes
		if n := len(w.tokenRequests("acct0")); n != 2 {
			t.Fatalf("requests = %d; want 2 (initial + other process); the scheduled one must be skipped", n)
		}
		s := w.eng.Snapshot()
		if s.Counters.RefreshSkippedTotal != 1 {
			t.Errorf("refresh_skipped_total = %d; want 1", s.Counters.RefreshSkippedTotal)
		}
		st, _ := s.Account("acct0")
		if want := st.LastSuccess.Add(55 * time.Minute); st.NextDue.Before(want) {
			t.Errorf("next due %v; want ≥ %v (from the other process's refresh)", st.NextDue, want)
		}
		time.Sleep(50 * time.Minute)
		w.stop()
		if n := len(w.tokenRequests("acct0")); n != 3 {
			t.Errorf("requests after the next due time = %d; want 3", n)
		}
	})
}
