package engine

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tokentray/tokentray/internal/config"
	"github.com/tokentray/tokentray/internal/idpsim"
	"github.com/tokentray/tokentray/internal/oauth"
	"github.com/tokentray/tokentray/internal/state"
	"github.com/tokentray/tokentray/internal/vault"
)

// grantStored gives name a grant at the simulator and stores env with its
// refresh token in the world's vault, as a sign-in by another process would.
func (w *world) grantStored(name string, env vault.Envelope) {
	w.t.Helper()
	sub := name + "@idpsim.test"
	env.RefreshToken = w.sim.Grant(testClient, sub, testScopes)
	if err := w.mem.Save(context.Background(), name, env); err != nil {
		w.t.Fatalf("Save(%q) = %v", name, err)
	}
	w.subject[name] = sub
}

// names lists the accounts of a snapshot in order.
func names(s state.Snapshot) []string {
	var out []string
	for _, a := range s.Accounts {
		out = append(out, a.Name)
	}
	return out
}

// stateNames lists the accounts in the state file, sorted.
func stateNames(t *testing.T, path string) []string {
	t.Helper()
	var out []string
	for n := range readStateFile(t, path).Accounts {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

func TestAddAccountWhileRunningIsScheduled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, worldOpts{stored: storedNow})
		synctest.Wait()
		ch := w.eng.Subscribe(t.Context())
		<-ch
		w.grantStored("late", vault.Envelope{}) // never refreshed: due at once
		if err := w.eng.AddAccount(t.Context(), Account{Name: "late", Profile: testProfile()}); err != nil {
			t.Fatalf("AddAccount() = %v", err)
		}
		if got := names(<-ch); !slices.Equal(got, []string{"acct0", "late"}) {
			t.Errorf("published snapshot after AddAccount has accounts %v; want [acct0 late]", got)
		}
		synctest.Wait() // no time passes: Run must have been woken
		if n := len(w.tokenRequests("late")); n != 1 {
			t.Fatalf("requests for an account added while Run runs = %d; want 1 at once", n)
		}
		st := w.status("late")
		if st.State != state.OK || st.NextDue.IsZero() {
			t.Fatalf("added account: state %s, next due %v; want ok and scheduled", st.State, st.NextDue)
		}
		time.Sleep(time.Until(st.NextDue) - time.Second)
		if n := len(w.tokenRequests("late")); n != 1 {
			t.Fatalf("requests before the next due time = %d; want 1", n)
		}
		time.Sleep(2 * time.Second)
		if n := len(w.tokenRequests("late")); n != 2 {
			t.Errorf("requests after the next due time = %d; want 2", n)
		}
	})
}

func TestAddAccountSignedInElsewhere(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, worldOpts{noRun: true, stored: storedNow})
		now := time.Now().Round(0)
		w.grantStored("other", vault.Envelope{AccessToken: "at", Expiry: now.Add(time.Hour), ObtainedAt: now,
			Claims: vault.Claims{PreferredUsername: "other@idpsim.test", Subject: "sub-other"}})
		if err := w.eng.AddAccount(t.Context(), Account{Name: "other", Profile: testProfile()}); err != nil {
			t.Fatalf("AddAccount() = %v", err)
		}
		st := w.status("other")
		if st.State != state.OK || st.SignedInAs.Username != "other@idpsim.test" || !st.AccessExpiry.Equal(now.Add(time.Hour)) {
			t.Errorf("account signed in by another process: state %s, as %+v, expiry %v; want ok, other@idpsim.test, %v",
				st.State, st.SignedInAs, st.AccessExpiry, now.Add(time.Hour))
		}
		if err := w.eng.AddAccount(t.Context(), Account{Name: "never", Profile: testProfile()}); err != nil {
			t.Fatalf("AddAccount(no envelope) = %v", err)
		}
		if st := w.status("never"); st.State != state.SignedOut {
			t.Errorf("account without an envelope: state %s; want signed_out", st.State)
		}
		if got := names(w.eng.Snapshot()); !slices.Equal(got, []string{"acct0", "other", "never"}) {
			t.Errorf("snapshot order = %v; want insertion order [acct0 other never]", got)
		}
	})
}

func TestAddAccountRefusesBadNames(t *testing.T) {
	w := newWorld(t, worldOpts{noRun: true})
	if err := w.eng.AddAccount(t.Context(), Account{Name: "acct0"}); !errors.Is(err, ErrAccountExists) {
		t.Errorf("AddAccount(existing) = %v; want ErrAccountExists", err)
	}
	if err := w.eng.AddAccount(t.Context(), Account{}); err == nil {
		t.Errorf("AddAccount(no name) = nil; want an error")
	}
	if got := names(w.eng.Snapshot()); !slices.Equal(got, []string{"acct0"}) {
		t.Errorf("after refused adds the accounts are %v; want [acct0]", got)
	}
}

// TestAddAccountRestoresState: an account added to a new engine takes its
// entry of the state file (here: needs sign-in), as New does.
func TestAddAccountRestoresState(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		statePath := t.TempDir() + "/state.json"
		w := newWorld(t, worldOpts{noRun: true, statePath: statePath})
		w.sim.Inject(idpsim.Fault{Kind: idpsim.InvalidGrant})
		if _, err := w.eng.RefreshNow(t.Context(), "acct0"); err == nil {
			t.Fatal("RefreshNow() with invalid_grant = nil")
		}
		eng, err := New(Options{Settings: config.Defaults(), Store: w.store, Refresher: &oauth.Client{HTTP: w.sim.Client()},
			StatePath: statePath, Logger: testLogger(t), Rand: rand.New(rand.NewPCG(1, 2))})
		if err != nil {
			t.Fatal(err)
		}
		if err := eng.AddAccount(t.Context(), Account{Name: "acct0", Profile: testProfile()}); err != nil {
			t.Fatalf("AddAccount() = %v", err)
		}
		if st, _ := eng.Snapshot().Account("acct0"); st.State != state.NeedsSignIn || st.Reason == "" {
			t.Errorf("added account with a needs-sign-in entry in the state file: state %s, reason %q; want needs_signin with a reason", st.State, st.Reason)
		}
	})
}

func TestRemoveAccountWaitsForRefreshAndStaysGone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		statePath := t.TempDir() + "/state.json"
		w := newWorld(t, worldOpts{accounts: 2, stored: storedNow, statePath: statePath, lockDir: t.TempDir()})
		synctest.Wait()
		w.sim.Inject(idpsim.Fault{Kind: idpsim.Delay, Delay: 10 * time.Second})
		refreshed := make(chan time.Time, 1)
		go func() {
			if _, err := w.eng.RefreshNow(context.Background(), "acct0"); err != nil {
				t.Errorf("RefreshNow() during removal = %v; want it to finish", err)
			}
			refreshed <- time.Now()
		}()
		synctest.Wait() // the refresh waits for the provider
		// A Token call queued behind the refresh: it either gets the flight
		// before the removal or is refused; it must not bring the account back.
		tokenErr := make(chan error, 1)
		go func() {
			_, err := w.eng.Token(context.Background(), "acct0", 2*time.Hour)
			tokenErr <- err
		}()
		synctest.Wait()
		start := time.Now()
		if err := w.eng.RemoveAccount(t.Context(), "acct0"); err != nil {
			t.Fatalf("RemoveAccount() = %v", err)
		}
		if at := <-refreshed; time.Now().Before(at) || time.Since(start) < 10*time.Second {
			t.Errorf("RemoveAccount returned %v after it started; want after the running refresh (10 s)", time.Since(start))
		}
		if err := <-tokenErr; err != nil && !errors.Is(err, ErrUnknownAccount) {
			t.Errorf("queued Token() = %v; want a token or ErrUnknownAccount", err)
		}
		synctest.Wait()
		if got := names(w.eng.Snapshot()); !slices.Equal(got, []string{"acct1"}) {
			t.Errorf("snapshot after RemoveAccount has %v; want [acct1]", got)
		}
		if got := stateNames(t, statePath); !slices.Equal(got, []string{"acct1"}) {
			t.Errorf("state file after RemoveAccount has %v; want [acct1]", got)
		}
		before := len(w.tokenRequests("acct0"))
		time.Sleep(3 * time.Hour)
		if n := len(w.tokenRequests("acct0")) - before; n != 0 {
			t.Errorf("requests for a removed account in 3 h = %d; want 0", n)
		}
		if got := names(w.eng.Snapshot()); !slices.Equal(got, []string{"acct1"}) {
			t.Errorf("snapshot 3 h after RemoveAccount has %v; want [acct1]", got)
		}
		if got := stateNames(t, statePath); !slices.Equal(got, []string{"acct1"}) {
			t.Errorf("state file 3 h after RemoveAccount has %v; want [acct1]", got)
		}
		if _, err := w.mem.Load(t.Context(), "acct0"); err != nil {
			t.Errorf("RemoveAccount deleted the secrets (Load = %v); it must leave them", err)
		}
		calls := map[string]func() error{
			"Token":      func() error { _, err := w.eng.Token(t.Context(), "acct0", 0); return err },
			"RefreshNow": func() error { _, err := w.eng.RefreshNow(t.Context(), "acct0"); return err },
			"SignOut":    func() error { return w.eng.SignOut(t.Context(), "acct0") },
			"Import":     func() error { _, err := w.eng.Import(t.Context(), "acct0", "x"); return err },
			"Remove":     func() error { return w.eng.RemoveAccount(t.Context(), "acct0") },
		}
		for name, call := range calls {
			if err := call(); !errors.Is(err, ErrUnknownAccount) {
				t.Errorf("%s(removed account) = %v; want ErrUnknownAccount", name, err)
			}
		}
	})
}

func TestRemoveAccountGivesUpWithCtx(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, worldOpts{noRun: true, stored: storedNow})
		w.sim.Inject(idpsim.Fault{Kind: idpsim.Delay, Delay: time.Minute})
		go func() { _, _ = w.eng.RefreshNow(context.Background(), "acct0") }()
		synctest.Wait()
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		if err := w.eng.RemoveAccount(ctx, "acct0"); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("RemoveAccount() with a refresh outlasting ctx = %v; want DeadlineExceeded", err)
		}
		synctest.Wait()
		if _, ok := w.eng.Snapshot().Account("acct0"); !ok {
			t.Errorf("a RemoveAccount that gave up removed the account anyway")
		}
		time.Sleep(time.Minute)
		if err := w.eng.RemoveAccount(t.Context(), "acct0"); err != nil {
			t.Errorf("RemoveAccount() once the refresh ended = %v", err)
		}
	})
}

func TestRemoveCancelsWaitingSignIn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, worldOpts{noRun: true, stored: storedNow}) // device codes are never approved
		errc := make(chan error, 1)
		go func() {
			_, err := w.eng.SignIn(context.Background(), "acct0", SignInMethod{Device: true})
			errc <- err
		}()
		synctest.Wait()
		if err := w.eng.RemoveAccount(t.Context(), "acct0"); err != nil {
			t.Fatalf("RemoveAccount() during a sign-in = %v", err)
		}
		if err := <-errc; !errors.Is(err, ErrUnknownAccount) {
			t.Errorf("SignIn() of an account removed meanwhile = %v; want ErrUnknownAccount", err)
		}
	})
}

func TestRemoveThenAddAgain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		statePath := t.TempDir() + "/state.json"
		w := newWorld(t, worldOpts{statePath: statePath}) // refreshed at once by Run
		synctest.Wait()
		if err := w.eng.RemoveAccount(t.Context(), "acct0"); err != nil {
			t.Fatalf("RemoveAccount() = %v", err)
		}
		if err := w.eng.AddAccount(t.Context(), Account{Name: "acct0", Profile: testProfile()}); err != nil {
			t.Fatalf("AddAccount() after RemoveAccount = %v", err)
		}
		synctest.Wait()
		st := w.status("acct0")
		if st.State != state.OK || st.NextDue.IsZero() || st.SignedInAs.Username == "" {
			t.Fatalf("re-added account: state %s, next due %v, as %+v; want ok, scheduled, signed in", st.State, st.NextDue, st.SignedInAs)
		}
		if n := len(w.tokenRequests("acct0")); n != 1 {
			t.Errorf("requests after re-adding a freshly refreshed account = %d; want still 1", n)
		}
		time.Sleep(3 * time.Hour)
		w.stop()
		reqs := w.tokenRequests("acct0")
		// One schedule entry only: 55 min apart (expiry − lookahead), never doubled.
		if len(reqs) != 4 {
			t.Errorf("requests in 3 h after remove + add = %d; want 4 (one schedule)", len(reqs))
		}
		for i := 1; i < len(reqs); i++ {
			if gap := reqs[i].Time.Sub(reqs[i-1].Time); gap < 50*time.Minute {
				t.Errorf("refreshes %d and %d are %v apart; want one schedule (≥ 50 min)", i, i+1, gap)
			}
		}
		if got := stateNames(t, statePath); !slices.Equal(got, []string{"acct0"}) {
			t.Errorf("state file has %v; want [acct0]", got)
		}
	})
}

// TestAccountSetChangesUnderLoad adds and removes accounts while Run, manual
// refreshes, Token calls and snapshot readers run (run it with -race).
func TestAccountSetChangesUnderLoad(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		statePath := t.TempDir() + "/state.json"
		w := newWorld(t, worldOpts{accounts: 2, statePath: statePath, lockDir: t.TempDir()})
		const dyn = 6
		for i := range dyn {
			w.grantStored(fmt.Sprintf("dyn%d", i), vault.Envelope{})
		}
		ctx := t.Context()
		var wg sync.WaitGroup
		for g := range dyn {
			name := fmt.Sprintf("dyn%d", g)
			wg.Go(func() {
				for i := range 20 {
					if err := w.eng.AddAccount(ctx, Account{Name: name, Profile: testProfile()}); err != nil {
						t.Errorf("AddAccount(%s) = %v", name, err)
					}
					time.Sleep(time.Duration(i%3) * time.Second)
					if err := w.eng.RemoveAccount(ctx, name); err != nil {
						t.Errorf("RemoveAccount(%s) = %v", name, err)
					}
				}
				if g%2 == 0 { // half of them stay
					if err := w.eng.AddAccount(ctx, Account{Name: name, Profile: testProfile()}); err != nil {
						t.Errorf("AddAccount(%s) = %v", name, err)
					}
				}
			})
			wg.Go(func() {
				for i := range 40 {
					var err error
					switch i % 3 {
					case 0:
						_, err = w.eng.RefreshNow(ctx, name)
					case 1:
						_, err = w.eng.Token(ctx, name, 2*time.Hour)
					case 2:
						_, err = w.eng.TokenFor(ctx, name, TokenRequest{Scopes: []string{"User.Read"}, MinValid: 2 * time.Hour})
					}
					var r *state.Refused
					if err != nil && !errors.Is(err, ErrUnknownAccount) && !errors.As(err, &r) {
						t.Errorf("call %d for %s = %v; want success, ErrUnknownAccount or refused", i, name, err)
					}
					_ = w.eng.Snapshot()
					time.Sleep(time.Second)
				}
			})
		}
		wg.Wait()
		time.Sleep(2 * time.Hour)
		w.stop()
		want := []string{"acct0", "acct1", "dyn0", "dyn2", "dyn4"}
		got := names(w.eng.Snapshot())
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("accounts after the churn = %v; want %v", got, want)
		}
		if got := stateNames(t, statePath); !slices.Equal(got, want) {
			t.Errorf("state file after the churn has %v; want %v", got, want)
		}
		for _, st := range w.eng.Snapshot().Accounts {
			if st.State != state.OK || st.NextDue.IsZero() {
				t.Errorf("account %s after the churn: state %s, next due %v; want ok and scheduled", st.Name, st.State, st.NextDue)
			}
		}
		for _, n := range []string{"dyn1", "dyn3", "dyn5"} {
			reqs := w.tokenRequests(n)
			if len(reqs) > 0 && time.Since(reqs[len(reqs)-1].Time) < 2*time.Hour {
				t.Errorf("removed account %s was refreshed %v after the churn ended", n, time.Since(reqs[len(reqs)-1].Time))
			}
		}
	})
}

// TestFlightOfRemovedAccountIsRefused: a caller that looked the account up
// before RemoveAccount and gets its flight afterwards sends nothing and
// stores nothing.
func TestFlightOfRemovedAccountIsRefused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, worldOpts{noRun: true, stored: storedNow})
		a, err := w.eng.account("acct0")
		if err != nil {
			t.Fatal(err)
		}
		if err := w.eng.SignOut(t.Context(), "acct0"); err != nil {
			t.Fatal(err)
		}
		if err := w.eng.RemoveAccount(t.Context(), "acct0"); err != nil {
			t.Fatal(err)
		}
		for _, m := range []mode{modeAuto, modeManual, modeToken} {
			if _, err := w.eng.run(t.Context(), a, job{mode: m, minValid: time.Hour}); !errors.Is(err, ErrUnknownAccount) {
				t.Errorf("%s refresh of a removed account = %v; want ErrUnknownAccount", m, err)
			}
		}
		if err := w.eng.retrySave(t.Context(), a); !errors.Is(err, ErrUnknownAccount) {
			t.Errorf("save retry of a removed account = %v; want ErrUnknownAccount", err)
		}
		if err := w.eng.acquire(t.Context(), a, true); !errors.Is(err, ErrUnknownAccount) {
			t.Errorf("acquire(removed account) = %v; want ErrUnknownAccount (a queued sign-in would store its pair)", err)
		}
		if n := len(w.tokenRequests("acct0")); n != 0 {
			t.Errorf("requests for a removed account = %d; want 0", n)
		}
		if _, err := w.mem.Load(t.Context(), "acct0"); !errors.Is(err, vault.ErrNotFound) {
			t.Errorf("vault after sign-out and removal: Load = %v; want ErrNotFound", err)
		}
	})
}
