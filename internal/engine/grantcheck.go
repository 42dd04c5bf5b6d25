package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tokentray/tokentray/internal/oauth"
)

// checkGrant runs after a narrower-scope refresh of a non-Microsoft account
// rotated its refresh token (and the new one is saved): RFC 6749 §6 says the
// new refresh token keeps the original scope, but some providers (the
// zitadel/oidc example OP) narrow it to the request's. So the account's own
// scopes are refreshed at once with the new refresh token, under the same
// flight and lock, as the account's own refresh (send: budgeted, committed,
// a failure recorded as the account's). If the provider answers
// invalid_scope it has narrowed the grant: the account needs sign-in (with
// a reason that says why) and narrower-scope requests stay off for it in
// this process, so a new sign-in is not narrowed again.
func (e *Engine) checkGrant(ctx context.Context, a *account, key string, now time.Time) {
	j := job{mode: modeToken}
	e.mu.Lock()
	err := e.gateLocked(a, j, now)
	env := a.env
	if err == nil {
		a.lastAttempt = now
	}
	e.mu.Unlock()
	if err != nil {
		return // the schedule checks later
	}
	_, err = e.send(ctx, a, j, env, now, storedRef{env, true}, true, time.Now())
	var oe *oauth.Error
	if !errors.As(err, &oe) || oe.Code != "invalid_scope" {
		return
	}
	why := fmt.Sprintf("the provider narrowed the account's sign-in to the scopes %q of a per-resource request (its new refresh token no longer covers the account's own scopes, which RFC 6749 §6 forbids)", key)
	msg := why + "; sign in again"
	e.mu.Lock()
	defer e.mu.Unlock()
	a.narrows = why
	a.reason = msg
	if a.lastErr != nil {
		a.lastErr.Message = msg
	}
}
