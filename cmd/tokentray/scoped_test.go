package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokentray/tokentray/internal/config"
	"github.com/tokentray/tokentray/internal/control"
	"github.com/tokentray/tokentray/internal/idpsim"
	"github.com/tokentray/tokentray/internal/state"
	"github.com/tokentray/tokentray/internal/wire"
)

// scopeRequests counts the simulator's token requests whose scope names scope.
func scopeRequests(sim *idpsim.Server, scope string) int {
	n := 0
	for _, r := range sim.Requests() {
		if r.Endpoint == "token" && slices.Contains(strings.Fields(r.Scope), scope) {
			n++
		}
	}
	return n
}

func statusJSON(t *testing.T, c *cli) state.Snapshot {
	t.Helper()
	var s state.Snapshot
	if err := json.Unmarshal([]byte(c.must("", "status", "--json").stdout), &s); err != nil {
		t.Fatalf("status --json: %v", err)
	}
	return s
}

// evalSh runs exports through a real sh and returns the variable's value.
func evalSh(t *testing.T, exports, name string) string {
	t.Helper()
	cmd := exec.Command("sh", "-c", `eval "$(cat)" && printf %s "$`+name+`"`)
	cmd.Stdin = strings.NewReader(exports)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("sh eval of the exports: %v", err)
	}
	return string(out)
}

// TestCLIPerResourceTokenThroughKeeper: through a running keeper, 20
// concurrent `token --scope` calls for another resource make exactly one
// provider request and print one token whose audience is that resource;
// the refresh token it rotated is saved (the old one is refused under
// Strict rotation and the next main refresh uses the new one); status shows
// the cached set; a resource without consent exits 1 and leaves the account
// alone; --json and env carry the token; nothing leaks.
func TestCLIPerResourceTokenThroughKeeper(t *testing.T) {
	sim, _, base := startSim(t, idpsim.Options{Rotation: idpsim.Strict})
	const user = "frank@contoso.test"
	sim.Consent(user, "api://reports")
	sim.AddResource("api://locked")
	c := newFileAccountCLI(t, base, "work")
	oldRT := sim.Grant(testClientID, user, nil)
	c.must(oldRT+"\n", "import", "work", "--refresh-token-stdin")
	importedRT := c.storedRT(t)
	startHeadless(t, c)

	const scope = "api://reports/.default"
	outs := make([]result, 20)
	var wg sync.WaitGroup
	for i := range outs {
		wg.Go(func() { outs[i] = c.run("", "token", "work", "--scope", scope) })
	}
	wg.Wait()
	tokens := map[string]bool{}
	for i, r := range outs {
		if r.code != 0 {
			t.Fatalf("call %d: exit %d: %s", i, r.code, r.stderr)
		}
		tokens[strings.TrimSpace(r.stdout)] = true
	}
	if len(tokens) != 1 {
		t.Fatalf("20 concurrent calls printed %d different tokens; want 1", len(tokens))
	}
	if n := scopeRequests(sim, scope); n != 1 {
		t.Fatalf("provider requests for 20 concurrent token --scope %s = %d; want exactly 1", scope, n)
	}
	tok := strings.TrimSpace(outs[0].stdout)
	if info, ok := sim.Access(tok); !ok || info.Audience != "api://reports" {
		t.Errorf("printed token: audience %q (issued by the sim: %t); want api://reports", info.Audience, ok)
	}
	newRT := c.storedRT(t)
	if newRT == importedRT || sim.Valid(importedRT) {
		t.Fatalf("after the per-resource refresh the vault holds the imported refresh token (rotated %t), or the sim still takes it", newRT != importedRT)
	}
	before := sim.Refreshes(user)
	c.must("", "refresh", "work") // the main refresh: with the saved, rotated token
	if sim.Refreshes(user) != before+1 {
		t.Errorf("main refresh after a per-resource rotation made no successful request")
	}

	if r := c.must("", "status"); !strings.Contains(r.stdout, "work: cached token for "+scope+" until ") {
		t.Errorf("status lacks the cached scope set:\n%s", r.stdout)
	}
	if a, _ := statusJSON(t, c).Account("work"); len(a.Scoped) != 1 || a.Scoped[0].Scopes[0] != scope || a.Scoped[0].Expiry.IsZero() {
		t.Errorf("status --json scoped = %+v; want [%s with expiry]", a.Scoped, scope)
	}

	var js map[string]any
	r := c.must("", "token", "work", "--scope", scope, "--json")
	if err := json.Unmarshal([]byte(r.stdout), &js); err != nil {
		t.Fatalf("token --json: %v", err)
	}
	if js["access_token"] != tok || !strings.Contains(fmt.Sprint(js["scope"]), scope) || js["expires_on"] == nil || js["expires_at"] == nil {
		t.Errorf("token --json = fields %v; want the cached token, its scope, expires_on and expires_at", slices.Collect(mapKeys(js)))
	}
	if eo, _ := js["expires_on"].(float64); eo < float64(time.Now().Unix()) {
		t.Errorf("expires_on = %v; want unix seconds in the future", js["expires_on"])
	}
	if a, _ := statusJSON(t, c).Account("work"); a.SignedInAs.Username == "" || js["username"] != a.SignedInAs.Username {
		t.Errorf("token --json username = %v; want the account's user name %q (a mail server's XOAUTH2 user)", js["username"], a.SignedInAs.Username)
	}
	if got := evalSh(t, c.must("", "env", "work", "--resource", "api://reports", "--var", "REPORTS_TOKEN").stdout, "REPORTS_TOKEN"); got != tok {
		t.Errorf("env --resource api://reports: eval gives another value than the cached token")
	}
	if n := scopeRequests(sim, scope); n != 1 {
		t.Errorf("provider requests after --json and env = %d; want still 1 (cached)", n)
	}

	st := c.run("", "token", "work", "--resource", "api://locked")
	if st.code != 1 || !strings.Contains(st.stderr, "AADSTS65001") || !strings.Contains(st.stderr, "api://locked/.default") {
		t.Errorf("token --resource api://locked: exit %d, stderr %q; want 1 with AADSTS65001 naming the scope", st.code, st.stderr)
	}
	if a, _ := statusJSON(t, c).Account("work"); a.State != state.OK || a.LastError != nil {
		t.Errorf("account after a refused resource: state %s, last error %+v; want ok, none", a.State, a.LastError)
	}
	for _, bad := range [][]string{{"--scope", "a b"}, {"--resource", "not-a-uri"}, {"--claims", "!!"}} {
		if r := c.run("", append([]string{"token", "work"}, bad...)...); r.code != 2 || !strings.Contains(r.stderr, bad[0]) {
			t.Errorf("token %v: exit %d, stderr %q; want 2 naming %s", bad, r.code, r.stderr, bad[0])
		}
	}
	c.assertNoSecrets(sim, "tokens.json")
}

func mapKeys(m map[string]any) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func (c *cli) storedRT(t *testing.T) string {
	t.Helper()
	env, err := vaultOf(c, "file").Load(t.Context(), "work")
	if err != nil {
		t.Fatalf("load work from the file vault: %v", err)
	}
	return env.RefreshToken
}

// TestCLIPerResourceTokenInProcess: with no keeper running, token
// --resource and env redeem a per-resource token in-process under the
// lock and save the rotated refresh token.
func TestCLIPerResourceTokenInProcess(t *testing.T) {
	sim, _, base := startSim(t, idpsim.Options{Rotation: idpsim.Strict})
	const user = "gina@contoso.test"
	sim.Consent(user, "https://vault.azure.net")
	c := newFileAccountCLI(t, base, "work")
	c.must(sim.Grant(testClientID, user, nil)+"\n", "import", "work", "--refresh-token-stdin")
	imported := c.storedRT(t)
	tok := strings.TrimSpace(c.must("", "token", "work", "--resource", "https://vault.azure.net").stdout)
	if info, _ := sim.Access(tok); info.Audience != "https://vault.azure.net" {
		t.Errorf("audience = %q; want https://vault.azure.net", info.Audience)
	}
	if c.storedRT(t) == imported {
		t.Errorf("the rotated refresh token was not saved")
	}
	out := c.must("", "env", "work", "--resource", "https://vault.azure.net", "--shell", "fish").stdout
	if !regexp.MustCompile(`^set -gx TOKENTRAY_ACCESS_TOKEN 'simAT-[A-Za-z0-9_-]+'\nset -gx TOKENTRAY_ACCESS_TOKEN_EXPIRES_ON '\d+'\n$`).MatchString(out) {
		t.Errorf("env --shell fish printed an unexpected shape (%d bytes)", len(out))
	}
	for cmd, words := range map[string][]string{
		"token": {"--scope", "--resource", "--claims", "expires_on", "WWW-Authenticate", "16 scope sets"},
		"env":   {"eval \"$(tokentray env work)\"", "--shell", "fish", "powershell", "--var"},
	} {
		help := c.must("", cmd, "--help").stdout
		for _, w := range words {
			if !strings.Contains(help, w) {
				t.Errorf("%s --help lacks %q", cmd, w)
			}
		}
	}
	if r := c.must("", "account", "add", "--help"); !strings.Contains(r.stdout, "--client-capability") {
		t.Errorf("account add --help lacks --client-capability")
	}
	if r := c.run("", "env", "work", "--var", "1BAD"); r.code != 2 || !strings.Contains(r.stderr, "--var") {
		t.Errorf("env --var 1BAD: exit %d, stderr %q; want 2 naming --var", r.code, r.stderr)
	}
	if r := c.run("", "env", "work", "--shell", "tcsh"); r.code != 2 || !strings.Contains(r.stderr, "sh, fish, powershell") {
		t.Errorf("env --shell tcsh: exit %d, stderr %q; want 2 listing the shells", r.code, r.stderr)
	}
	c.assertNoSecrets(sim, "tokens.json")
}

// TestCLIClaimsChallenge: an account with --client-capability cp1 gets
// CAE tokens (xms_cc cp1); after the resource answers a claims challenge,
// `token --claims` refreshes at once with the claims (through the keeper)
// and the new token satisfies the resource.
func TestCLIClaimsChallenge(t *testing.T) {
	sim, _, base := startSim(t, idpsim.Options{})
	const user = "hank@contoso.test"
	c := newCLI(t, "TOKENTRAY_MICROSOFT_LOGIN_BASE="+base)
	c.must("", "config", "set", "storage.backend", "file")
	c.must("", "account", "add", "work", "--provider", "microsoft", "--client-id", testClientID, "--client-capability", "cp1")
	if r := c.run("", "account", "add", "bad", "--provider", "microsoft", "--client-id", testClientID, "--client-capability", "cp9"); r.code != 2 || !strings.Contains(r.stderr, "--client-capability") || !strings.Contains(r.stderr, "cp1") {
		t.Errorf("account add --client-capability cp9: exit %d, stderr %q; want 2 naming the flag and cp1", r.code, r.stderr)
	}
	c.must(sim.Grant(testClientID, user, nil)+"\n", "import", "work", "--refresh-token-stdin")
	startHeadless(t, c)
	get := func(tok string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, base+"/resource", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("WWW-Authenticate")
	}
	first := strings.TrimSpace(c.must("", "token", "work").stdout)
	if info, _ := sim.Access(first); !slices.Equal(info.Capabilities, []string{"cp1"}) {
		t.Fatalf("xms_cc of the account's token = %v; want [cp1]", info.Capabilities)
	}
	sim.Challenge(user)
	st, hdr := get(first)
	m := regexp.MustCompile(`claims="([^"]+)"`).FindStringSubmatch(hdr)
	if st != 401 || m == nil {
		t.Fatalf("resource after a challenge: %d %q; want 401 with claims", st, hdr)
	}
	before := sim.Refreshes(user)
	second := strings.TrimSpace(c.must("", "token", "work", "--claims", m[1]).stdout)
	if second == first || sim.Refreshes(user) != before+1 {
		t.Fatalf("token --claims: new token %t, refreshes %d; want a new token from one refresh", second != first, sim.Refreshes(user)-before)
	}
	if st, hdr := get(second); st != 200 {
		t.Errorf("resource with the token from --claims: %d %q; want 200", st, hdr)
	}
	if third := strings.TrimSpace(c.must("", "token", "work").stdout); third != second {
		t.Errorf("the main token after --claims is not the new one")
	}
	c.assertNoSecrets(sim, "tokens.json")
}

// TestCLIPerResourceTokenCrossProcess: with no keeper, 10 processes asking
// `token --scope` at once each redeem under the per-user lock after
// re-reading the vault, so none presents a refresh token another one has
// already rotated: under Strict rotation with reuse detection (a reused
// token would revoke the whole grant) every one succeeds and the account
// still refreshes afterwards.
func TestCLIPerResourceTokenCrossProcess(t *testing.T) {
	sim, _, base := startSim(t, idpsim.Options{Rotation: idpsim.Strict, ReuseRevokes: true})
	const user = "ivy@contoso.test"
	sim.Consent(user, "api://reports")
	c := newFileAccountCLI(t, base, "work")
	c.must(sim.Grant(testClientID, user, nil)+"\n", "import", "work", "--refresh-token-stdin")
	outs := make([]result, 10)
	var wg sync.WaitGroup
	for i := range outs {
		wg.Go(func() { outs[i] = c.run("", "token", "work", "--scope", "api://reports/.default") })
	}
	wg.Wait()
	for i, r := range outs {
		if r.code != 0 {
			t.Errorf("process %d: exit %d: %s", i, r.code, r.stderr)
		}
	}
	for _, r := range sim.Requests() {
		if r.Endpoint == "token" && r.Status != http.StatusOK {
			t.Errorf("a token request failed: %d %s AADSTS%d (a refresh token used twice?)", r.Status, r.Error, r.AADSTS)
		}
	}
	c.must("", "refresh", "work")
	c.assertNoSecrets(sim, "tokens.json")
}

// TestKeeperTokenForRequest: the keeper's token op serves scopes and
// claims sent over the socket, refuses bad ones itself (exit code 2, naming
// the problem), and an account added live with a client capability gets it
// on its refreshes.
func TestKeeperTokenForRequest(t *testing.T) {
	sim, _, base := startSim(t, idpsim.Options{})
	f := startKeeper(t, base)
	ctx := t.Context()
	if err := f.client.AddAccount(ctx, config.Account{Name: "live", Provider: "microsoft", ClientID: testClientID9, ClientCapabilities: []string{"cp1"}}, ""); err != nil {
		t.Fatalf("AddAccount(cp1) = %v", err)
	}
	const user = "jo@contoso.test"
	if _, err := f.client.Import(ctx, "live", sim.Grant(testClientID9, user, nil)); err != nil {
		t.Fatalf("Import = %v", err)
	}
	sim.Consent(user, "api://x")
	tok, err := f.client.Token(ctx, "live", control.TokenOptions{Scopes: []string{"api://x/.default"}})
	if err != nil {
		t.Fatalf("TokenFor(api://x) = %v", err)
	}
	info, _ := sim.Access(tok.AccessToken)
	if info.Audience != "api://x" || !slices.Equal(info.Capabilities, []string{"cp1"}) || !slices.Contains(tok.Scopes, "api://x/.default") {
		t.Errorf("token over the socket: audience %q, xms_cc %v, scopes %v; want api://x, [cp1], the scope", info.Audience, info.Capabilities, tok.Scopes)
	}
	var re *wire.ResponseError
	for _, tc := range []struct {
		o    control.TokenOptions
		want string
	}{
		{control.TokenOptions{Claims: "!!"}, "not base64"},
		{control.TokenOptions{Claims: "WzFd"}, "not a JSON object"},
	} {
		_, err := f.client.Token(ctx, "live", tc.o)
		if !errors.As(err, &re) || re.Code != exitUsage || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("TokenFor(%+v) = %v; want a usage refusal saying %q", tc.o, err, tc.want)
		}
	}
	// Scopes are checked by Request.Validate, in the client and again in the
	// server (control's TestDecodeTokenRequestScopes).
	if _, err := f.client.Token(ctx, "live", control.TokenOptions{Scopes: []string{"a b"}}); err == nil || !strings.Contains(err.Error(), "whitespace") {
		t.Errorf("TokenFor(scope \"a b\") = %v; want a refusal saying whitespace", err)
	}
}
