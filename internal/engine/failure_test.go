package engine

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tokentray/tokentray/internal/config"
	"github.com/tokentray/tokentray/internal/idpsim"
	"github.com/tokentray/tokentray/internal/state"
	"github.com/tokentray/tokentray/internal/vault"
)

func TestBackoffSequenceAgainstSimulator(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, worldOpts{noRun: true})
		w.sim.Inject(idpsim.Fault{Kind: idpsim.ServerError500, Count: 6})
		w.start()
		time.Sleep(90 * time.Minute) // 63 min of backoff (± 20 %), then the next refresh is 55 min away
		w.stop()
		reqs := w.tokenRequests("acct0")
		if len(reqs) != 7 {
			t.Fatalf("token requests = %d; want 6 failures and 1 success", len(reqs))
		}
		for i := 1; i < len(reqs); i++ {
			base := time.Minute << (i - 1)
			gap := reqs[i].Time.Sub(reqs[i-1].Time)
			lo, hi := base*8/10, base*12/10
			if gap < lo || gap > hi {
				t.Errorf("retry %d came %v after failure %d; want backoff %v ± 20 %% = [%v, %v]", i, gap, i, base, lo, hi)
			}
		}
		st := w.status("acct0")
		if st.State != state.OK || st.Failures != 0 || st.LastError != nil {
			t.Errorf("after recovery: state %s, failures %d, last error %v; want ok, 0, nil", st.State, st.Failures, st.LastError)
		}
		if got := w.eng.Snapshot().Counters.RefreshFailedTotal[state.ClassTransient]; got != 6 {
			t.Errorf("refresh_failed_total[transient] = %d; want 6", got)
		}
	})
}

func TestFailingAfterMaxFailures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, worldOpts{noRun: true, settings: func(s *config.Settings) { s.Backoff.MaxFailures = 5 }})
		w.sim.Inject(idpsim.Fault{Kind: idpsim.ServerError500, Count: 8})
		w.start()
		for len(w.tokenRequests("acct0")) < 8 {
			time.Sleep(time.Minute)
		}
		st := w.status("acct0")
		if st.State != state.Failing || st.Failures != 8 {
			t.Fatalf("after 8 failures: state %s, failures %d; want failing, 8", st.State, st.Failures)
		}
		reqs := w.tokenRequests("acct0")
		// Failures 5..8 are retried at the backoff maximum (1 h ± 20 %).
		for i := 5; i < len(reqs); i++ {
			if gap := reqs[i].Time.Sub(reqs[i-1].Time); gap < 48*time.Minute || gap > 72*time.Minute {
				t.Errorf("retry %d of a failing account came after %v; want 1 h ± 20 %%", i, gap)
			}
		}
		time.Sleep(2 * time.Hour)
		w.stop()
		if st := w.status("acct0"); st.State != state.OK {
			t.Errorf("after the provider recovers: state %s; want ok (tokens kept)", st.State)
		}
		if diff := cmp.Diff([]string{"acct0 failing"}, w.episodes.started()); diff != "" {
			t.Errorf("episodes started (-want +got):\n%s", diff)
		}
	})
}

func TestRetryAfterObeyed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, worldOpts{noRun: true})
		w.sim.Inject(idpsim.Fault{Kind: idpsim.Throttle429, RetryAfter: 120 * time.Second})
		w.start()
		synctest.Wait()
		failedAt := time.Now()
		if st := w.status("acct0"); st.State != state.BackingOff {
			t.Fatalf("after a 429: state %s; want backing_off", st.State)
		}
		time.Sleep(30 * time.Second)
		_, err := w.eng.RefreshNow(t.Context(), "acct0")
		var r *state.Refused
		if !errors.As(err, &r) || r.Reason != state.RefusedRetryAfter || !r.Until.Equal(failedAt.Add(120*time.Second)) {
			t.Fatalf("RefreshNow during Retry-After = %v; want *Refused{retry_after, until +120 s}", err)
		}
		if !strings.Contains(err.Error(), "Retry-After") || !strings.Contains(err.Error(), "try again after") {
			t.Errorf("refusal message %q does not say why and when", err)
		}
		if n := len(w.tokenRequests("acct0")); n != 1 {
			t.Fatalf("requests after a refused RefreshNow = %d; want 1", n)
		}
		time.Sleep(3 * time.Minute)
		w.stop()
		reqs := w.tokenRequests("acct0")
		if len(reqs) != 2 {
			t.Fatalf("requests = %d; want 2", len(reqs))
		}
		if gap := reqs[1].Time.Sub(reqs[0].Time); gap < 120*time.Second || gap > 121*time.Second {
			t.Errorf("automatic retry after Retry-After: 120 came %v later; want 120 s (backoff 60 s ± 20 %% is shorter)", gap)
		}
	})
}

func TestRefreshNowBypassesIntervalAndCooldown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, worldOpts{})
		synctest.Wait()
		for i := range 3 {
			res, err := w.eng.RefreshNow(t.Context(), "acct0")
			if err != nil || !res.Fresh || !res.Saved {
				t.Fatalf("RefreshNow #%d = %+v, %v; want fresh and saved", i+1, res, err)
			}
		}
		if n := len(w.tokenRequests("acct0")); n != 4 {
			t.Errorf("requests = %d; want 4 (1 automatic + 3 manual)", n)
		}
	})
}

func TestPermanentErrorsNeedSignInAfterOneRequest(t *testing.T) {
	type tc struct {
		name  string
		fault idpsim.Fault
		setup func(w *world)
	}
	var tests []tc
	for _, code := range idpsim.InvalidGrantCodes {
		tests = append(tests, tc{name: fmt.Sprintf("invalid_grant AADSTS%d", code), fault: idpsim.Fault{Kind: idpsim.InvalidGrant, Code: code}})
	}
	tests = append(tests,
		tc{name: "interaction_required", fault: idpsim.Fault{Kind: idpsim.InteractionRequired}},
		tc{name: "consent_required", fault: idpsim.Fault{Kind: idpsim.ConsentRequired}},
		tc{name: "revoked grant", setup: func(w *world) { w.sim.RevokeGrant(w.subject["acct0"]) }},
	)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				w := newWorld(t, worldOpts{noRun: true})
				if tt.fault.Kind != 0 {
					w.sim.Inject(tt.fault)
				}
				if tt.setup != nil {
					tt.setup(w)
				}
				rtBefore := w.storedRT("acct0")
				w.start()
				time.Sleep(24 * time.Hour)
				w.stop()
				if n := len(w.tokenRequests("acct0")); n != 1 {
					t.Errorf("token requests in 24 h = %d; want exactly 1", n)
				}
				st := w.status("acct0")
				if st.State != state.NeedsSignIn || st.Reason == "" || st.NextDue != (time.Time{}) {
					t.Errorf("state %s, reason %q, next due %v; want needs_signin with a reason and nothing scheduled", st.State, st.Reason, st.NextDue)
				}
				if st.LastError == nil || st.LastError.Class != state.ClassPermanent {
					t.Errorf("last error = %+v; want class permanent", st.LastError)
				} else if st.LastError.Code == "" || st.LastError.HTTPStatus == 0 {
					t.Errorf("last error = %+v; want the provider's error code and HTTP status for support", st.LastError)
				}
				if tt.fault.Code != 0 && (st.LastError == nil || !slices.Contains(st.LastError.AADSTS, tt.fault.Code)) {
					t.Errorf("last error = %+v; want AADSTS%d in it", st.LastError, tt.fault.Code)
				}
				if got := w.storedRT("acct0"); got != rtBefore {
					t.Errorf("the stored refresh token changed after a permanent failure; tokens must be kept")
				}
				if n := len(w.episodes.started()); n != 1 {
					t.Errorf("episodes started = %d; want 1", n)
				}
			})
		})
	}
}

func TestTransientErrorsBackOff(t *testing.T) {
	faults := []idpsim.Fault{
		{Kind: idpsim.Throttle429},
		{Kind: idpsim.Unavailable503},
		{Kind: idpsim.ServerError500},
		{Kind: idpsim.ConnReset},
		{Kind: idpsim.MalformedJSON},
		{Kind: idpsim.HugeBody},
		{Kind: idpsim.HTMLError},
		{Kind: idpsim.TemporarilyUnavailable},
	}
	for _, f := range faults {
		t.Run(f.Kind.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				w := newWorld(t, worldOpts{noRun: true})
				w.sim.Inject(f)
				w.start()
				synctest.Wait()
				st := w.status("acct0")
				if st.State != state.BackingOff || st.Failures != 1 || st.LastError == nil || st.LastError.Message == "" {
					t.Fatalf("after %s: state %s, failures %d, error %+v; want backing_off, 1, a message", f.Kind, st.State, st.Failures, st.LastError)
				}
				if d := time.Until(st.BackoffUntil); d < 48*time.Second || d > 72*time.Second {
					t.Errorf("backoff until now+%v; want 60 s ± 20 %%", d)
				}
				time.Sleep(47 * time.Second)
				if n := len(w.tokenRequests("acct0")); n != 1 {
					t.Fatalf("requests during backoff = %d; want 1", n)
				}
				time.Sleep(26 * time.Second)
				w.stop()
				if n, st := len(w.tokenRequests("acct0")), w.status("acct0"); n != 2 || st.State != state.OK {
					t.Errorf("after the backoff: %d requests, state %s; want 2, ok", n, st.State)
				}
			})
		})
	}
}

func TestBudgetCapsBurst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, worldOpts{accounts: 500}) // budget: 100 per 10 min
		time.Sleep(time.Minute)
		count := func() int {
			n := 0
			for _, r := range w.sim.Requests() {
				if r.Endpoint == "token" {
					n++
				}
			}
			return n
		}
		if n := count(); n != 100 {
			t.Fatalf("requests in the first minute of a 500-account burst = %d; want 100", n)
		}
		time.Sleep(8 * time.Minute)
		if n := count(); n != 100 {
			t.Fatalf("requests in the first 9 minutes = %d; want 100", n)
		}
		_, err := w.eng.RefreshNow(t.Context(), "acct499")
		var r *state.Refused
		if !errors.As(err, &r) || r.Reason != state.RefusedBudget {
			t.Errorf("RefreshNow with the budget spent = %v; want *Refused{budget}", err)
		}
		time.Sleep(45 * time.Minute)
		w.stop()
		var times []time.Time
		for _, r := range w.sim.Requests() {
			if r.Endpoint == "token" {
				times = append(times, r.Time)
			}
		}
		if len(times) < 500 {
			t.Errorf("requests after 55 min = %d; want all 500 accounts refreshed", len(times))
		}
		for i := range times {
			n := 0
			for _, x := range times[i:] {
				if x.Sub(times[i]) < 10*time.Minute {
					n++
				}
			}
			if n > 100 {
				t.Fatalf("%d requests in the 10 minutes from %v; want ≤ 100", n, times[i])
			}
		}
		for _, name := range w.names {
			if st := w.status(name); st.State != state.OK {
				t.Fatalf("account %s: state %s; want ok", name, st.State)
			}
		}
	})
}

func TestVaultHoldsNewestRefreshTokenUnderEveryRotation(t *testing.T) {
	for _, rot := range []idpsim.Rotation{idpsim.MicrosoftLike, idpsim.GraceWindow, idpsim.Strict} {
		t.Run(rot.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var saves *failNextSaves
				w := newWorld(t, worldOpts{
					sim:   idpsim.Options{Rotation: rot, Grace: time.Minute},
					store: func(m *vault.Memory) store { saves = &failNextSaves{store: m}; return saves },
				})
				check := func(step string) {
					t.Helper()
					synctest.Wait()
					got := w.storedRT("acct0")
					if got != w.newestRT() {
						t.Fatalf("after %s: the vault does not hold the newest refresh token the simulator issued", step)
					}
					if !w.sim.Valid(got) {
						t.Fatalf("after %s: the stored refresh token is not valid at the simulator", step)
					}
				}
				check("the first automatic refresh")
				if _, err := w.eng.RefreshNow(t.Context(), "acct0"); err != nil {
					t.Fatalf("RefreshNow = %v", err)
				}
				check("RefreshNow")
				if _, err := w.eng.Token(t.Context(), "acct0", 2*time.Hour); err != nil {
					t.Fatalf("Token(2h) = %v", err)
				}
				check("Token(minValid beyond expiry)")
				w.sim.Inject(idpsim.Fault{Kind: idpsim.ServerError500})
				if _, err := w.eng.RefreshNow(t.Context(), "acct0"); err == nil {
					t.Fatalf("RefreshNow during a 500 = nil; want an error")
				}
				check("a failed refresh")
				time.Sleep(3 * time.Hour)
				check("3 h of automatic refreshes")
				saves.set(2)
				if res, err := w.eng.RefreshNow(t.Context(), "acct0"); err != nil || res.Saved {
					t.Fatalf("RefreshNow with a failing vault = %+v, %v; want success, not saved", res, err)
				}
				time.Sleep(10 * time.Minute)
				check("a failed save and its retries")
			})
		})
	}
}

func TestSaveFailureKeepsPairAndRetries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var saves *failNextSaves
		w := newWorld(t, worldOpts{
			sim:   idpsim.Options{Rotation: idpsim.Strict},
			store: func(m *vault.Memory) store { saves = &failNextSaves{store: m}; return saves },
		})
		synctest.Wait()
		old := w.storedRT("acct0")
		saves.set(3)
		res, err := w.eng.RefreshNow(t.Context(), "acct0")
		if err != nil || res.Saved || !res.Fresh {
			t.Fatalf("RefreshNow = %+v, %v; want fresh, not saved", res, err)
		}
		st := w.status("acct0")
		if st.State != state.StorageDegraded || !st.Storage.Degraded || st.LastError == nil || st.LastError.Class != state.ClassStorage {
			t.Fatalf("after a failed save: state %s, storage %+v, error %+v; want storage_degraded", st.State, st.Storage, st.LastError)
		}
		if w.sim.Valid(old) {
			t.Fatalf("strict rotation: the old refresh token is still valid; the test needs it dead")
		}
		tok, err := w.eng.Token(t.Context(), "acct0", time.Minute)
		if err != nil || tok.Token == "" {
			t.Fatalf("Token() while degraded = %v, %v; want the in-memory access token", tok, err)
		}
		reqs := len(w.tokenRequests("acct0"))
		time.Sleep(15 * time.Minute) // retries at 60 s, 120 s, 240 s (± 20 %)
		st = w.status("acct0")
		if st.State != state.OK || st.Storage.Degraded {
			t.Fatalf("after save retries: state %s, storage %+v; want ok, saved", st.State, st.Storage)
		}
		if got := w.storedRT("acct0"); got != w.newestRT() || !w.sim.Valid(got) {
			t.Errorf("after save retries the vault does not hold the newest, valid refresh token")
		}
		if n := len(w.tokenRequests("acct0")); n != reqs {
			t.Errorf("token requests during save retries = %d; want none", n-reqs)
		}
		tok2, err := w.eng.Token(t.Context(), "acct0", time.Minute)
		if err != nil || tok2.Token != tok.Token {
			t.Errorf("Token() after the save = %v; want the same access token", err)
		}
	})
}

// TestSuspendResume simulates a suspend inside the bubble. synctest's fake
// clock moves wall and monotonic time together, but a real suspend stops the
// monotonic clock (timers) while the wall clock jumps. So the test shifts
// only the engine's wall-clock source by 3 h while its timer keeps sleeping
// on the fake monotonic clock: exactly what the engine sees after a resume.
// The refresh must come within 60 s of the jump.
func TestSuspendResume(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, worldOpts{noRun: true, stored: storedNow, sim: idpsim.Options{AccessTTL: 2 * time.Hour}})
		var skew atomic.Int64
		w.eng.wall = func() time.Time { return time.Now().Add(time.Duration(skew.Load())).Round(0) }
		w.start()
		time.Sleep(10 * time.Minute)
		if n := len(w.tokenRequests("acct0")); n != 0 {
			t.Fatalf("requests before the suspend = %d; want 0", n)
		}
		time.Sleep(123 * time.Millisecond) // land mid-sleep
		skew.Store(int64(3 * time.Hour))
		jumped := time.Now()
		time.Sleep(60 * time.Second)
		w.stop()
		reqs := w.tokenRequests("acct0")
		if len(reqs) != 1 {
			t.Fatalf("requests within 60 s of the resume = %d; want 1", len(reqs))
		}
		if d := reqs[0].Time.Sub(jumped); d > 60*time.Second {
			t.Errorf("refresh came %v after the resume; want ≤ 60 s", d)
		}
	})
}

func TestRestartKeepsNeedsSignInAndBackoff(t *testing.T) {
	t.Run("needs sign-in", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			w := newWorld(t, worldOpts{noRun: true, statePath: t.TempDir() + "/state.json"})
			w.sim.Inject(idpsim.Fault{Kind: idpsim.InvalidGrant, Code: 700082})
			w.start()
			time.Sleep(time.Minute)
			w.stop()
			reason := w.status("acct0").Reason
			w.eng = w.newEng()
			if st := w.status("acct0"); st.State != state.NeedsSignIn || st.Reason != reason {
				t.Fatalf("restored state %s (%q); want needs_signin (%q)", st.State, st.Reason, reason)
			}
			w.start()
			time.Sleep(24 * time.Hour)
			w.stop()
			if n := len(w.tokenRequests("acct0")); n != 1 {
				t.Errorf("requests over a restart and 24 h = %d; want 1", n)
			}
			if n := len(w.episodes.started()); n != 1 {
				t.Errorf("episodes started before the restart = %d; want 1", n)
			}
		})
	})
	t.Run("retry-after", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			w := newWorld(t, worldOpts{noRun: true, statePath: t.TempDir() + "/state.json"})
			w.sim.Inject(idpsim.Fault{Kind: idpsim.Throttle429, RetryAfter: time.Hour})
			start := time.Now()
			w.start()
			time.Sleep(time.Minute)
			w.stop()
			w.eng = w.newEng()
			w.start()
			synctest.Wait()
			st := w.status("acct0")
			if st.State != state.BackingOff || !st.BackoffUntil.Equal(start.Add(time.Hour)) {
				t.Fatalf("restored: state %s, backoff until %v; want backing_off until %v", st.State, st.BackoffUntil, start.Add(time.Hour))
			}
			var r *state.Refused
			if _, err := w.eng.RefreshNow(t.Context(), "acct0"); !errors.As(err, &r) || r.Reason != state.RefusedRetryAfter {
				t.Errorf("RefreshNow after restart = %v; want *Refused{retry_after}", err)
			}
			time.Sleep(58 * time.Minute)
			if n := len(w.tokenRequests("acct0")); n != 1 {
				t.Fatalf("requests before Retry-After ended = %d; want 1", n)
			}
			time.Sleep(2 * time.Minute)
			w.stop()
			if n := len(w.tokenRequests("acct0")); n != 2 {
				t.Errorf("requests after Retry-After ended = %d; want 2", n)
			}
		})
	})
}
