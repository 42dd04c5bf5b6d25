package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tokentray/tokentray/internal/idpsim"
	"github.com/tokentray/tokentray/internal/oauth"
	"github.com/tokentray/tokentray/internal/state"
	"github.com/tokentray/tokentray/internal/vault"
)

// writeState writes a state file with one entry for acct0.
func writeState(t *testing.T, path string, s stateAccount) {
	t.Helper()
	b, err := json.Marshal(stateFile{Version: stateVersion, Accounts: map[string]stateAccount{"acct0": s}})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestFutureTimesFromStateAreClamped: a state file written before the clock
// was stepped back 3 h must not push the next refresh 3 h out.
func TestFutureTimesFromStateAreClamped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "state.json")
		now := time.Now()
		future := now.Add(3 * time.Hour)
		writeState(t, path, stateAccount{SignedIn: true, State: state.OK, LastAttempt: future, LastSuccess: future})
		w := newWorld(t, worldOpts{noRun: true, statePath: path, sim: idpsim2h(),
			stored: func(time.Time) vault.Envelope { return vault.Envelope{ObtainedAt: now.Add(-10 * time.Minute)} }})
		w.eng.Load(t.Context())
		st := w.status("acct0")
		if st.LastSuccess.After(now) || st.LastAttempt.After(now) {
			t.Errorf("last success %v, last attempt %v; want neither after now %v", st.LastSuccess, st.LastAttempt, now)
		}
		if latest := now.Add(time.Hour + 20*time.Second); st.NextDue.After(latest) {
			t.Errorf("next due %v; want by now + interval + jitter = %v", st.NextDue, latest)
		}
	})
}

// TestFutureObtainedAtIsNotTrusted: an envelope obtained "in the future"
// (the clock went back since) holds an access token of unknown age: Token
// refreshes instead of serving it, and the schedule is not pushed out.
func TestFutureObtainedAtIsNotTrusted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		now := time.Now()
		w := newWorld(t, worldOpts{noRun: true, sim: idpsim2h(), stored: func(time.Time) vault.Envelope {
			return vault.Envelope{AccessToken: "at-from-before-the-step", TokenType: "Bearer",
				ObtainedAt: now.Add(2 * time.Hour), Expiry: now.Add(3 * time.Hour)}
		}})
		w.eng.Load(t.Context())
		if st := w.status("acct0"); st.LastSuccess.After(now) || st.NextDue.After(now.Add(time.Hour+20*time.Second)) {
			t.Errorf("last success %v, next due %v; want clamped to now %v", st.LastSuccess, st.NextDue, now)
		}
		tok, err := w.eng.Token(t.Context(), "acct0", time.Minute)
		if err != nil {
			t.Fatalf("Token() = %v", err)
		}
		if tok.Token == "at-from-before-the-step" || len(w.tokenRequests("acct0")) != 1 {
			t.Errorf("Token() served the access token of unknown age (%d requests); want one refresh", len(w.tokenRequests("acct0")))
		}
	})
}

// TestClockSteppedBackWhileRunning: the wall clock goes back 2 h, 10 min
// after a refresh. The next refresh still comes an interval after the last
// one, not 2 h later.
func TestClockSteppedBackWhileRunning(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, worldOpts{noRun: true, sim: idpsim2h()})
		var skew atomic.Int64
		w.eng.wall = func() time.Time { return time.Now().Add(time.Duration(skew.Load())).Round(0) }
		w.start()
		synctest.Wait()
		if n := len(w.tokenRequests("acct0")); n != 1 {
			t.Fatalf("requests at start = %d; want 1", n)
		}
		time.Sleep(10 * time.Minute)
		skew.Store(int64(-2 * time.Hour))
		time.Sleep(90 * time.Minute)
		w.stop()
		reqs := w.tokenRequests("acct0")
		if len(reqs) < 2 {
			t.Fatalf("requests 100 min after the first = %d; want the interval refresh (1 h) too", len(reqs))
		}
		if gap := reqs[1].Time.Sub(reqs[0].Time); gap > time.Hour+21*time.Second+time.Minute {
			t.Errorf("second refresh came %v after the first; want about 1 h (+ jitter)", gap)
		}
	})
}

// idpsim2h is a simulator whose access tokens live 2 h, so the interval (1 h)
// decides the schedule.
func idpsim2h() idpsim.Options { return idpsim.Options{AccessTTL: 2 * time.Hour} }

// providerAhead answers every refresh with a new 1 h access token and a Date
// header 40 min ahead of the local clock.
type providerAhead struct{ n atomic.Int64 }

func (p *providerAhead) Refresh(_ context.Context, _ oauth.Profile, rt, _ string) (oauth.Token, error) {
	n := p.n.Add(1)
	return oauth.Token{AccessToken: fmt.Sprintf("at-%d", n), RefreshToken: rt, TokenType: "Bearer",
		Expiry: time.Now().Add(time.Hour), Fresh: true, ClockOffset: 40 * time.Minute}, nil
}

// TestProviderClockAheadJudgesOlderTokens: once a token response shows the
// local clock 40 min behind the provider's, an access token obtained before
// (its expiry maybe from a clock that was right) is judged by the provider's
// clock, and one obtained after by the local one (no refresh loop).
func TestProviderClockAheadJudgesOlderTokens(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		now := time.Now()
		mem := vault.NewMemory()
		prov := &providerAhead{}
		_ = mem.Save(t.Context(), "other", vault.Envelope{RefreshToken: "rt-other"})
		eng := newFakeEngine(t, mem, prov, vault.Envelope{RefreshToken: "rt-work", AccessToken: "at-old", TokenType: "Bearer",
			ObtainedAt: now.Add(-30 * time.Minute), Expiry: now.Add(30 * time.Minute)},
			func(o *Options) { o.Accounts = append(o.Accounts, Account{Name: "other", Profile: testProfile()}) })
		if _, err := eng.Token(t.Context(), "other", time.Minute); err != nil {
			t.Fatalf("Token(other) = %v", err)
		}
		time.Sleep(time.Second)
		tok, err := eng.Token(t.Context(), "work", 5*time.Minute)
		if err != nil || tok.Token == "at-old" {
			t.Fatalf("Token(work) = %v, %v; want a refresh: by the provider's clock at-old expired 10 min ago", tok, err)
		}
		for range 3 {
			if again, err := eng.Token(t.Context(), "work", 5*time.Minute); err != nil || again.Token != tok.Token {
				t.Fatalf("Token(work) again = %v, %v; want the token just obtained", again, err)
			}
		}
		if n := prov.n.Load(); n != 2 {
			t.Errorf("refreshes = %d; want 2 (one per account)", n)
		}
	})
}
