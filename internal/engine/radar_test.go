package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
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

// wantRadar fails unless st's radar is want (nil: none shown).
func wantRadar(t *testing.T, when string, st state.AccountStatus, want *state.Radar) {
	t.Helper()
	if d := cmp.Diff(want, st.Radar); d != "" {
		t.Errorf("%s: radar (-want +got):\n%s", when, d)
	}
}

// TestRadarSignInFrequency: nothing is shown before a limit is known; the
// first AADSTS70043 teaches the limit (and the account needs sign-in, with
// no radar); after the next sign-in the radar says auth_time + limit, a
// refresh does not move it (the limit does not slide), and a restarted
// engine shows the same from the state file.
func TestRadarSignInFrequency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "state.json")
		w := newWorld(t, worldOpts{noRun: true, statePath: path, sim: idpsim.Options{SignInFrequency: 8 * time.Hour}})
		ctx := t.Context()
		if _, err := w.eng.RefreshNow(ctx, "acct0"); err != nil {
			t.Fatalf("RefreshNow() = %v", err)
		}
		wantRadar(t, "before any limit is known", w.status("acct0"), nil)

		time.Sleep(8 * time.Hour)
		_, err := w.eng.RefreshNow(ctx, "acct0")
		st := w.status("acct0")
		if !errors.Is(err, ErrNeedsSignIn) || st.LastError == nil || !slices.Contains(st.LastError.AADSTS, 70043) {
			t.Fatalf("RefreshNow() 8h after sign-in = %v, last error %+v; want needs sign-in with AADSTS70043", err, st.LastError)
		}
		wantRadar(t, "needing sign-in", st, nil)

		time.Sleep(time.Hour)
		signIn := time.Now().UTC()
		if _, err := w.eng.Import(ctx, "acct0", w.sim.Grant(testClient, w.subject["acct0"], testScopes)); err != nil {
			t.Fatalf("Import() = %v", err)
		}
		want := &state.Radar{SignInBy: signIn.Add(8 * time.Hour), Source: state.RadarSignInFrequency, Since: signIn}
		wantRadar(t, "after the new sign-in", w.status("acct0"), want)

		time.Sleep(3 * time.Hour)
		if _, err := w.eng.RefreshNow(ctx, "acct0"); err != nil {
			t.Fatalf("RefreshNow() 3h after the new sign-in = %v", err)
		}
		wantRadar(t, "after a refresh (does not slide)", w.status("acct0"), want)

		eng := w.newEng()
		eng.Load(ctx)
		st, _ = eng.Snapshot().Account("acct0")
		wantRadar(t, "a restarted engine", st, want)

		if err := eng.SignOut(ctx, "acct0"); err != nil {
			t.Fatal(err)
		}
		var f stateFile
		b, _ := os.ReadFile(path)
		if err := json.Unmarshal(b, &f); err != nil {
			t.Fatal(err)
		}
		if r := f.Accounts["acct0"].Radar; r == nil || r.SignInLimit != 8*3600 || !r.AuthTime.IsZero() {
			t.Errorf("state file radar after sign-out = %+v; want the learned limit 28800 s kept and the sign-in forgotten", r)
		}
	})
}

// spaEngine is an engine with one account on the simulator's SPA client
// (its requests carry an Origin header).
func spaEngine(t *testing.T, sim *idpsim.Server, mem *vault.Memory) *Engine {
	t.Helper()
	p := testProfile()
	p.Headers = map[string]string{"Origin": "http://localhost:3000"}
	eng, err := New(Options{
		Settings: config.Defaults(), Store: mem, Refresher: &oauth.Client{HTTP: sim.Client()},
		Accounts: []Account{{Name: "spa", Profile: p}}, Logger: testLogger(t), Rand: rand.New(rand.NewPCG(1, 2)),
	})
	if err != nil {
		t.Fatal(err)
	}
	return eng
}

// TestRadarSPA: a single-page app's refresh tokens carry
// refresh_token_expires_in; the radar follows it (24 h from the sign-in,
// not moved by refreshes) and AADSTS700084 comes when it says.
func TestRadarSPA(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sim := idpsim.New(idpsim.Options{SPAClients: []string{testClient}})
		mem := vault.NewMemory()
		signIn := time.Now().UTC()
		if err := mem.Save(t.Context(), "spa", vault.Envelope{RefreshToken: sim.Grant(testClient, "sam@idpsim.test", testScopes)}); err != nil {
			t.Fatal(err)
		}
		eng := spaEngine(t, sim, mem)
		ctx := t.Context()
		for i := range 3 {
			time.Sleep(time.Hour)
			if _, err := eng.RefreshNow(ctx, "spa"); err != nil {
				t.Fatalf("RefreshNow() %d = %v", i, err)
			}
			st, _ := eng.Snapshot().Account("spa")
			wantRadar(t, "after a refresh", st, &state.Radar{SignInBy: signIn.Add(24 * time.Hour), Source: state.RadarRefreshTokenExpiresIn, Since: time.Now().UTC()})
		}
		time.Sleep(21 * time.Hour)
		_, err := eng.RefreshNow(ctx, "spa")
		st, _ := eng.Snapshot().Account("spa")
		if !errors.Is(err, ErrNeedsSignIn) || st.LastError == nil || !slices.Contains(st.LastError.AADSTS, 700084) {
			t.Fatalf("RefreshNow() at 24h = %v (%+v); want needs sign-in with AADSTS700084", err, st.LastError)
		}
		wantRadar(t, "needing sign-in", st, nil)
	})
}

// slidingSession is a Keycloak-like provider (a fake: idpsim is Microsoft's): every refresh answers with
// refresh_expires_in 30 min (an SSO session idle timeout), or 0 (an offline
// token) when offline is set.
type slidingSession struct{ offline bool }

func (s *slidingSession) Refresh(_ context.Context, _ oauth.Profile, rt, _ string) (oauth.Token, error) {
	now := time.Now()
	tok := oauth.Token{AccessToken: fmt.Sprintf("simAT-keycloak%d", now.UnixNano()), // simulator prefixes: the secret scan covers them RefreshToken: rt, Expiry: now.Add(5 * time.Minute),
		Fresh: true, RefreshExpirySource: oauth.RefreshExpiresIn}
	if s.offline {
		tok.RefreshNoExpiry = true
	} else {
		tok.RefreshExpiry = now.Add(30 * time.Minute)
	}
	return tok, nil
}

// TestRadarSlidingRefreshExpiresIn: Keycloak's refresh_expires_in moves
// with every refresh; 0 (an offline token) shows no radar.
func TestRadarSlidingRefreshExpiresIn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mem := vault.NewMemory()
		if err := mem.Save(t.Context(), "kc", vault.Envelope{RefreshToken: "simRT-keycloak1"}); err != nil {
			t.Fatal(err)
		}
		idp := &slidingSession{}
		eng, err := New(Options{Settings: config.Defaults(), Store: mem, Refresher: idp,
			Accounts: []Account{{Name: "kc", Profile: oauth.Profile{Provider: oauth.ProviderOIDC}}}, Logger: testLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if _, err := eng.RefreshNow(t.Context(), "kc"); err != nil {
				t.Fatal(err)
			}
			now := time.Now().UTC()
			st, _ := eng.Snapshot().Account("kc")
			wantRadar(t, "after a refresh", st, &state.Radar{SignInBy: now.Add(30 * time.Minute), Source: state.RadarRefreshExpiresIn, Since: now})
			time.Sleep(10 * time.Minute)
		}
		idp.offline = true
		if _, err := eng.RefreshNow(t.Context(), "kc"); err != nil {
			t.Fatal(err)
		}
		st, _ := eng.Snapshot().Account("kc")
		wantRadar(t, "an offline token (refresh_expires_in 0)", st, nil)
	})
}

// TestRadarRecord: the rules of the record itself.
func TestRadarRecord(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	sif := &oauth.Error{Class: oauth.Permanent, Code: "invalid_grant", AADSTS: []int{70043},
		Description: "AADSTS70043: The refresh token has expired or is invalid due to sign-in frequency checks by conditional access. The token was issued on 2026-11-01T09:00:00.0000000Z and the maximum allowed lifetime for this request is 86400."}
	spa := &oauth.Error{Class: oauth.Permanent, Code: "invalid_grant", AADSTS: []int{700084}}
	tests := []struct {
		name string
		run  func(r *radarRecord)
		want *state.Radar
	}{
		{"nothing known", func(r *radarRecord) { r.granted(oauth.Token{AuthTime: t0}, t0, true, true) }, nil},
		{"a limit without auth_time shows nothing", func(r *radarRecord) {
			r.failed(sif, t0)
			r.granted(oauth.Token{}, t0.Add(time.Hour), true, false)
		}, nil},
		{"sign-in frequency from auth_time", func(r *radarRecord) {
			r.failed(sif, t0)
			r.granted(oauth.Token{AuthTime: t0.Add(-time.Hour)}, t0, true, false)
		}, &state.Radar{SignInBy: t0.Add(23 * time.Hour), Source: state.RadarSignInFrequency, Since: t0.Add(-time.Hour)}},
		{"the earlier of two limits", func(r *radarRecord) {
			r.failed(sif, t0)
			r.granted(oauth.Token{AuthTime: t0, RefreshExpiry: t0.Add(2 * time.Hour), RefreshExpirySource: oauth.RefreshExpiresIn}, t0, true, false)
		}, &state.Radar{SignInBy: t0.Add(2 * time.Hour), Source: state.RadarRefreshExpiresIn, Since: t0}},
		{"a rotation without a lifetime forgets the old one", func(r *radarRecord) {
			r.granted(oauth.Token{RefreshExpiry: t0.Add(2 * time.Hour), RefreshExpirySource: oauth.RefreshExpiresIn}, t0, true, false)
			r.granted(oauth.Token{Rotated: true}, t0.Add(time.Minute), false, false)
		}, nil},
		{"a response without rotation keeps it", func(r *radarRecord) {
			r.granted(oauth.Token{RefreshExpiry: t0.Add(2 * time.Hour), RefreshExpirySource: oauth.RefreshExpiresIn}, t0, true, false)
			r.granted(oauth.Token{}, t0.Add(time.Minute), false, false)
		}, &state.Radar{SignInBy: t0.Add(2 * time.Hour), Source: state.RadarRefreshExpiresIn, Since: t0}},
		{"spa learned: 24 h from a sign-in through tokentray", func(r *radarRecord) {
			r.failed(spa, t0)
			r.granted(oauth.Token{}, t0.Add(time.Hour), true, true)
		}, &state.Radar{SignInBy: t0.Add(25 * time.Hour), Source: state.RadarSPA24h, Since: t0.Add(time.Hour)}},
		{"spa learned, imported: sign-in time unknown", func(r *radarRecord) {
			r.failed(spa, t0)
			r.granted(oauth.Token{}, t0.Add(time.Hour), true, false)
		}, nil},
		{"a new grant forgets the old auth_time", func(r *radarRecord) {
			r.failed(sif, t0)
			r.granted(oauth.Token{AuthTime: t0}, t0, true, false)
			r.granted(oauth.Token{}, t0.Add(time.Hour), true, false)
		}, nil},
		{"sign-out keeps the limit for the next sign-in", func(r *radarRecord) {
			r.failed(sif, t0)
			r.granted(oauth.Token{AuthTime: t0}, t0, true, false)
			r.signedOut(t0.Add(time.Hour))
			r.granted(oauth.Token{AuthTime: t0.Add(2 * time.Hour)}, t0.Add(2*time.Hour), true, true)
		}, &state.Radar{SignInBy: t0.Add(26 * time.Hour), Source: state.RadarSignInFrequency, Since: t0.Add(2 * time.Hour)}},
		{"unknown wording teaches nothing", func(r *radarRecord) {
			r.failed(&oauth.Error{AADSTS: []int{70043}, Description: "AADSTS70043: sign-in frequency"}, t0)
			r.granted(oauth.Token{AuthTime: t0}, t0, true, false)
		}, nil},
		{"not an oauth error", func(r *radarRecord) {
			r.failed(errors.New("network down"), t0)
			r.granted(oauth.Token{AuthTime: t0}, t0, true, false)
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r radarRecord
			tt.run(&r)
			if d := cmp.Diff(tt.want, r.radar()); d != "" {
				t.Errorf("radar (-want +got):\n%s", d)
			}
		})
	}
}

// TestRadarAcrossProcesses: what one engine learned (a sign-in frequency
// limit, the new sign-in) reaches another engine on the same state file,
// and that engine's next write keeps it.
func TestRadarAcrossProcesses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "state.json")
		w := newWorld(t, worldOpts{noRun: true, statePath: path, lockDir: filepath.Join(dir, "locks"), sim: idpsim.Options{SignInFrequency: 8 * time.Hour}})
		ctx := t.Context()
		other := w.newEng()
		time.Sleep(8 * time.Hour)
		if _, err := w.eng.RefreshNow(ctx, "acct0"); !errors.Is(err, ErrNeedsSignIn) {
			t.Fatalf("RefreshNow() past the limit = %v; want needs sign-in", err)
		}
		signIn := time.Now().UTC()
		if _, err := w.eng.Import(ctx, "acct0", w.sim.Grant(testClient, w.subject["acct0"], testScopes)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Hour)
		if _, err := other.RefreshNow(ctx, "acct0"); err != nil {
			t.Fatalf("the other engine's RefreshNow() = %v", err)
		}
		want := &state.Radar{SignInBy: signIn.Add(8 * time.Hour), Source: state.RadarSignInFrequency, Since: signIn}
		st, _ := other.Snapshot().Account("acct0")
		wantRadar(t, "the other engine", st, want)
		third := w.newEng()
		third.Load(ctx)
		st, _ = third.Snapshot().Account("acct0")
		wantRadar(t, "a third engine after the other one wrote", st, want)
	})
}
