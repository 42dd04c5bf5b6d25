package engine

import (
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tokentray/tokentray/internal/idpsim"
	"github.com/tokentray/tokentray/internal/state"
)

func TestErrSignedOutIsNeedsSignIn(t *testing.T) {
	if !errors.Is(ErrSignedOut, ErrNeedsSignIn) {
		t.Errorf("errors.Is(ErrSignedOut, ErrNeedsSignIn) = false; want true")
	}
	if errors.Is(ErrNeedsSignIn, ErrSignedOut) {
		t.Errorf("errors.Is(ErrNeedsSignIn, ErrSignedOut) = true; a grant that ended is not a sign-out")
	}
	if got, want := ErrSignedOut.Error(), "account is signed out; sign in first"; got != want {
		t.Errorf("ErrSignedOut.Error() = %q; want %q", got, want)
	}
}

// TestNeedsSignInErrors: every error of Token and RefreshNow for
// an account that is signed out or whose grant ended matches ErrNeedsSignIn.
func TestNeedsSignInErrors(t *testing.T) {
	tests := []struct {
		name      string
		setup     func(w *world)               // puts acct0 in the state under test
		call      func(w *world) error         // the call whose error is checked
		signedOut bool                         // the error must match ErrSignedOut too
		after     func(t *testing.T, w *world) // extra checks
	}{
		{
			name:      "Token, signed out",
			setup:     signOut,
			call:      func(w *world) error { _, err := w.eng.Token(w.t.Context(), "acct0", time.Minute); return err },
			signedOut: true,
		},
		{
			name:      "RefreshNow, signed out",
			setup:     signOut,
			call:      func(w *world) error { _, err := w.eng.RefreshNow(w.t.Context(), "acct0"); return err },
			signedOut: true,
		},
		{
			name:  "RefreshNow, provider ends the grant",
			setup: func(w *world) { w.sim.Inject(idpsim.Fault{Kind: idpsim.InvalidGrant}) },
			call:  func(w *world) error { _, err := w.eng.RefreshNow(w.t.Context(), "acct0"); return err },
		},
		{
			name:  "Token, provider ends the grant",
			setup: func(w *world) { w.sim.Inject(idpsim.Fault{Kind: idpsim.InvalidGrant}) },
			call:  func(w *world) error { _, err := w.eng.Token(w.t.Context(), "acct0", time.Minute); return err },
		},
		{
			name:  "Token, needs sign-in already",
			setup: endGrant,
			call:  func(w *world) error { _, err := w.eng.Token(w.t.Context(), "acct0", 2*time.Hour); return err },
			after: func(t *testing.T, w *world) {
				if n := len(w.tokenRequests("acct0")); n != 1 {
					t.Errorf("requests = %d; want 1 (Token sends nothing for an ended grant)", n)
				}
			},
		},
		{
			name: "RefreshNow, needs sign-in, provider unreachable",
			setup: func(w *world) {
				endGrant(w)
				w.sim.Inject(idpsim.Fault{Kind: idpsim.ServerError500})
			},
			call: func(w *world) error { _, err := w.eng.RefreshNow(w.t.Context(), "acct0"); return err },
			after: func(t *testing.T, w *world) {
				// A transient failure says nothing about the grant: the
				// account still needs sign-in, and nothing is retried.
				if st := w.status("acct0"); st.State != state.NeedsSignIn || !st.NextDue.IsZero() {
					t.Errorf("after a transient failure of an ended grant: state %s, next due %v; want needs_signin, none", st.State, st.NextDue)
				}
			},
		},
		{
			name: "RefreshNow, needs sign-in, budget spent",
			setup: func(w *world) {
				endGrant(w)
				w.eng.mu.Lock()
				for {
					if ok, _ := w.eng.bud.take(time.Now().UnixNano()); !ok {
						break
					}
				}
				w.eng.mu.Unlock()
			},
			call: func(w *world) error { _, err := w.eng.RefreshNow(w.t.Context(), "acct0"); return err },
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				w := newWorld(t, worldOpts{noRun: true, accounts: 2, stored: storedNow})
				tc.setup(w)
				w.start()
				synctest.Wait()
				err := tc.call(w)
				if !errors.Is(err, ErrNeedsSignIn) {
					t.Errorf("error = %v; want one matching ErrNeedsSignIn", err)
				}
				if got := errors.Is(err, ErrSignedOut); got != tc.signedOut {
					t.Errorf("errors.Is(%v, ErrSignedOut) = %v; want %v", err, got, tc.signedOut)
				}
				if err != nil && !strings.Contains(err.Error(), `"acct0"`) {
					t.Errorf("error %q does not name the account", err)
				}
				if tc.after != nil {
					time.Sleep(3 * time.Hour) // Run is running: no automatic retry may fix or change things
					tc.after(t, w)
				}
			})
		})
	}
}

func signOut(w *world) {
	if err := w.eng.SignOut(w.t.Context(), "acct0"); err != nil {
		w.t.Fatalf("SignOut() = %v", err)
	}
}

// endGrant makes the provider end acct0's grant (one invalid_grant).
func endGrant(w *world) {
	w.sim.Inject(idpsim.Fault{Kind: idpsim.InvalidGrant})
	if _, err := w.eng.RefreshNow(w.t.Context(), "acct0"); err == nil {
		w.t.Fatal("RefreshNow() with invalid_grant = nil")
	}
	if st := w.status("acct0"); st.State != state.NeedsSignIn {
		w.t.Fatalf("after invalid_grant: state %s; want needs_signin", st.State)
	}
}
