package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tokentray/tokentray/internal/oauth"
	"github.com/tokentray/tokentray/internal/state"
	"github.com/tokentray/tokentray/internal/vault"
)

// RefreshNow refreshes name at once, bypassing the interval and the
// cooldown. It is refused with a *Refused error while the provider's
// Retry-After runs or when the global budget is spent. Concurrent calls for
// one account share one refresh and its result. Once the request has been
// sent, cancelling ctx does not abandon it: the answer is read and saved
// (each step given at most 30 s more after ctx ends) before RefreshNow
// returns its result, so a refresh token the provider rotated is never lost
// to a Ctrl-C.
func (e *Engine) RefreshNow(ctx context.Context, name string) (state.Result, error) {
	a, err := e.account(name)
	if err != nil {
		return state.Result{}, err
	}
	e.mu.Lock()
	if f := a.manual; f != nil {
		e.mu.Unlock()
		select {
		case <-f.done:
			return f.res, f.err
		case <-ctx.Done():
			return state.Result{}, fmt.Errorf("refresh account %q: %w", name, ctx.Err())
		}
	}
	f := &flight{done: make(chan struct{})}
	a.manual = f
	e.mu.Unlock()

	out, err := e.run(ctx, a, job{mode: modeManual})
	f.res, f.err = out.res, err

	e.mu.Lock()
	a.manual = nil
	e.mu.Unlock()
	close(f.done)
	return f.res, f.err
}

// Token returns an access token of name that stays valid for at least
// minValid, refreshing first if needed. If the provider's access-token
// lifetime is shorter than minValid, no token can be valid that long: Token
// then serves one obtained less than half a lifetime ago (and not about to
// expire), so it refreshes at most once per half lifetime however often it
// is called, and sets AccessToken.ShorterThanAsked. Across processes only one
// refreshes: the others find the new token in the vault under the lock.
// As with RefreshNow, a refresh request already sent is completed and saved
// even if ctx ends meanwhile.
func (e *Engine) Token(ctx context.Context, name string, minValid time.Duration) (AccessToken, error) {
	a, err := e.account(name)
	if err != nil {
		return AccessToken{}, err
	}
	e.mu.Lock()
	env, ok := e.heldValidLocked(a, minValid, e.now())
	e.mu.Unlock()
	if !ok {
		out, err := e.run(ctx, a, job{mode: modeToken, minValid: minValid})
		if err != nil {
			return AccessToken{}, err
		}
		env = out.held
	}
	if env.AccessToken == "" {
		return AccessToken{}, fmt.Errorf("token for account %q: the provider returned no access token", name)
	}
	e.mu.Lock()
	unsaved := a.unsaved && a.env.AccessToken == env.AccessToken
	e.mu.Unlock()
	return envToken(env, minValid, unsaved), nil
}

// SignInMethod selects how SignIn signs in.
type SignInMethod struct {
	Device  bool                   // device code instead of the browser
	Browser oauth.BrowserOptions   // browser sign-in options
	Show    func(oauth.DeviceCode) // device sign-in: show the code to the user
}

// SignIn signs name in interactively and stores the new pair. The sign-in
// itself runs without holding the account's flight, so refreshes of other
// processes are not blocked by a user who takes their time. Removing the
// account cancels a sign-in still waiting for the user; SignIn then fails
// with ErrUnknownAccount and stores nothing.
func (e *Engine) SignIn(ctx context.Context, name string, m SignInMethod) (state.Result, error) {
	a, err := e.account(name)
	if err != nil {
		return state.Result{}, err
	}
	if e.sign == nil {
		return state.Result{}, fmt.Errorf("sign in account %q: %w", name, ErrNoSigner)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-a.gone:
			cancel()
		case <-ctx.Done():
		}
	}()
	prof := a.profile
	if prof.ClientSecret == "" {
		prof.ClientSecret = e.clientSecret(ctx, a)
		e.mu.Lock()
		a.env.ClientSecret = prof.ClientSecret // kept in the new envelope
		e.mu.Unlock()
	}
	var tok oauth.Token
	if m.Device {
		show := m.Show
		if show == nil {
			show = func(oauth.DeviceCode) {}
		}
		tok, err = e.sign.LoginDevice(ctx, prof, show)
	} else {
		tok, err = e.sign.LoginBrowser(ctx, prof, m.Browser)
	}
	if a.removed() {
		return state.Result{}, fmt.Errorf("sign in account %q: %w", name, ErrUnknownAccount)
	}
	if err != nil {
		return state.Result{}, fmt.Errorf("sign in account %q: %w", name, err)
	}
	// The user has signed in: store the pair even if the caller goes away now.
	sctx, scancel := detach(ctx, saveGrace)
	defer scancel()
	if err := e.acquire(sctx, a, true); err != nil {
		return state.Result{}, fmt.Errorf("sign in account %q: %w", name, err)
	}
	defer e.release(a)
	return e.storeHeld(sctx, a, tok, "sign in")
}

// Import stores refreshToken for name after proving it with one refresh
// (subject to Retry-After and the budget, like RefreshNow). The state of an
// account whose import fails is left as it was.
func (e *Engine) Import(ctx context.Context, name, refreshToken string) (state.Result, error) {
	a, err := e.account(name)
	if err != nil {
		return state.Result{}, err
	}
	if refreshToken == "" {
		return state.Result{}, fmt.Errorf("import account %q: the refresh token is empty", name)
	}
	if err := e.acquire(ctx, a, true); err != nil {
		return state.Result{}, fmt.Errorf("import account %q: %w", name, err)
	}
	defer e.release(a)
	now := e.now()
	e.mu.Lock()
	if a.retryAfterUntil.After(now) {
		r := &state.Refused{Reason: state.RefusedRetryAfter, Until: a.retryAfterUntil}
		e.mu.Unlock()
		return state.Result{}, fmt.Errorf("import account %q: %w", name, r)
	}
	if ok, until := e.bud.take(now.UnixNano()); !ok {
		e.mu.Unlock()
		return state.Result{}, fmt.Errorf("import account %q: %w", name, &state.Refused{Reason: state.RefusedBudget, Until: time.Unix(0, until)})
	}
	prof := a.profile
	e.mu.Unlock()
	// The provider may rotate refreshToken: keep its answer even if the
	// caller goes away now.
	xctx, cancel := detach(ctx, exchangeGrace)
	tok, err := e.ref.Refresh(xctx, prof, refreshToken, "")
	cancel()
	if err != nil {
		class := classOf(err)
		e.mu.Lock()
		e.counters.RefreshFailedTotal[class]++
		e.publishLocked()
		e.mu.Unlock()
		return state.Result{}, fmt.Errorf("import account %q: the refresh token was not accepted: %w", name, err)
	}
	if tok.RefreshToken == "" {
		tok.RefreshToken = refreshToken
	}
	sctx, cancel := detach(ctx, saveGrace)
	defer cancel()
	return e.storeHeld(sctx, a, tok, "import")
}

// storeHeld saves the pair of a sign-in or import under the lock file. The
// caller holds a's flight.
func (e *Engine) storeHeld(ctx context.Context, a *account, tok oauth.Token, what string) (state.Result, error) {
	e.setBusy(a)
	defer e.done(a)
	unlock, err := e.lockFile(ctx, a)
	if err != nil {
		return state.Result{}, fmt.Errorf("%s account %q: %w", what, a.name, err)
	}
	defer unlock()
	// What the store has now is what the new pair replaces, should its save
	// fail (a later retry must not undo a sign-out made after this).
	var base storedRef
	if cur, err := e.store.Load(ctx, a.name); err == nil && cur.RefreshToken != "" {
		base = storedRef{cur, true}
	}
	now := e.now()
	var env vault.Envelope
	e.mu.Lock()
	env.ClientSecret = a.env.ClientSecret
	e.mu.Unlock()
	if a.profile.ClientSecret != "" {
		env.ClientSecret = a.profile.ClientSecret
	}
	res, _ := e.commit(ctx, a, env, tok, now, what == "import", base, true)
	e.mu.Lock()
	a.radar.granted(tok, now, true, what == "sign in")
	a.state = state.OK
	if !res.Saved {
		a.state = state.StorageDegraded
	}
	a.lastAttempt = now
	e.mu.Unlock()
	e.logRefresh(a, "ok", tok.Fresh, res.Expiry, 0, what)
	return res, nil
}

// clientSecret is a confidential client's secret from the held or stored
// envelope ("" for public clients).
func (e *Engine) clientSecret(ctx context.Context, a *account) string {
	e.mu.Lock()
	cs := a.env.ClientSecret
	e.mu.Unlock()
	if cs != "" {
		return cs
	}
	if env, err := e.store.Load(ctx, a.name); err == nil {
		return env.ClientSecret
	}
	return ""
}

// SetClientSecret stores a confidential client's secret for name in the
// vault, keeping any tokens already there. Token requests of the account
// then authenticate with it; it never reaches the settings file.
func (e *Engine) SetClientSecret(ctx context.Context, name, secret string) error {
	a, err := e.account(name)
	if err != nil {
		return err
	}
	if err := e.acquire(ctx, a, true); err != nil {
		return fmt.Errorf("store client secret of account %q: %w", name, err)
	}
	defer func() { <-a.sem }()
	unlock, err := e.lockFile(ctx, a)
	if err != nil {
		return fmt.Errorf("store client secret of account %q: %w", name, err)
	}
	defer unlock()
	env, err := e.store.Load(ctx, name)
	if err != nil && !errors.Is(err, vault.ErrNotFound) {
		return fmt.Errorf("store client secret of account %q: %w", name, err)
	}
	env.ClientSecret = secret
	if err := e.store.Save(ctx, name, env); err != nil {
		return fmt.Errorf("store client secret of account %q: %w", name, err)
	}
	e.mu.Lock()
	a.env.ClientSecret = secret
	e.mu.Unlock()
	return nil
}

// SignOut revokes name's refresh token where the provider supports it
// (best effort) and deletes the stored envelope.
func (e *Engine) SignOut(ctx context.Context, name string) error {
	a, err := e.account(name)
	if err != nil {
		return err
	}
	if err := e.acquire(ctx, a, true); err != nil {
		return fmt.Errorf("sign out account %q: %w", name, err)
	}
	defer e.release(a)
	e.setBusy(a)
	defer e.done(a)
	unlock, err := e.lockFile(ctx, a)
	if err != nil {
		return fmt.Errorf("sign out account %q: %w", name, err)
	}
	defer unlock()
	e.mu.Lock()
	rt, unsaved := a.env.RefreshToken, a.unsaved
	e.mu.Unlock()
	if !unsaved {
		if env, err := e.store.Load(ctx, name); err == nil {
			rt = env.RefreshToken
		}
	}
	if e.sign != nil && rt != "" {
		if err := e.sign.Revoke(ctx, a.profile, rt); err != nil && !errors.Is(err, oauth.ErrRevokeUnsupported) {
			e.log.Warn("revoking the refresh token failed; deleting it locally anyway", "account", name, "error", err)
		}
	}
	if err := e.store.Delete(context.WithoutCancel(ctx), name); err != nil && !errors.Is(err, vault.ErrNotFound) {
		return fmt.Errorf("sign out account %q: delete stored token: %w", name, err)
	}
	e.mu.Lock()
	e.signedOutLocked(a)
	e.mu.Unlock()
	e.log.Info("signed out", "account", name)
	return nil
}
