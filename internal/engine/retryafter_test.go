package engine

import (
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tokentray/tokentray/internal/idpsim"
	"github.com/tokentray/tokentray/internal/oauth"
	"github.com/tokentray/tokentray/internal/state"
)

// TestRetryAfterDateIsCapped: a Retry-After given as a far-future HTTP date
// blocks the account, RefreshNow included, for at most oauth.MaxRetryAfter
// (like the seconds form), and the snapshot says what was asked and capped.
func TestRetryAfterDateIsCapped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, worldOpts{noRun: true, stored: storedNow})
		far := time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)
		w.sim.Inject(idpsim.Fault{Kind: idpsim.Throttle429, RetryAfter: time.Until(far), RetryAfterDate: true})
		failedAt := time.Now()
		if _, err := w.eng.RefreshNow(t.Context(), "acct0"); oauth.ClassOf(err) != oauth.RetryAfter {
			t.Fatalf("RefreshNow() against a 429 = %v; want a retry-after error", err)
		}
		capped := failedAt.Add(oauth.MaxRetryAfter)
		st := w.status("acct0")
		if !st.BackoffUntil.Equal(capped) {
			t.Errorf("BackoffUntil = %v; want now + %v = %v", st.BackoffUntil, oauth.MaxRetryAfter, capped)
		}
		for _, want := range []string{"asked to wait until 2099-01-01", "capped to " + capped.UTC().Format(time.RFC3339)} {
			if !strings.Contains(st.Reason, want) {
				t.Errorf("Reason = %q; want it to say %q", st.Reason, want)
			}
		}
		time.Sleep(oauth.MaxRetryAfter - time.Minute)
		var r *state.Refused
		if _, err := w.eng.RefreshNow(t.Context(), "acct0"); !errors.As(err, &r) || !r.Until.Equal(capped) {
			t.Fatalf("RefreshNow() just before the cap = %v; want refused until %v", err, capped)
		}
		time.Sleep(2 * time.Minute)
		if _, err := w.eng.RefreshNow(t.Context(), "acct0"); err != nil {
			t.Fatalf("RefreshNow() after the cap = %v; want a refresh", err)
		}
	})
}
