package engine

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tokentray/tokentray/internal/idpsim"
	"github.com/tokentray/tokentray/internal/state"
)

// TestTokenForConditionalAccessStaysWithCaller: Entra's Conditional Access
// answers for one resource (MFA, MFA enrollment, blocked, external
// challenge, device authentication; as interaction_required and as
// invalid_grant) go to the caller of that per-resource (or claims) request
// with the AADSTS code and what to do. The account stays ok with its
// schedule, its episodes and its error as they were; its own refresh and
// other resources keep working. Trust path: "a per-resource refusal belongs to its caller".
func TestTokenForConditionalAccessStaysWithCaller(t *testing.T) {
	for _, p := range []idpsim.ConditionalAccess{
		{AADSTS: 50076},
		{AADSTS: 50076, Error: "invalid_grant"},
		{AADSTS: 50079},
		{AADSTS: 53003},
		{AADSTS: 53003, Error: "invalid_grant"},
		{AADSTS: 50158},
		{AADSTS: 50097, Error: "invalid_grant"},
	} {
		t.Run(fmt.Sprintf("%s_%d", p.Error, p.AADSTS), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				w := newWorld(t, worldOpts{stored: storedNow})
				synctest.Wait()
				sub := w.subject["acct0"]
				w.sim.Consent(sub, "api://mfa")
				w.sim.Consent(sub, "api://reports")
				w.sim.RequireConditionalAccess("api://mfa", p)
				before := w.status("acct0")
				if before.State != state.OK {
					t.Fatalf("state before = %s; want %s", before.State, state.OK)
				}
				reqs := len(w.tokenRequests("acct0"))

				_, err := w.eng.TokenFor(t.Context(), "acct0", TokenRequest{Scopes: []string{"api://mfa/.default"}})
				code := fmt.Sprintf("AADSTS%d", p.AADSTS)
				if err == nil || errors.Is(err, ErrNeedsSignIn) || !errors.Is(err, ErrResource) ||
					!strings.Contains(err.Error(), code) || !strings.Contains(err.Error(), "api://mfa/.default") {
					t.Fatalf("TokenFor(api://mfa/.default) = %v; want an ErrResource error naming %s and the scope, not needs sign-in", err, code)
				}
				// A claims request for the resource (a resource's challenge) is refused alike.
				_, err = w.eng.TokenFor(t.Context(), "acct0", TokenRequest{Scopes: []string{"api://mfa/.default"}, Claims: `{"access_token":{"nbf":{"essential":true,"value":"1"}}}`})
				if errors.Is(err, ErrNeedsSignIn) || !errors.Is(err, ErrResource) || !strings.Contains(err.Error(), code) {
					t.Fatalf("TokenFor(api://mfa/.default, claims) = %v; want an ErrResource error naming %s, not needs sign-in", err, code)
				}
				synctest.Wait()
				after := w.status("acct0")
				if after.State != state.OK || after.LastError != nil || after.Failures != 0 || after.Reason != "" || !after.NextDue.Equal(before.NextDue) {
					t.Errorf("status after the refusal = %s (%q), last error %+v, failures %d, next due %v (was %v); want ok as before",
						after.State, after.Reason, after.LastError, after.Failures, after.NextDue, before.NextDue)
				}
				if n := len(w.episodes.started()); n != 0 {
					t.Errorf("episodes started = %d; want 0", n)
				}
				if _, err := w.eng.TokenFor(t.Context(), "acct0", TokenRequest{Scopes: []string{"api://reports/.default"}}); err != nil {
					t.Errorf("TokenFor(another resource) after the refusal = %v; want a token", err)
				}
				// The schedule still runs: the next main refresh happens and succeeds.
				time.Sleep(time.Until(before.NextDue) + time.Minute)
				synctest.Wait()
				st := w.status("acct0")
				if st.State != state.OK || !st.LastSuccess.After(before.LastSuccess) {
					t.Errorf("after the next due time: state %s, last success %v (was %v); want ok and a new success", st.State, st.LastSuccess, before.LastSuccess)
				}
				if got := len(w.tokenRequests("acct0")) - reqs; got != 4 {
					t.Errorf("provider requests = %d; want 4 (the two refused, another resource, the scheduled refresh)", got)
				}
			})
		})
	}
}
