package engine

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tokentray/tokentray/internal/idpsim"
	"github.com/tokentray/tokentray/internal/oauth"
	"github.com/tokentray/tokentray/internal/state"
	"github.com/tokentray/tokentray/internal/vault"
)

// scopedRequests lists the simulator's refresh requests of account whose
// scope parameter names scope.
func (w *world) scopedRequests(account, scope string) int {
	n := 0
	for _, r := range w.tokenRequests(account) {
		if slices.Contains(strings.Fields(r.Scope), scope) {
			n++
		}
	}
	return n
}

// TestTokenForResource: a per-resource token has that resource as audience,
// 20 concurrent callers share one request, later calls are served from the
// cache, the rotated refresh token is saved before the token is handed out
// (the old one is refused under Strict rotation and the next main refresh
// uses the new one), and the snapshot lists the set and its expiry.
func TestTokenForResource(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, worldOpts{noRun: true, stored: storedNow, lockDir: t.TempDir(), sim: idpsim.Options{Rotation: idpsim.Strict}})
		w.sim.Consent(w.subject["acct0"], "api://reports")
		oldRT := w.storedRT("acct0")
		const scope = "api://reports/.default"
		toks := concurrently(t, 20, "TokenFor("+scope+")", func() (AccessToken, error) {
			return w.eng.TokenFor(t.Context(), "acct0", TokenRequest{Scopes: []string{scope}, MinValid: time.Minute})
		})
		if n := w.scopedRequests("acct0", scope); n != 1 {
			t.Fatalf("provider requests for 20 concurrent TokenFor(%s) = %d; want 1", scope, n)
		}
		for i, tok := range toks {
			if tok.Token != toks[0].Token {
				t.Fatalf("caller %d got another token; want the shared one", i)
			}
		}
		info, ok := w.sim.Access(toks[0].Token)
		if !ok || info.Audience != "api://reports" {
			t.Errorf("audience of the per-resource token = %q (known %t); want api://reports", info.Audience, ok)
		}
		if !slices.Contains(toks[0].Scopes, scope) {
			t.Errorf("Scopes = %v; want it to include %s", toks[0].Scopes, scope)
		}
		newRT := w.storedRT("acct0")
		if newRT == oldRT || newRT != w.newestRT() {
			t.Fatalf("stored refresh token after the per-resource refresh is not the rotated one")
		}
		if w.sim.Valid(oldRT) {
			t.Errorf("old refresh token still valid under Strict; the test proves nothing")
		}
		time.Sleep(10 * time.Minute)
		if tok, err := w.eng.TokenFor(t.Context(), "acct0", TokenRequest{Scopes: []string{scope}, MinValid: time.Minute}); err != nil || tok.Token != toks[0].Token {
			t.Errorf("TokenFor 10 min later = %v, %v; want the cached token", tok, err)
		}
		if n := w.scopedRequests("acct0", scope); n != 1 {
			t.Errorf("provider requests after a cached call = %d; want still 1", n)
		}
		st := w.status("acct0")
		if len(st.Scoped) != 1 || !slices.Equal(st.Scoped[0].Scopes, []string{scope}) || !st.Scoped[0].Expiry.Equal(toks[0].Expiry) {
			t.Errorf("Snapshot Scoped = %+v; want [%s until %v]", st.Scoped, scope, toks[0].Expiry)
		}
		// Within MinValid of its expiry the cached token is replaced.
		time.Sleep(time.Until(toks[0].Expiry.Add(-4 * time.Minute)))
		renewed, err := w.eng.TokenFor(t.Context(), "acct0", TokenRequest{Scopes: []string{scope}, MinValid: 5 * time.Minute})
		if err != nil || renewed.Token == toks[0].Token || !renewed.Expiry.After(toks[0].Expiry) {
			t.Errorf("TokenFor 4 min before expiry with MinValid 5m = %v, %v; want a new token", renewed, err)
		}
		if n := w.scopedRequests("acct0", scope); n != 2 {
			t.Errorf("provider requests after the cached token neared expiry = %d; want 2", n)
		}
		if w.storedRT("acct0") != w.newestRT() {
			t.Errorf("the second per-resource rotation was not saved")
		}
		// The main token: the account's own scopes, refreshed with the new RT.
		if _, err := w.eng.RefreshNow(t.Context(), "acct0"); err != nil {
			t.Fatalf("RefreshNow after a per-resource rotation = %v (the old refresh token was used?)", err)
		}
		main, err := w.eng.TokenFor(t.Context(), "acct0", TokenRequest{Scopes: []string{"User.Read"}})
		if err != nil {
			t.Fatalf("TokenFor(own scopes) = %v", err)
		}
		env, _ := w.mem.Load(t.Context(), "acct0")
		if main.Token != env.AccessToken {
			t.Errorf("TokenFor(the account's own scopes) did not serve the main token")
		}
	})
}

// TestTokenForResourceFailures: a resource the user has not consented to,
// or that does not exist, fails for the caller only: the account stays OK,
// keeps its schedule and gets no notification. A revoked grant makes it
// need sign-in, as a main refresh does.
func TestTokenForResourceFailures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, worldOpts{noRun: true, stored: storedNow})
		if _, err := w.eng.RefreshNow(t.Context(), "acct0"); err != nil {
			t.Fatal(err)
		}
		w.sim.AddResource("api://locked")
		before := w.status("acct0")
		for scope, want := range map[string]string{
			"api://locked/.default":  "AADSTS65001",
			"api://nowhere/.default": "AADSTS500011",
			"User.Read":              "AADSTS70011", // with .default below: Microsoft refuses the mix
		} {
			req := TokenRequest{Scopes: []string{scope}}
			if scope == "User.Read" {
				req.Scopes = append(req.Scopes, "https://graph.microsoft.com/.default")
			}
			_, err := w.eng.TokenFor(t.Context(), "acct0", req)
			if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), scope) || errors.Is(err, ErrNeedsSignIn) {
				t.Errorf("TokenFor(%s) = %v; want a %s error naming the scope, not needs sign-in", scope, err, want)
			}
		}
		after := w.status("acct0")
		if after.State != state.OK || after.LastError != nil || !after.NextDue.Equal(before.NextDue) || after.Failures != 0 {
			t.Errorf("status after resource failures = %s, last error %+v, next due %v (was %v), failures %d; want OK, none, unchanged, 0",
				after.State, after.LastError, after.NextDue, before.NextDue, after.Failures)
		}
		synctest.Wait()
		if n := len(w.episodes.started()); n != 0 {
			t.Errorf("episodes started = %d; want 0", n)
		}
		w.sim.RevokeGrant(w.subject["acct0"])
		_, err := w.eng.TokenFor(t.Context(), "acct0", TokenRequest{Scopes: []string{"api://locked/.default"}})
		if err == nil {
			t.Fatalf("TokenFor on a revoked grant succeeded")
		}
		w.sim.Consent(w.subject["acct0"], "api://other")
		_, err = w.eng.TokenFor(t.Context(), "acct0", TokenRequest{Scopes: []string{"api://other/.default"}})
		if !errors.Is(err, ErrNeedsSignIn) || !strings.Contains(err.Error(), "AADSTS50173") {
			t.Errorf("TokenFor on a revoked grant = %v; want needs sign-in with AADSTS50173", err)
		}
		if st := w.status("acct0"); st.State != state.NeedsSignIn {
			t.Errorf("state after a revoked grant = %s; want %s", st.State, state.NeedsSignIn)
		}
		synctest.Wait()
		if n := len(w.episodes.started()); n != 1 {
			t.Errorf("episodes started after a revoked grant = %d; want 1", n)
		}
	})
}

// TestTokenForCacheBound: at most ScopedPerUser sets are cached per
// account; the least recently used is dropped and asked for again.
func TestTokenForCacheBound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, worldOpts{noRun: true, stored: storedNow})
		scope := func(i int) string { return fmt.Sprintf("api://r%d/.default", i) }
		for i := range ScopedPerUser + 1 {
			w.sim.Consent(w.subject["acct0"], fmt.Sprintf("api://r%d", i))
			if _, err := w.eng.TokenFor(t.Context(), "acct0", TokenRequest{Scopes: []string{scope(i)}}); err != nil {
				t.Fatalf("TokenFor(%s) = %v", scope(i), err)
			}
		}
		st := w.status("acct0")
		if len(st.Scoped) != ScopedPerUser || st.Scoped[0].Scopes[0] != scope(1) {
			t.Fatalf("cached sets = %d, oldest %v; want %d, oldest %s", len(st.Scoped), st.Scoped[0].Scopes, ScopedPerUser, scope(1))
		}
		for _, i := range []int{1, 0} {
			if _, err := w.eng.TokenFor(t.Context(), "acct0", TokenRequest{Scopes: []string{scope(i)}}); err != nil {
				t.Fatal(err)
			}
		}
		if a, b := w.scopedRequests("acct0", scope(1)), w.scopedRequests("acct0", scope(0)); a != 1 || b != 2 {
			t.Errorf("requests for the kept set = %d, for the dropped one = %d; want 1 and 2", a, b)
		}
		time.Sleep(2 * time.Hour)
		if st := w.status("acct0"); len(st.Scoped) != 0 {
			t.Errorf("snapshot lists %d expired scope sets; want none", len(st.Scoped))
		}
	})
}

// TestTokenForClaims: an account with cp1 declares it on every refresh;
// Claims forces a refresh that carries the challenge's claims, merged with
// cp1, even while the held token is fresh, and the new token is served and
// kept as the main token.
func TestTokenForClaims(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, worldOpts{noRun: true, stored: storedNow, profile: func(p *oauth.Profile) { p.Capabilities = []string{"cp1"} }})
		first, err := w.eng.Token(t.Context(), "acct0", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if info, _ := w.sim.Access(first.Token); !slices.Equal(info.Capabilities, []string{"cp1"}) {
			t.Errorf("xms_cc of a cp1 account's token = %v; want [cp1]", info.Capabilities)
		}
		b64 := w.sim.Challenge(w.subject["acct0"])
		claims, err := oauth.DecodeClaimsChallenge(b64)
		if err != nil {
			t.Fatal(err)
		}
		got, err := w.eng.TokenFor(t.Context(), "acct0", TokenRequest{Claims: claims, MinValid: time.Minute})
		if err != nil {
			t.Fatalf("TokenFor(claims) = %v", err)
		}
		info, _ := w.sim.Access(got.Token)
		if got.Token == first.Token || info.ClaimsNbf == 0 || !slices.Equal(info.Capabilities, []string{"cp1"}) {
			t.Errorf("claims refresh: new token %t, nbf %d, xms_cc %v; want a new token carrying nbf and cp1", got.Token != first.Token, info.ClaimsNbf, info.Capabilities)
		}
		if tok, _ := w.eng.Token(t.Context(), "acct0", time.Minute); tok.Token != got.Token {
			t.Errorf("main token after a claims refresh is not the new one")
		}
		if n := len(w.tokenRequests("acct0")); n != 2 {
			t.Errorf("refresh requests = %d; want 2 (first token, forced claims refresh)", n)
		}
		// Callers that got the same challenge at once share one refresh.
		time.Sleep(time.Minute)
		var wg sync.WaitGroup
		shared := make([]AccessToken, 5)
		for i := range shared {
			wg.Go(func() { shared[i], _ = w.eng.TokenFor(t.Context(), "acct0", TokenRequest{Claims: claims}) })
		}
		wg.Wait()
		for _, s := range shared {
			if s.Token == "" || s.Token != shared[0].Token || s.Token == got.Token {
				t.Fatalf("5 concurrent claims calls did not share one new token")
			}
		}
		if n := len(w.tokenRequests("acct0")); n != 3 {
			t.Errorf("refresh requests after 5 concurrent claims calls = %d; want 3 (one more)", n)
		}
		// A per-resource claims refresh bypasses the cache too.
		w.sim.Consent(w.subject["acct0"], "api://r")
		req := TokenRequest{Scopes: []string{"api://r/.default"}}
		a, _ := w.eng.TokenFor(t.Context(), "acct0", req)
		req.Claims = claims
		b, err := w.eng.TokenFor(t.Context(), "acct0", req)
		if err != nil || a.Token == b.Token {
			t.Errorf("per-resource claims refresh = %v, new token %t; want a new token", err, a.Token != b.Token)
		}
		if _, err := w.eng.TokenFor(t.Context(), "acct0", TokenRequest{Claims: "[1]"}); err == nil || !strings.Contains(err.Error(), "JSON object") {
			t.Errorf("TokenFor(claims [1]) = %v; want a JSON object error", err)
		}
	})
}

// TestTokenForRotatedUnsaved: when saving the refresh token a per-resource
// refresh rotated fails, the pair is held in memory and marked unsaved, and
// the next save stores it.
func TestTokenForRotatedUnsaved(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var fs *failNextSaves
		w := newWorld(t, worldOpts{noRun: true, stored: storedNow, sim: idpsim.Options{Rotation: idpsim.Strict},
			store: func(m *vault.Memory) store { fs = &failNextSaves{store: m}; return fs }})
		w.sim.Consent(w.subject["acct0"], "api://r")
		fs.set(1)
		tok, err := w.eng.TokenFor(t.Context(), "acct0", TokenRequest{Scopes: []string{"api://r/.default"}})
		if err != nil || !tok.Unsaved {
			t.Fatalf("TokenFor with a failing save = %v, unsaved %t; want the token, unsaved", err, tok.Unsaved)
		}
		if st := w.status("acct0"); !st.Storage.Degraded || st.State != state.StorageDegraded {
			t.Errorf("status = %s, degraded %t; want storage degraded", st.State, st.Storage.Degraded)
		}
		if err := w.eng.Flush(t.Context()); err != nil {
			t.Fatalf("Flush() = %v", err)
		}
		if w.storedRT("acct0") != w.newestRT() {
			t.Errorf("after Flush the store does not hold the rotated refresh token")
		}
		if _, err := w.eng.RefreshNow(t.Context(), "acct0"); err != nil {
			t.Errorf("RefreshNow after the held rotation was saved = %v", err)
		}
	})
}

// oidcProfile makes the world's accounts plain OpenID Connect accounts on
// the simulator, with narrower_scopes as given.
func oidcProfile(narrower bool) func(*oauth.Profile) {
	return func(p *oauth.Profile) {
		ep := idpsim.EndpointsFor(simBase, "")
		p.Provider, p.Tenant, p.Issuer = oauth.ProviderOIDC, "", ep.Issuer
		p.Endpoints = oauth.Endpoints{Auth: ep.Auth, Token: ep.Token, Issuer: ep.Issuer}
		p.Scopes = []string{"openid", "offline_access", "profile", "User.Read"}
		p.NarrowerScopes = narrower
	}
}

// TestTokenForShortLifetimeHalfRule: invariant 7 for per-resource tokens —
// when the resource's tokens live shorter than MinValid, a cached token is
// served until half its lifetime has passed, so calls in a loop refresh at
// most once per half lifetime and say the lifetime is shorter than asked.
func TestTokenForShortLifetimeHalfRule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, worldOpts{noRun: true, stored: storedNow, sim: idpsim.Options{AccessTTL: time.Minute}})
		w.sim.Consent(w.subject["acct0"], "api://reports")
		const scope = "api://reports/.default"
		get := func() AccessToken {
			t.Helper()
			tok, err := w.eng.TokenFor(t.Context(), "acct0", TokenRequest{Scopes: []string{scope}, MinValid: 5 * time.Minute})
			if err != nil {
				t.Fatalf("TokenFor(%s) = %v", scope, err)
			}
			return tok
		}
		first := get()
		if !first.ShorterThanAsked || first.Lifetime != time.Minute {
			t.Errorf("first token: lifetime %s, shorter than asked %v; want 1m and true", first.Lifetime, first.ShorterThanAsked)
		}
		for range 5 { // 25 s of calls, inside the first half lifetime
			time.Sleep(5 * time.Second)
			if tok := get(); tok.Token != first.Token {
				t.Fatal("a call within half the lifetime refreshed; want the cached token")
			}
		}
		if n := w.scopedRequests("acct0", scope); n != 1 {
			t.Fatalf("requests in the first half lifetime = %d; want 1", n)
		}
		time.Sleep(10 * time.Second) // past half the lifetime
		if tok := get(); tok.Token == first.Token {
			t.Error("a call after half the lifetime served the old token; want a fresh one")
		}
		if n := w.scopedRequests("acct0", scope); n != 2 {
			t.Errorf("requests after half the lifetime = %d; want 2", n)
		}
	})
}

// TestTokenForNarrowerScopeNeedsOptIn: a non-Microsoft account without
// narrower_scopes refuses a per-resource token before any request (some
// providers narrow the sign-in itself on such a refresh), and stays as it was.
func TestTokenForNarrowerScopeNeedsOptIn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, worldOpts{noRun: true, stored: storedNow, profile: oidcProfile(false)})
		before := w.status("acct0")
		_, err := w.eng.TokenFor(t.Context(), "acct0", TokenRequest{Scopes: []string{"profile"}})
		if !errors.Is(err, ErrResource) || !strings.Contains(err.Error(), "narrower_scopes: true") {
			t.Fatalf("TokenFor(profile) without NarrowerScopes = %v; want ErrResource naming narrower_scopes", err)
		}
		if n := len(w.tokenRequests("acct0")); n != 0 {
			t.Errorf("requests without the opt-in = %d; want 0", n)
		}
		if st := w.status("acct0"); st.State != before.State || st.Reason != before.Reason {
			t.Errorf("state after a refused narrower scope = %s (%q); want it unchanged, %s (%q)", st.State, st.Reason, before.State, before.Reason)
		}
	})
}

// TestTokenForNarrowerScopeOIDC: for a non-Microsoft account a per-resource
// request is a narrower scope on refresh (RFC 6749 §6, without Microsoft's
// base scopes); when it rotates the refresh token, the account's own scopes
// are refreshed at once with the new one to check the provider kept the
// grant (the simulator does), and the account stays OK with a fresh main
// token.
func TestTokenForNarrowerScopeOIDC(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, worldOpts{noRun: true, stored: storedNow, profile: oidcProfile(true)})
		tok, err := w.eng.TokenFor(t.Context(), "acct0", TokenRequest{Scopes: []string{"profile"}})
		if err != nil {
			t.Fatalf("TokenFor(profile) = %v", err)
		}
		reqs := w.tokenRequests("acct0")
		if len(reqs) != 2 || reqs[0].Scope != "offline_access profile" || reqs[1].Scope != "openid offline_access profile User.Read" {
			var got []string
			for _, r := range reqs {
				got = append(got, r.Scope)
			}
			t.Fatalf("requests = %q; want the narrower scope, then the account's own", got)
		}
		st := w.status("acct0")
		if st.State != state.OK || st.LastSuccess.IsZero() {
			t.Errorf("state %s, last success %v; want OK after the grant check refreshed the main token", st.State, st.LastSuccess)
		}
		if main, err := w.eng.Token(t.Context(), "acct0", time.Minute); err != nil || main.Token == tok.Token {
			t.Errorf("main Token() = %v, %v; want the checked main token, not the narrower one", main, err)
		}
		if n := len(w.tokenRequests("acct0")); n != 2 {
			t.Errorf("requests after Token() = %d; want still 2", n)
		}
		if w.storedRT("acct0") != w.newestRT() {
			t.Errorf("the store does not hold the newest refresh token")
		}
	})
}
