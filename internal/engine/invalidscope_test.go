package engine

import (
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tokentray/tokentray/internal/oauth"
	"github.com/tokentray/tokentray/internal/state"
)

// TestOwnRefreshInvalidScopeStops: invalid_scope on the account's own
// refresh (here Microsoft's AADSTS70011: the settings mix a .default scope
// with a resource scope) is a configuration error that retrying never heals:
// automatic refresh stops after one request, the account needs sign-in with
// a reason that says to fix the account's scopes, and one episode starts.
func TestOwnRefreshInvalidScopeStops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, worldOpts{noRun: true, profile: func(p *oauth.Profile) {
			p.Scopes = append(p.Scopes, "https://graph.microsoft.com/.default")
		}})
		w.start()
		time.Sleep(24 * time.Hour)
		synctest.Wait()
		if n := len(w.tokenRequests("acct0")); n != 1 {
			t.Errorf("token requests in 24 h = %d; want exactly 1", n)
		}
		st := w.status("acct0")
		if st.State != state.NeedsSignIn || !strings.Contains(st.Reason, "scopes") || !strings.Contains(st.Reason, "settings") || st.NextDue != (time.Time{}) {
			t.Errorf("state %s, reason %q, next due %v; want needs_signin, a reason about the account's scopes in the settings, nothing scheduled", st.State, st.Reason, st.NextDue)
		}
		if st.LastError == nil || st.LastError.Class != state.ClassPermanent || st.LastError.Code != "invalid_scope" {
			t.Errorf("last error = %+v; want class permanent, code invalid_scope", st.LastError)
		}
		if got := w.episodes.started(); len(got) != 1 || got[0] != "acct0 needs_signin" {
			t.Errorf("episodes started = %q; want [acct0 needs_signin]", got)
		}
		_, err := w.eng.RefreshNow(t.Context(), "acct0")
		if !errors.Is(err, ErrNeedsSignIn) || !strings.Contains(err.Error(), "AADSTS70011") {
			t.Errorf("RefreshNow = %v; want needs sign-in naming AADSTS70011", err)
		}
	})
}
