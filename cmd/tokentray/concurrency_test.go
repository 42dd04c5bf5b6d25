package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokentray/tokentray/internal/idpsim"
	"github.com/tokentray/tokentray/internal/vault"
)

// Concurrency: the headless instance and 20 `tokentray token --min-valid 5m`
// processes start at the same moment while the stored access token is about
// to expire (2 minutes left, inside --min-valid and inside the instance's
// lookahead, and never refreshed, so the instance is due at once). Exactly
// one of the 21 may refresh; all 20 print the same token. The envelope is
// written straight into the vault, because an import would record an attempt
// and the instance's cooldown (≥ 5 min) would keep it out of the race.
// TOKENTRAY_SOAK=1 repeats the round 10 times.

func concurrencyRounds() int {
	if os.Getenv(soakEnv) == "1" {
		return 10
	}
	return 1
}

type roundFigures struct {
	refreshes     int
	byHeadless    bool
	startedBefore int // token processes started before the refresh request
	spread        time.Duration
}

// testVault is the vault c's processes use, opened by the test itself.
type testVault interface {
	Load(context.Context, string) (vault.Envelope, error)
	Save(context.Context, string, vault.Envelope) error
}

func vaultOf(c *cli, backend string) testVault {
	dir := filepath.Join(c.dir, "state", "tokentray")
	if backend == "file" {
		return vault.NewFile(filepath.Join(dir, "tokens.json"))
	}
	return vault.NewKeychain(vault.KeychainOptions{Timeout: 5 * time.Second, LockDir: filepath.Join(c.dir, "locks", "vault")})
}

// seedVault stores an envelope whose access token expires in 2 minutes.
func seedVault(t *testing.T, c *cli, backend, account, refreshToken string) {
	t.Helper()
	v := vaultOf(c, backend)
	now := time.Now()
	env := vault.Envelope{
		RefreshToken: refreshToken, AccessToken: "expiring-access-token", TokenType: "Bearer",
		Expiry: now.Add(2 * time.Minute), ObtainedAt: now.Add(-58 * time.Minute),
		Scopes: []string{"openid", "profile", "offline_access"},
	}
	if err := v.Save(t.Context(), account, env); err != nil {
		t.Fatalf("seed the %s vault: %v", backend, err)
	}
}

// ageAccessToken moves the stored envelope's obtained-at back by d: the
// access token is then an old one about to expire, not a fresh one of a
// short lifetime (which token serves for half its lifetime).
func ageAccessToken(t *testing.T, c *cli, backend, account string, d time.Duration) {
	t.Helper()
	v := vaultOf(c, backend)
	env, err := v.Load(t.Context(), account)
	if err != nil {
		t.Fatalf("load %s from the %s vault: %v", account, backend, err)
	}
	env.ObtainedAt = env.ObtainedAt.Add(-d)
	if err := v.Save(t.Context(), account, env); err != nil {
		t.Fatalf("age %s in the %s vault: %v", account, backend, err)
	}
}

// runConcurrencyRound starts the headless instance and 20 token processes
// together and checks one refresh and one token.
func runConcurrencyRound(t *testing.T, backend, account string, extraEnv ...string) roundFigures {
	sim, _, base := startSim(t, idpsim.Options{})
	c := newCLI(t, append([]string{"TOKENTRAY_MICROSOFT_LOGIN_BASE=" + base}, extraEnv...)...)
	c.must("", "config", "set", "storage.backend", backend)
	c.must("", "config", "set", "refresh.jitter_max", "0s")
	c.must("", "account", "add", account, "--provider", "microsoft", "--client-id", concClientID)
	subject := account + "@contoso.test"
	seedVault(t, c, backend, account, sim.Grant(concClientID, subject, nil))
	t.Cleanup(func() { c.run("", "logout", account) })

	const n = 20
	outs := make([]result, n)
	starts := make([]time.Time, n)
	var wg sync.WaitGroup
	ready := make(chan struct{}) // closed to start all contenders at once
	var h *headless
	wg.Add(1)
	go func() {
		defer wg.Done()
		<-ready
		h = startHeadlessNoWait(t, c)
	}()
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-ready
			starts[i] = time.Now()
			outs[i] = c.run("", "token", account, "--min-valid", "5m")
		}()
	}
	close(ready)
	wg.Wait()
	waitFor(t, 15*time.Second, "the headless instance to answer status", func() bool {
		r := c.run("", "status")
		return r.code == 0 && strings.Contains(r.stdout, "from running tokentray")
	})
	// A second more, so that a late second refresh would be counted too.
	settle := time.Now().Add(time.Second)
	waitFor(t, 5*time.Second, "a second to pass", func() bool { return time.Now().After(settle) })

	seen := map[string]int{}
	for i, r := range outs {
		if r.code != 0 {
			t.Errorf("token process %d: exit %d: %s", i, r.code, r.stderr)
			continue
		}
		tok := strings.TrimSpace(r.stdout)
		if !strings.HasPrefix(tok, idpsim.AccessPrefix) {
			t.Errorf("token process %d printed a token the simulator did not issue (the expiring one?)", i)
		}
		seen[hash(tok)]++
	}
	if len(seen) != 1 {
		t.Errorf("20 token processes printed %d different tokens (%v); want 1", len(seen), seen)
	}
	logs := h.logs.String()
	fig := roundFigures{refreshes: sim.Refreshes(subject), byHeadless: strings.Contains(logs, "msg=refresh account="+account+" result=ok")}
	if fig.refreshes != 1 {
		t.Errorf("the simulator recorded %d refreshes for the headless instance and 20 token processes at expiry; want exactly 1", fig.refreshes)
	}
	var at time.Time
	for _, r := range sim.Requests() {
		if r.Endpoint == "token" && r.GrantType == "refresh_token" && r.Subject == subject {
			at = r.Time
		}
	}
	first, last := starts[0], starts[0]
	for _, s := range starts {
		if s.Before(at) {
			fig.startedBefore++
		}
		first, last = minTime(first, s), maxTime(last, s)
	}
	fig.spread = last.Sub(first)
	c.assertNoSecrets(sim, "tokens.json")
	return fig
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func runConcurrency(t *testing.T, backend string, account func(round int) string, extraEnv ...string) {
	for round := range concurrencyRounds() {
		t.Run(fmt.Sprintf("round%d", round), func(t *testing.T) {
			start := time.Now()
			fig := runConcurrencyRound(t, backend, account(round), extraEnv...)
			t.Logf("RELIABILITY concurrency backend=%s round=%d processes=20 refreshes=%d by_headless=%v started_before_refresh=%d/20 start_spread=%v wall=%v",
				backend, round, fig.refreshes, fig.byHeadless, fig.startedBefore, fig.spread.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
		})
	}
}

func TestConcurrencyHeadlessAnd20TokenProcessesOneRefresh(t *testing.T) {
	runConcurrency(t, "file", func(int) string { return "work" })
}

func TestIntegrationConcurrencyKeychainOneRefresh(t *testing.T) {
	requireKeyring(t)
	var env []string
	if v, ok := os.LookupEnv("DBUS_SESSION_BUS_ADDRESS"); ok {
		env = append(env, "DBUS_SESSION_BUS_ADDRESS="+v)
	}
	runConcurrency(t, "keychain", func(round int) string {
		return fmt.Sprintf("conc-%d-%d", round, time.Now().UnixNano()%1e9)
	}, env...)
}

// TestIntegrationLockIgnoresEnvironment: 20 `token` processes at expiry over
// one keychain, half of them from a shell that exports XDG_CACHE_HOME (set
// to its own default) and another XDG_STATE_HOME, make one refresh and print
// one token: the lock is per user, not per environment. (On the code before
// config.LockDir the locks lived under the state dir, which moved with
// those variables: several processes redeemed the same refresh token.)
func TestIntegrationLockIgnoresEnvironment(t *testing.T) {
	requireKeyring(t)
	sim, _, base := startSim(t, idpsim.Options{})
	c := newCLI(t, "TOKENTRAY_MICROSOFT_LOGIN_BASE="+base)
	// The real per-user lock dir: no TOKENTRAY_LOCK_DIR in these processes.
	env := c.env[:0:0]
	for _, kv := range c.env {
		if !strings.HasPrefix(kv, "TOKENTRAY_LOCK_DIR=") {
			env = append(env, kv)
		}
	}
	if v, ok := os.LookupEnv("DBUS_SESSION_BUS_ADDRESS"); ok {
		env = append(env, "DBUS_SESSION_BUS_ADDRESS="+v)
	}
	c.env = env
	account := fmt.Sprintf("env-%d", time.Now().UnixNano()%1e9)
	c.must("", "account", "add", account, "--provider", "microsoft", "--client-id", testClientID)
	rt := sim.Grant(testClientID, "frank@contoso.test", nil)
	seedVault(t, c, "keychain", account, rt)
	before := sim.Refreshes("frank@contoso.test")

	other := append(append([]string(nil), env...),
		"XDG_CACHE_HOME="+filepath.Join(c.dir, ".cache"), "XDG_STATE_HOME="+filepath.Join(c.dir, "other-state"))
	outs := make([]result, 20)
	var wg sync.WaitGroup
	for i := range outs {
		wg.Go(func() {
			cc := &cli{t: t, env: env, dir: c.dir}
			if i%2 == 1 {
				cc.env = other
			}
			outs[i] = cc.run("", "token", account, "--min-valid", "5m")
		})
	}
	wg.Wait()
	seen := map[string]int{}
	for i, r := range outs {
		if r.code != 0 {
			t.Errorf("process %d: exit %d: %s", i, r.code, r.stderr)
			continue
		}
		seen[hash(strings.TrimSpace(r.stdout))]++
	}
	if got := sim.Refreshes("frank@contoso.test") - before; got != 1 || len(seen) != 1 {
		t.Errorf("20 processes with two environments made %d refreshes and printed %d tokens; want 1 and 1", got, len(seen))
	}
}
