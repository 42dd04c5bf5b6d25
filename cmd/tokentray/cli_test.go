package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tokentray/tokentray/internal/idpsim"
)

// binPath is the tokentray binary under test: $TOKENTRAY_BIN, or one built
// once by TestMain.
var binPath string

func TestMain(m *testing.M) {
	binPath = os.Getenv("TOKENTRAY_BIN")
	var tmp string
	if binPath == "" {
		var err error
		tmp, err = os.MkdirTemp("", "tokentray-bin-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		binPath = filepath.Join(tmp, "tokentray")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			fmt.Fprintf(os.Stderr, "build tokentray: %v\n%s", err, out)
			os.Exit(1)
		}
	}
	code := m.Run()
	if tmp != "" {
		os.RemoveAll(tmp)
	}
	os.Exit(code)
}

// cli runs the binary with an isolated config and state directory.
type cli struct {
	t      *testing.T
	env    []string
	dir    string
	mu     sync.Mutex
	output bytes.Buffer // everything every command printed, except `token` and `env` stdout
}

func newCLI(t *testing.T, extraEnv ...string) *cli {
	t.Helper()
	dir := t.TempDir()
	env := []string{
		"HOME=" + dir,
		"XDG_CONFIG_HOME=" + filepath.Join(dir, "config"),
		"XDG_STATE_HOME=" + filepath.Join(dir, "state"),
		"XDG_CACHE_HOME=" + filepath.Join(dir, "cache"),
		"XDG_RUNTIME_DIR=" + filepath.Join(dir, "run"),
		"TOKENTRAY_LOCK_DIR=" + filepath.Join(dir, "locks"), // per test; processes of one test share it
		"PATH=" + os.Getenv("PATH"),
		"LANG=C.UTF-8",
	}
	os.MkdirAll(filepath.Join(dir, "run"), 0o700)
	return &cli{t: t, env: append(env, extraEnv...), dir: dir}
}

type result struct {
	stdout, stderr string
	code           int
}

func (c *cli) run(stdin string, args ...string) result {
	c.t.Helper()
	printsToken := len(args) > 0 && (args[0] == "token" || args[0] == "env")
	return c.exec(binPath, nil, "", stdin, !printsToken, args...)
}

// exec runs name with args in c's environment plus env, from dir ("" for
// the current one), with stdin, and returns what it printed and its exit
// code. Its stderr, and its stdout when recordStdout (not for commands
// whose stdout is a token), go to c's record for the secret scan.
func (c *cli) exec(name string, env []string, dir, stdin string, recordStdout bool, args ...string) result {
	c.t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(append([]string{}, c.env...), env...)
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		c.t.Fatalf("run %s %v: %v", name, args, err)
	}
	c.mu.Lock()
	if recordStdout {
		c.output.Write(out.Bytes())
	}
	c.output.Write(errb.Bytes())
	c.mu.Unlock()
	return result{out.String(), errb.String(), code}
}

func (c *cli) must(stdin string, args ...string) result {
	c.t.Helper()
	r := c.run(stdin, args...)
	if r.code != 0 {
		c.t.Fatalf("tokentray %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

// assertNoSecrets fails if any token the simulator issued appears in what
// the commands printed (other than `token`'s stdout) or in any file outside
// the vault.
func (c *cli) assertNoSecrets(sim *idpsim.Server, vaultFiles ...string) {
	c.t.Helper()
	issued := sim.Issued()
	if len(issued) == 0 {
		c.t.Fatal("the simulator issued no token; the secret scan would prove nothing")
	}
	skip := map[string]bool{}
	for _, f := range vaultFiles {
		skip[f] = true
	}
	texts := map[string]string{"command output": c.output.String()}
	filepath.Walk(c.dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() && !skip[filepath.Base(p)] {
			b, _ := os.ReadFile(p)
			texts[p] = string(b)
		}
		return nil
	})
	for where, text := range texts {
		for _, tok := range issued {
			if tok != "" && strings.Contains(text, tok) {
				c.t.Errorf("a token the simulator issued (%s…) appears in %s", tok[:min(8, len(tok))], where)
			}
		}
	}
}

func TestCLIConfigErrorsExit2(t *testing.T) {
	c := newCLI(t)
	r := c.run("", "config", "set", "refresh.interval_hours", "25")
	if r.code != 2 {
		t.Fatalf("config set 25: exit %d; want 2", r.code)
	}
	for _, w := range []string{"refresh.interval_hours", "25", "1–24"} {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("config set 25: stderr %q lacks %q", r.stderr, w)
		}
	}
	c2 := newCLI(t, "TOKENTRAY_REFRESH_INTERVAL_HOURS=abc")
	r = c2.run("", "config", "validate")
	if r.code != 2 || !strings.Contains(r.stderr, "TOKENTRAY_REFRESH_INTERVAL_HOURS") {
		t.Errorf("validate with env abc: exit %d, stderr %q; want 2 naming the variable", r.code, r.stderr)
	}
	c.must("", "config", "set", "refresh.interval_hours", "3")
	p := strings.TrimSpace(c.must("", "config", "path").stdout)
	os.WriteFile(p, []byte("refresh:\n  interval_hours: 3\nui:\n  start_minimised: true\n"), 0o600)
	r = c.run("", "config", "validate")
	if r.code != 2 || !strings.Contains(r.stderr, "ui.start_minimised") || !strings.Contains(r.stderr, "ui.start_minimized") {
		t.Errorf("validate with a typo: exit %d, stderr %q; want 2 naming the key and the suggestion", r.code, r.stderr)
	}
}

func TestCLIBadFlagsExit2NamingTheFlag(t *testing.T) {
	c := newCLI(t)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"token", "--min-valid", "abc"}, "--min-valid"},
		{[]string{"token", "--min-valid", "3h"}, "--min-valid"},
		{[]string{"status", "--bogus"}, "--bogus"},
		{[]string{"account", "add", "x", "--provider", "google", "--client-id", "y"}, "--provider"},
		{[]string{"account", "add", "x", "--provider", "microsoft"}, "--client-id"},
		{[]string{"account", "add", "x", "--provider", "oidc", "--client-id", "y", "--issuer", "http://idp.example.com"}, "--issuer"},
		{[]string{"account", "add", "bad name", "--provider", "microsoft", "--client-id", "y"}, "name"},
		{[]string{"import", "x"}, "--refresh-token-stdin"},
		{[]string{"token", "nobody"}, "nobody"},
		{[]string{"set", "x"}, "unknown command"},
		{[]string{"--set", "refresh.interval_hours=99", "config", "validate"}, "refresh.interval_hours"},
		{[]string{"idp-sim", "--addr", "0.0.0.0:0"}, "loopback"},
	}
	for _, tt := range tests {
		r := c.run("", tt.args...)
		if r.code != 2 || !strings.Contains(r.stderr, tt.want) {
			t.Errorf("tokentray %s: exit %d, stderr %q; want exit 2 naming %q", strings.Join(tt.args, " "), r.code, r.stderr, tt.want)
		}
	}
}

// expiresRewriter shortens expires_in in token responses while short is set,
// so a test can make the stored access token about to expire.
type expiresRewriter struct {
	h     http.Handler
	short atomic.Bool
	ttl   atomic.Int64 // seconds while short is set; 0 means 120
}

var expiresRE = regexp.MustCompile(`"expires_in":\s*\d+`)

func (x *expiresRewriter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !x.short.Load() || !strings.HasSuffix(r.URL.Path, "/token") {
		x.h.ServeHTTP(w, r)
		return
	}
	rec := httptest.NewRecorder()
	x.h.ServeHTTP(rec, r)
	ttl := x.ttl.Load()
	if ttl == 0 {
		ttl = 120
	}
	body := expiresRE.ReplaceAll(rec.Body.Bytes(), fmt.Appendf(nil, `"expires_in": %d`, ttl))
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.Header().Del("Content-Length")
	w.WriteHeader(rec.Code)
	w.Write(body)
}

// Client IDs of the tests' app registrations at the simulator. A Microsoft
// account's client ID is a GUID (tokentray refuses others).
const (
	testClientID  = "c1100000-0000-4000-8000-000000000001"
	testClientID9 = "c1900000-0000-4000-8000-000000000009"
	crashClientID = "c4a50000-0000-4000-8000-000000000001"
	confClientID  = "c0f10000-0000-4000-8000-000000000001"
	spaClientID   = "5ba10000-0000-4000-8000-000000000001"
	concClientID  = "c0c10000-0000-4000-8000-000000000001"
)

// newFileAccountCLI is a CLI on the file vault with one Microsoft account
// name (client testClientID) whose login host is the simulator at base.
func newFileAccountCLI(t *testing.T, base, name string) *cli {
	t.Helper()
	c := newCLI(t, "TOKENTRAY_MICROSOFT_LOGIN_BASE="+base)
	c.must("", "config", "set", "storage.backend", "file")
	c.must("", "account", "add", name, "--provider", "microsoft", "--client-id", testClientID)
	return c
}

func startSim(t *testing.T, o idpsim.Options) (*idpsim.Server, *expiresRewriter, string) {
	t.Helper()
	sim := idpsim.New(o)
	x := &expiresRewriter{h: sim}
	srv := httptest.NewServer(x)
	t.Cleanup(srv.Close)
	return sim, x, srv.URL
}

func hash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:8])
}

// TestCLIAccountLifecycle: add, import, token, refresh, status, logout, each
// a real process against the simulator over HTTP, with the file vault.
func TestCLIAccountLifecycle(t *testing.T) {
	sim, _, base := startSim(t, idpsim.Options{})
	c := newCLI(t, "TOKENTRAY_MICROSOFT_LOGIN_BASE="+base)
	c.must("", "config", "set", "storage.backend", "file")
	c.must("", "account", "add", "work", "--provider", "microsoft", "--tenant", "organizations", "--client-id", testClientID, "--scope", "User.Read")

	rt := sim.Grant(testClientID, "alice@contoso.test", []string{"offline_access", "openid", "profile", "User.Read"})
	r := c.must(rt+"\n", "import", "work", "--refresh-token-stdin")
	if !strings.Contains(r.stdout, "imported") {
		t.Errorf("import stdout = %q", r.stdout)
	}
	if got := sim.Refreshes("alice@contoso.test"); got != 1 {
		t.Errorf("after import the simulator saw %d refreshes; want 1 (the proof)", got)
	}

	tok := strings.TrimSpace(c.must("", "token", "work").stdout)
	if !strings.HasPrefix(tok, "simAT-") || strings.Contains(tok, "\n") {
		t.Fatalf("token printed %q; want one access token alone", tok)
	}
	if got := sim.Refreshes("alice@contoso.test"); got != 1 {
		t.Errorf("token with a valid stored token made %d refreshes; want still 1", got)
	}
	var tj struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if err := json.Unmarshal([]byte(c.must("", "token", "--json").stdout), &tj); err != nil || tj.AccessToken != tok || tj.ExpiresIn <= 0 {
		t.Errorf("token --json = %+v, %v; want the same token with expiry", tj, err)
	}

	r = c.must("", "refresh", "work")
	if !strings.Contains(r.stdout, "new access token from provider") {
		t.Errorf("refresh stdout = %q", r.stdout)
	}
	if got := sim.Refreshes("alice@contoso.test"); got != 2 {
		t.Errorf("after refresh the simulator saw %d refreshes; want 2", got)
	}
	tok2 := strings.TrimSpace(c.must("", "token").stdout)
	if tok2 == tok {
		t.Error("token after a forced refresh is unchanged")
	}

	var st struct {
		Accounts []struct {
			Name  string `json:"name"`
			State string `json:"state"`
		} `json:"accounts"`
		Counters map[string]any `json:"counters"`
	}
	if err := json.Unmarshal([]byte(c.must("", "status", "--json").stdout), &st); err != nil {
		t.Fatalf("status --json: %v", err)
	}
	if len(st.Accounts) != 1 || st.Accounts[0].State != "ok" {
		t.Errorf("status accounts = %+v; want work ok", st.Accounts)
	}
	for _, k := range []string{"refresh_success_total", "refresh_failed_total", "refresh_skipped_total"} {
		if _, ok := st.Counters[k]; !ok {
			t.Errorf("status --json counters lack %s: %v", k, st.Counters)
		}
	}

	c.must("", "logout", "work")
	r = c.run("", "token", "work")
	if r.code != 3 || !strings.Contains(r.stderr, "tokentray login work") {
		t.Errorf("token after logout: exit %d, stderr %q; want 3 with the fix", r.code, r.stderr)
	}
	c.assertNoSecrets(sim, "tokens.json")
}

// TestCLIRevokedGrantExit3: when the provider has ended the grant, token
// exits 3 and says to sign in; one request, no retry storm.
func TestCLIRevokedGrantExit3(t *testing.T) {
	sim, x, base := startSim(t, idpsim.Options{})
	c := newFileAccountCLI(t, base, "work")
	x.short.Store(true)
	c.must(sim.Grant(testClientID, "bob@contoso.test", nil)+"\n", "import", "work", "--refresh-token-stdin")
	ageAccessToken(t, c, "file", "work", 58*time.Minute)
	sim.RevokeGrant("bob@contoso.test")
	before := sim.Refreshes("bob@contoso.test")
	r := c.run("", "token", "work")
	if r.code != 3 || !strings.Contains(r.stderr, "login") {
		t.Errorf("token with a revoked grant: exit %d, stderr %q; want 3 telling to sign in", r.code, r.stderr)
	}
	r = c.run("", "token", "work")
	if r.code != 3 {
		t.Errorf("second token: exit %d; want 3", r.code)
	}
	if got := sim.Refreshes("bob@contoso.test") - before; got > 2 {
		t.Errorf("%d refresh requests after the grant ended; want at most one per command", got)
	}
	c.assertNoSecrets(sim, "tokens.json")
}

// TestCLITokenFrom20ProcessesOneRefresh: 20 `tokentray token` processes
// start together when the stored token is about to expire; exactly one
// refreshes and all print the same token.
func TestCLITokenFrom20ProcessesOneRefresh(t *testing.T) {
	sim, x, base := startSim(t, idpsim.Options{})
	c := newFileAccountCLI(t, base, "work")
	x.short.Store(true) // the imported access token lives 2 minutes: inside --min-valid 5m
	c.must(sim.Grant(testClientID, "carol@contoso.test", nil)+"\n", "import", "work", "--refresh-token-stdin")
	ageAccessToken(t, c, "file", "work", 58*time.Minute)
	x.short.Store(false)
	before := sim.Refreshes("carol@contoso.test")

	const n = 20
	outs := make([]result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i] = c.run("", "token", "work", "--min-valid", "5m")
		}()
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
	if len(seen) != 1 {
		t.Errorf("20 processes printed %d different tokens (%v); want 1", len(seen), seen)
	}
	if got := sim.Refreshes("carol@contoso.test") - before; got != 1 {
		t.Errorf("the simulator recorded %d refreshes for 20 concurrent token calls; want exactly 1", got)
	}
}

func TestCLIVersionAndHelp(t *testing.T) {
	c := newCLI(t)
	if r := c.must("", "version"); !strings.HasPrefix(r.stdout, "tokentray ") {
		t.Errorf("version = %q", r.stdout)
	}
	r := c.must("", "--help")
	for _, w := range []string{"Exit codes", "3  the account needs sign-in", "token", "status", "demo"} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("--help lacks %q", w)
		}
	}
}

// TestCLIRefreshThroughRunningHeadless: `refresh` and `status` reach a
// running headless instance over the control socket; a second launch hands
// over and exits 0; SIGTERM stops the instance cleanly.
func TestCLIRefreshThroughRunningHeadless(t *testing.T) {
	sim, _, base := startSim(t, idpsim.Options{})
	c := newFileAccountCLI(t, base, "work")
	c.must(sim.Grant(testClientID, "dave@contoso.test", nil)+"\n", "import", "work", "--refresh-token-stdin")

	h := startHeadless(t, c)
	before := sim.Refreshes("dave@contoso.test")
	r := c.must("", "refresh", "work")
	if !strings.Contains(r.stdout, "work: refreshed") {
		t.Errorf("refresh via the instance printed %q", r.stdout)
	}
	if got := sim.Refreshes("dave@contoso.test") - before; got != 1 {
		t.Errorf("refresh via the running instance made %d requests; want 1", got)
	}
	if n := strings.Count(h.logs.String(), "msg=refresh"); n < 1 {
		t.Errorf("the running instance logged no refresh; did the CLI refresh by itself?\n%s", h.logs.String())
	}
	if r := c.run("", "restart"); r.code != 2 || !strings.Contains(r.stderr, "cannot restart itself") {
		t.Errorf("restart of a headless keeper: exit %d, stderr %q; want 2 saying it cannot restart itself", r.code, r.stderr)
	}
	second := c.run("", "run", "--headless")
	if second.code != 0 || !strings.Contains(second.stderr, "already running") {
		t.Errorf("second launch: exit %d, stderr %q; want 0 and a hand-over", second.code, second.stderr)
	}
	h.cmd.Process.Signal(syscall.SIGTERM)
	if exited, ok := h.waitExit(5 * time.Second); !exited {
		t.Error("headless instance still runs 5 s after SIGTERM")
	} else if !ok {
		t.Errorf("headless instance exited with %v after SIGTERM; want 0", h.cmd.ProcessState)
	}
	c.assertNoSecrets(sim, "tokens.json")
}

// TestCLITokenThroughKeeperShortLifetime: with a keeper running and 60 s
// access tokens, 20 concurrent `token --min-valid 5m` calls cause one
// provider request (the held token is past half its lifetime) and print one
// token; 10 more calls right after cause none; each says on stderr that the
// provider's lifetime is shorter than asked.
func TestCLITokenThroughKeeperShortLifetime(t *testing.T) {
	sim, x, base := startSim(t, idpsim.Options{})
	c := newFileAccountCLI(t, base, "work")
	x.ttl.Store(60)
	x.short.Store(true)
	c.must(sim.Grant(testClientID, "erin@contoso.test", nil)+"\n", "import", "work", "--refresh-token-stdin")
	// 40 s of the 60 s gone: past half the lifetime, not yet expired.
	v := vaultOf(c, "file")
	env, err := v.Load(t.Context(), "work")
	if err != nil {
		t.Fatal(err)
	}
	env.ObtainedAt, env.Expiry = env.ObtainedAt.Add(-40*time.Second), env.Expiry.Add(-40*time.Second)
	if err := v.Save(t.Context(), "work", env); err != nil {
		t.Fatal(err)
	}
	startHeadless(t, c)
	before := sim.Refreshes("erin@contoso.test")

	outs := make([]result, 20)
	var wg sync.WaitGroup
	for i := range outs {
		wg.Go(func() { outs[i] = c.run("", "token", "work", "--min-valid", "5m") })
	}
	wg.Wait()
	seen := map[string]int{}
	for i, r := range outs {
		if r.code != 0 {
			t.Errorf("call %d: exit %d: %s", i, r.code, r.stderr)
			continue
		}
		seen[hash(strings.TrimSpace(r.stdout))]++
		if !strings.Contains(r.stderr, "less than --min-valid 5m0s") {
			t.Errorf("call %d stderr %q; want it to say the provider's lifetime is shorter than asked", i, r.stderr)
		}
	}
	if len(seen) != 1 {
		t.Errorf("20 calls printed %d different tokens; want 1", len(seen))
	}
	if got := sim.Refreshes("erin@contoso.test") - before; got != 1 {
		t.Errorf("20 concurrent token calls through the keeper made %d provider requests; want 1", got)
	}
	mid := sim.Refreshes("erin@contoso.test")
	for range 10 {
		c.must("", "token", "work", "--min-valid", "5m")
	}
	if got := sim.Refreshes("erin@contoso.test") - mid; got != 0 {
		t.Errorf("10 more token calls made %d provider requests; want 0 (the token is fresh for half its lifetime)", got)
	}
	c.assertNoSecrets(sim, "tokens.json")
}

func TestCLIAutostartEnableDisable(t *testing.T) {
	c := newCLI(t)
	c.must("", "autostart", "enable")
	entry := filepath.Join(c.dir, "config", "autostart", "tokentray.desktop")
	b, err := os.ReadFile(entry)
	if err != nil || !strings.Contains(string(b), "Exec=") {
		t.Fatalf("autostart enable wrote %q, %v", b, err)
	}
	var st struct {
		Enabled bool   `json:"enabled"`
		Where   string `json:"where"`
	}
	json.Unmarshal([]byte(c.must("", "autostart", "status", "--json").stdout), &st)
	if !st.Enabled || st.Where != entry {
		t.Errorf("status = %+v; want enabled at %s", st, entry)
	}
	if r := c.must("", "config", "show"); !strings.Contains(r.stdout, "autostart") || !regexp.MustCompile(`autostart\s+true\s+file`).MatchString(r.stdout) {
		t.Errorf("autostart setting not saved as true in the file:\n%s", r.stdout)
	}
	c.must("", "autostart", "disable")
	if _, err := os.Stat(entry); !os.IsNotExist(err) {
		t.Errorf("entry still there after disable: %v", err)
	}
}

func TestCLIDoctorJSON(t *testing.T) {
	_, _, base := startSim(t, idpsim.Options{})
	c := newFileAccountCLI(t, base, "work")
	r := c.run("", "doctor", "--json")
	var out struct {
		OK     bool `json:"ok"`
		Checks []struct {
			Name string `json:"name"`
			OK   bool   `json:"ok"`
		} `json:"checks"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("doctor --json: %v\n%s", err, r.stdout)
	}
	got := map[string]bool{}
	for _, ch := range out.Checks {
		got[ch.Name] = ch.OK
	}
	for _, name := range []string{"settings", "storage", "provider work", "clock work"} {
		if ok, present := got[name]; !present || !ok {
			t.Errorf("doctor check %q = %v (present %v); want ok: %s", name, ok, present, r.stdout)
		}
	}
	if _, present := got["tray host"]; !present {
		t.Error("doctor has no tray host check")
	}
}

// TestCLIKeychainIntegration: with the real Secret Service, tokens land in
// the keychain (secret-tool sees the item) and in no file at all.
func TestCLIKeychainIntegration(t *testing.T) {
	if os.Getenv("TOKENTRAY_KEYRING_TEST") != "1" {
		if os.Getenv("CI") == "true" {
			t.Fatal("keychain test needs TOKENTRAY_KEYRING_TEST=1 inside dbus-run-session with gnome-keyring (see .ci/with-keyring.sh)")
		}
		t.Skip("keychain test: run inside .ci/with-keyring.sh (make test does)")
	}
	sim, _, base := startSim(t, idpsim.Options{})
	c := newCLI(t, "TOKENTRAY_MICROSOFT_LOGIN_BASE="+base, "DBUS_SESSION_BUS_ADDRESS="+os.Getenv("DBUS_SESSION_BUS_ADDRESS"))
	name := fmt.Sprintf("kc-%d", os.Getpid())
	c.must("", "account", "add", name, "--provider", "microsoft", "--client-id", testClientID)
	c.must(sim.Grant(testClientID, "erin@contoso.test", nil)+"\n", "import", name, "--refresh-token-stdin")
	t.Cleanup(func() { c.run("", "logout", name) })
	tok := strings.TrimSpace(c.must("", "token", name).stdout)
	if !strings.HasPrefix(tok, "simAT-") {
		t.Fatalf("token = %q", tok[:min(len(tok), 8)])
	}
	out, err := exec.Command("secret-tool", "search", "--all", "service", "tokentray").CombinedOutput()
	if err != nil {
		t.Fatalf("secret-tool search: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "username = "+name) && !strings.Contains(string(out), name) {
		t.Errorf("secret-tool does not list the account %q:\n%s", name, out)
	}
	c.assertNoSecrets(sim) // no vault file exempt: nothing may hold a token
	c.must("", "logout", name)
	out, _ = exec.Command("secret-tool", "search", "--all", "service", "tokentray").CombinedOutput()
	if strings.Contains(string(out), "username = "+name+"\n") {
		t.Errorf("after logout the keychain still holds %q:\n%s", name, out)
	}
}

// TestCLIConfidentialClient: the client secret given on stdin reaches the
// vault (not the settings file) and authenticates the device sign-in and
// later refreshes.
func TestCLIConfidentialClient(t *testing.T) {
	_, _, base := startSim(t, idpsim.Options{ClientSecrets: map[string]string{confClientID: "very-secret-value"}, AutoApproveDevice: 1, DeviceInterval: time.Second})
	c := newCLI(t, "TOKENTRAY_MICROSOFT_LOGIN_BASE="+base)
	c.must("", "config", "set", "storage.backend", "file")
	c.must("very-secret-value\n", "account", "add", "conf", "--provider", "microsoft", "--client-id", confClientID, "--client-secret-stdin")
	p := strings.TrimSpace(c.must("", "config", "path").stdout)
	if b, _ := os.ReadFile(p); strings.Contains(string(b), "very-secret-value") {
		t.Fatal("the client secret was written to the settings file")
	}
	if r := c.run("", "token", "conf"); r.code != 3 {
		t.Errorf("token before sign-in: exit %d; want 3", r.code)
	}
	r := c.must("", "login", "conf", "--device")
	if !strings.Contains(r.stdout, "signed in") {
		t.Errorf("login --device printed %q", r.stdout)
	}
	c.must("", "refresh", "conf")
	if tok := strings.TrimSpace(c.must("", "token", "conf").stdout); !strings.HasPrefix(tok, "simAT-") {
		t.Errorf("token after sign-in = %q", tok[:min(8, len(tok))])
	}
}

func TestCLIAccountRemoveDeletesSecretsAndSettings(t *testing.T) {
	sim, _, base := startSim(t, idpsim.Options{})
	c := newFileAccountCLI(t, base, "gone")
	c.must(sim.Grant(testClientID, "frank@contoso.test", nil)+"\n", "import", "gone", "--refresh-token-stdin")
	c.must("", "account", "remove", "gone")
	if r := c.must("", "account", "list", "--json"); strings.Contains(r.stdout, `"gone"`) {
		t.Errorf("account list after remove: %s", r.stdout)
	}
	b, _ := os.ReadFile(filepath.Join(c.dir, "state", "tokentray", "tokens.json"))
	if strings.Contains(string(b), "simRT-") {
		t.Error("the refresh token is still in the vault after account remove")
	}
	if r := c.run("", "token", "gone"); r.code != 2 {
		t.Errorf("token for a removed account: exit %d; want 2", r.code)
	}
}

// expireSoon makes the stored access token of account one that expires in
// 2 minutes (obtained and expiry moved back alike), so token must refresh.
func expireSoon(t *testing.T, c *cli, account string) {
	t.Helper()
	v := vaultOf(c, "file")
	env, err := v.Load(t.Context(), account)
	if err != nil {
		t.Fatal(err)
	}
	d := time.Until(env.Expiry) - 2*time.Minute
	env.ObtainedAt, env.Expiry = env.ObtainedAt.Add(-d), env.Expiry.Add(-d)
	if err := v.Save(t.Context(), account, env); err != nil {
		t.Fatal(err)
	}
}

// TestCLIUnsavedRotationIsAFailure: under strict rotation a `token` or
// `refresh` whose new pair cannot be saved exits 1, prints no token, and
// says which account's rotated refresh token is held only in memory and
// what to do — instead of exiting 0 with the only copy of the new refresh
// token gone with the process. (Before: token printed the access token and
// exited 0; refresh said "NOT saved … retrying" and exited 0.) The save
// fails the way a full disk or quota makes it fail: the command runs with a
// file-size limit of 0 (ulimit -f 0, RLIMIT_FSIZE, which binds root too and
// needs no special file system), so every write returns "file too large"
// while the vault can still be read.
func TestCLIUnsavedRotationIsAFailure(t *testing.T) {
	sim, _, base := startSim(t, idpsim.Options{Rotation: idpsim.Strict})
	c := newFileAccountCLI(t, base, "work")
	c.must(sim.Grant(testClientID, "gina@contoso.test", nil)+"\n", "import", "work", "--refresh-token-stdin")
	vaultFile := filepath.Join(c.dir, "state", "tokentray", "tokens.json")

	for _, args := range [][]string{{"token", "work"}, {"refresh", "work"}} {
		t.Run(args[0], func(t *testing.T) {
			expireSoon(t, c, "work")
			stored, err := os.ReadFile(vaultFile)
			if err != nil {
				t.Fatalf("the file vault is not where this test makes saves fail: %v", err)
			}
			// sh runs the command with no file-size allowance; the output goes
			// to pipes, which the limit does not bind.
			r := c.exec("/bin/sh", nil, "", "", args[0] != "token", append([]string{"-c", `ulimit -f 0 && exec "$0" "$@"`, binPath}, args...)...)
			if r.code != 1 {
				t.Errorf("%s with a failing save: exit %d; want 1 (stderr %q)", args[0], r.code, r.stderr)
			}
			if args[0] == "token" && strings.TrimSpace(r.stdout) != "" {
				t.Errorf("token printed %q although its rotated refresh token was not saved; want nothing on stdout", r.stdout)
			}
			if !strings.Contains(r.stderr, `account "work"`) || !strings.Contains(r.stderr, "rotated") || !strings.Contains(r.stderr, "run the command again") {
				t.Errorf("stderr %q; want it to name the account, the rotated token and what to do", r.stderr)
			}
			if now, err := os.ReadFile(vaultFile); err != nil || string(now) != string(stored) {
				t.Errorf("the vault changed under the file-size limit (%v); the save was meant to fail", err)
			}
			// The grant is lost to this process's exit (strict rotation): sign
			// in again, as the message said, for the next round.
			c.must(sim.Grant(testClientID, "gina@contoso.test", nil)+"\n", "import", "work", "--refresh-token-stdin")
		})
	}
	c.assertNoSecrets(sim, "tokens.json")
}

// TestCLIInterruptedRefreshLosesNothing: a `refresh` interrupted by SIGINT
// or SIGTERM while its request is at a strictly rotating provider — before
// the provider processed it, or after it rotated the refresh token with the
// answer still on its way — loses no grant: the next refresh works. (Before:
// no signal handling, and the answer in flight was dropped with the
// command's context; under strict rotation the grant was gone.)
func TestCLIInterruptedRefreshLosesNothing(t *testing.T) {
	sim := idpsim.New(idpsim.Options{Rotation: idpsim.Strict})
	hook := &simHook{h: sim}
	srv := httptest.NewServer(hook)
	t.Cleanup(srv.Close)
	c := newFileAccountCLI(t, srv.URL, "work")
	c.must(sim.Grant(testClientID, "hank@contoso.test", nil)+"\n", "import", "work", "--refresh-token-stdin")
	rnd := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	lost := 0
	for i := range 12 {
		sig, afterAnswer := []os.Signal{os.Interrupt, syscall.SIGTERM}[i%2], i%4 >= 2
		delay := time.Duration(rnd.IntN(40)) * time.Millisecond
		hook.arm(300*time.Millisecond, afterAnswer)
		p := startProcess(t, c.env, "refresh", "work")
		select {
		case <-hook.held:
		case <-p.exited:
			t.Fatalf("cycle %d: refresh exited before the provider held its request:\n%s", i, p.logs.String())
		case <-time.After(20 * time.Second):
			t.Fatalf("cycle %d: the refresh request did not reach the provider", i)
		}
		time.Sleep(delay) // a point inside the exchange
		p.cmd.Process.Signal(sig)
		if exited, _ := p.waitExit(40 * time.Second); !exited {
			t.Fatalf("cycle %d: refresh still runs 40 s after %v", i, sig)
		}
		if r := c.run("", "refresh", "work"); r.code != 0 {
			lost++
			t.Errorf("cycle %d (%v %v after the request was held, answered first: %v): the next refresh exits %d: %s", i, sig, delay, afterAnswer, r.code, r.stderr)
			c.must(sim.Grant(testClientID, "hank@contoso.test", nil)+"\n", "import", "work", "--refresh-token-stdin")
		}
	}
	t.Logf("RELIABILITY interrupted refresh rotation=strict cycles=12 signals=SIGINT,SIGTERM lost=%d", lost)
	c.assertNoSecrets(sim, "tokens.json")
}
