package engine

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tokentray/tokentray/internal/idpsim"
	"github.com/tokentray/tokentray/internal/state"
	"github.com/tokentray/tokentray/internal/vault"
)

// TestHeldPairYields: a pair held in memory after a failed save must not be
// written over what another process stored meanwhile — a sign-out, a sign-in
// as another identity, or a newer rotation — neither by the save retry nor
// by the next refresh, and the snapshot says why it was dropped.
func TestHeldPairYields(t *testing.T) {
	type change struct {
		name   string
		apply  func(w *world, held vault.Envelope) // what the other process did
		reason string                              // in the snapshot's Reason
		check  func(t *testing.T, w *world, after vault.Envelope, found bool)
	}
	changes := []change{{
		name:   "signed out",
		apply:  func(w *world, _ vault.Envelope) { _ = w.mem.Delete(context.Background(), "acct0") },
		reason: "signed out",
		check: func(t *testing.T, w *world, _ vault.Envelope, found bool) {
			if found {
				t.Errorf("the held pair brought a signed-out account back")
			}
			if st := w.status("acct0"); st.State != state.SignedOut {
				t.Errorf("state = %s; want signed_out", st.State)
			}
		},
	}, {
		name: "another identity",
		apply: func(w *world, _ vault.Envelope) {
			rt := w.sim.Grant(testClient, "someone-else@idpsim.test", testScopes)
			_ = w.mem.Save(context.Background(), "acct0", vault.Envelope{RefreshToken: rt, ObtainedAt: time.Now().Add(-time.Hour),
				Claims: vault.Claims{Subject: "someone-else@idpsim.test", PreferredUsername: "someone-else@idpsim.test"}})
			w.subject["acct0"] = "someone-else@idpsim.test"
		},
		reason: "another identity",
		check: func(t *testing.T, w *world, after vault.Envelope, found bool) {
			if !found || after.Claims.Subject != "someone-else@idpsim.test" {
				t.Errorf("the vault's account is %q (found %v); want the other sign-in kept", after.Claims.Subject, found)
			}
		},
	}, {
		name: "newer rotation",
		apply: func(w *world, held vault.Envelope) {
			n := held
			n.RefreshToken = w.sim.Grant(testClient, w.subject["acct0"], testScopes)
			n.ObtainedAt = time.Now()
			_ = w.mem.Save(context.Background(), "acct0", n)
		},
		reason: "newer",
		check: func(t *testing.T, w *world, after vault.Envelope, found bool) {
			if !found || !w.sim.Valid(after.RefreshToken) {
				t.Errorf("the vault's refresh token is not valid (found %v); want the newer rotation kept", found)
			}
		},
	}}
	for _, via := range []string{"save retry", "refresh"} {
		for _, c := range changes {
			t.Run(via+"/"+c.name, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					var saves *failNextSaves
					w := newWorld(t, worldOpts{noRun: true, stored: storedNow,
						sim:   idpsim.Options{Rotation: idpsim.Strict},
						store: func(m *vault.Memory) store { saves = &failNextSaves{store: m}; return saves },
					})
					saves.set(1)
					if res, err := w.eng.RefreshNow(t.Context(), "acct0"); err != nil || res.Saved {
						t.Fatalf("RefreshNow() = %+v, %v; want done, not saved", res, err)
					}
					w.eng.mu.Lock()
					held := w.eng.byName["acct0"].env
					w.eng.mu.Unlock()
					time.Sleep(time.Second)
					c.apply(w, held)
					if via == "save retry" {
						w.start()
						time.Sleep(5 * time.Minute) // the save retry comes after 60 s ± 20 %
						w.stop()
					} else {
						_, err := w.eng.RefreshNow(t.Context(), "acct0")
						if c.name == "signed out" && !errors.Is(err, ErrSignedOut) {
							t.Errorf("RefreshNow() after a sign-out elsewhere = %v; want ErrSignedOut", err)
						} else if c.name != "signed out" && err != nil {
							t.Errorf("RefreshNow() = %v; want a refresh of what the other process stored", err)
						}
					}
					after, err := w.mem.Load(context.Background(), "acct0")
					found := err == nil
					if found && after.RefreshToken == held.RefreshToken {
						t.Fatalf("the held pair overwrote what the other process stored")
					}
					c.check(t, w, after, found)
					if !w.sim.Valid(held.RefreshToken) {
						t.Errorf("the held refresh token was used; want it dropped unused")
					}
					st := w.status("acct0")
					if st.Storage.Degraded {
						t.Errorf("storage still degraded; want the held pair dropped")
					}
					if via == "save retry" && !strings.Contains(st.Reason, c.reason) {
						t.Errorf("Reason = %q; want it to say %q", st.Reason, c.reason)
					}
					if err := w.eng.Flush(t.Context()); err != nil {
						t.Errorf("Flush() = %v; want nil (nothing held)", err)
					}
				})
			})
		}
	}
}

func TestHeldVerdict(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	me := vault.Claims{Subject: "me"}
	base := vault.Envelope{RefreshToken: "rt-0", ObtainedAt: t0, Claims: me}
	held := vault.Envelope{RefreshToken: "rt-1", ObtainedAt: t0.Add(time.Hour), Claims: me}
	tests := []struct {
		name  string
		base  storedRef
		cur   vault.Envelope
		curOK bool
		want  heldVerdict
	}{
		{"unchanged", storedRef{base, true}, base, true, heldWrite},
		{"first sign-in, still nothing stored", storedRef{}, vault.Envelope{}, false, heldWrite},
		{"deleted", storedRef{base, true}, vault.Envelope{}, false, heldSignedOut},
		{"another identity", storedRef{base, true}, vault.Envelope{RefreshToken: "x", ObtainedAt: t0, Claims: vault.Claims{Subject: "you"}}, true, heldOtherIdentity},
		{"older envelope of another identity, base unknown", storedRef{}, vault.Envelope{RefreshToken: "x", ObtainedAt: t0, Claims: vault.Claims{Subject: "you"}}, true, heldWrite},
		{"newer envelope of another identity, base unknown", storedRef{}, vault.Envelope{RefreshToken: "x", ObtainedAt: t0.Add(2 * time.Hour), Claims: vault.Claims{Subject: "you"}}, true, heldOtherIdentity},
		{"replaced since", storedRef{base, true}, vault.Envelope{RefreshToken: "rt-9", ObtainedAt: t0.Add(time.Minute), Claims: me}, true, heldNewer},
		{"obtained later", storedRef{}, vault.Envelope{RefreshToken: "rt-9", ObtainedAt: t0.Add(2 * time.Hour), Claims: me}, true, heldNewer},
		{"stale envelope, base unknown", storedRef{}, base, true, heldWrite},
		{"already stored", storedRef{base, true}, held, true, heldStored},
	}
	for _, tt := range tests {
		if got := heldVerdictFor(held, tt.base, tt.cur, tt.curOK); got != tt.want {
			t.Errorf("%s: heldVerdictFor() = %v; want %v", tt.name, got, tt.want)
		}
	}
}

func TestOtherIdentity(t *testing.T) {
	tests := []struct {
		x, y vault.Claims
		want bool
	}{
		{vault.Claims{Subject: "a"}, vault.Claims{Subject: "a"}, false},
		{vault.Claims{Subject: "a"}, vault.Claims{Subject: "b"}, true},
		{vault.Claims{Subject: "a", TenantID: "t1"}, vault.Claims{Subject: "a", TenantID: "t2"}, true},
		{vault.Claims{PreferredUsername: "Me@x"}, vault.Claims{PreferredUsername: "me@x"}, false},
		{vault.Claims{PreferredUsername: "me@x"}, vault.Claims{PreferredUsername: "you@x"}, true},
		{vault.Claims{Subject: "a"}, vault.Claims{}, false},
	}
	for _, tt := range tests {
		if got := otherIdentity(tt.x, tt.y); got != tt.want {
			t.Errorf("otherIdentity(%+v, %+v) = %v; want %v", tt.x, tt.y, got, tt.want)
		}
	}
}
