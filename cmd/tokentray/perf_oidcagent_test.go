//go:build linux

package main

// `tokentray token` against its peer, oidc-agent's `oidc-token`, both
// signed in to the same OpenID Provider (the zitadel/oidc v3 example OP,
// in-process on loopback). Part of make bench; skipped without
// TOKENTRAY_PERF=1.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/oauth2"
)

// exampleOP is the zitadel/oidc example OpenID Provider on a loopback
// port, issuer http://localhost:PORT, with a public PKCE client "native"
// (tokentray) and a confidential client "agent" (oidc-agent, whose
// loopback listener is agentRedirect).
type exampleOP struct {
	issuer, user, password string
	authURL, tokenURL      string
	tokenPosts             atomic.Int64 // requests to the token endpoint
}

func startExampleOP(t *testing.T, agentRedirect string) *exampleOP {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o := &exampleOP{issuer: fmt.Sprintf("http://localhost:%d", ln.Addr().(*net.TCPAddr).Port), password: "verysecure"}
	o.user = "test-user@localhost"
	clients := map[string]*storage.Client{
		"native": storage.NativeClient("native", "http://127.0.0.1/callback"),
		"agent":  storage.WebClient("agent", "agent-secret", agentRedirect),
	}
	st := storage.NewStorageWithClients(storage.NewUserStore(o.issuer), clients)
	h := exampleop.SetupServer(o.issuer, st, slog.New(slog.NewTextHandler(io.Discard, nil)), false, op.WithAllowInsecure())
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/token") {
			o.tokenPosts.Add(1)
		}
		h.ServeHTTP(w, r)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	var disc struct {
		Auth  string `json:"authorization_endpoint"`
		Token string `json:"token_endpoint"`
	}
	resp, err := http.Get(o.issuer + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatalf("example OP discovery: %v", err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&disc); err != nil || disc.Auth == "" || disc.Token == "" {
		t.Fatalf("example OP discovery: %v %+v", err, disc)
	}
	o.authURL, o.tokenURL = disc.Auth, disc.Token
	return o
}

// signIn plays the browser: it opens authURL, posts the example OP's login
// form and follows the redirects. A redirect for which stop is true is not
// followed; its URL is returned. Otherwise the last page is returned.
func (o *exampleOP) signIn(ctx context.Context, authURL string, stop func(*url.URL) bool) (*url.URL, string, error) {
	jar, _ := cookiejar.New(nil)
	var stopped *url.URL
	hc := &http.Client{Jar: jar, Timeout: 30 * time.Second, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if stop != nil && stop(req.URL) {
			stopped = req.URL
			return http.ErrUseLastResponse
		}
		return nil
	}}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, authURL, nil)
	resp, err := hc.Do(req)
	if err != nil {
		return nil, "", err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	id := resp.Request.URL.Query().Get("authRequestID")
	if resp.StatusCode != http.StatusOK || id == "" {
		return nil, "", errors.New("no login page: " + resp.Status + " " + resp.Request.URL.String() + " " + string(body))
	}
	form := url.Values{"id": {id}, "username": {o.user}, "password": {o.password}}
	req, _ = http.NewRequestWithContext(ctx, http.MethodPost, o.issuer+"/login/username", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err = hc.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	body, _ = io.ReadAll(resp.Body)
	if stopped != nil {
		return stopped, "", nil
	}
	return resp.Request.URL, string(body), nil
}

// nativeRefreshToken signs in with the public client "native" (code flow
// with PKCE, the browser played by the test) and returns the refresh token.
func (o *exampleOP) nativeRefreshToken(t *testing.T) string {
	t.Helper()
	cfg := oauth2.Config{ClientID: "native", RedirectURL: "http://127.0.0.1/callback",
		Endpoint: oauth2.Endpoint{AuthURL: o.authURL, TokenURL: o.tokenURL, AuthStyle: oauth2.AuthStyleInParams},
		Scopes:   []string{"openid", "offline_access", "profile"}}
	verifier := oauth2.GenerateVerifier()
	u, _, err := o.signIn(t.Context(), cfg.AuthCodeURL("perf-state", oauth2.S256ChallengeOption(verifier)),
		func(u *url.URL) bool { return u.Host == "127.0.0.1" && u.Path == "/callback" })
	if err != nil || u == nil {
		t.Fatalf("sign in with the native client: %v (stopped at %v)", err, u)
	}
	tok, err := cfg.Exchange(t.Context(), u.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil || tok.RefreshToken == "" {
		t.Fatalf("code exchange: %v (refresh token: %v)", err, tok != nil && tok.RefreshToken != "")
	}
	return tok.RefreshToken
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

var authorizeURLRE = regexp.MustCompile(`http://localhost:\d+/\S*\?\S*response_type=code\S*`)

// startOIDCAgent runs oidc-agent in the foreground on a private socket and
// signs it in with oidc-gen (code flow; the test plays the browser and the
// redirect reaches the agent's own loopback listener). It returns the env
// the oidc-* commands need.
func startOIDCAgent(t *testing.T, o *exampleOP, home string, port int, name string) []string {
	t.Helper()
	for _, tool := range []string{"oidc-agent", "oidc-gen", "oidc-token"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed (apt-get install oidc-agent-cli; bash .ci/bench.sh installs it): %v", tool, err)
		}
	}
	sock := filepath.Join(t.TempDir(), "oidc-agent.sock")
	env := []string{"HOME=" + home, "XDG_CONFIG_HOME=" + filepath.Join(home, "config"), "PATH=" + os.Getenv("PATH"),
		"TMPDIR=" + os.TempDir(), "LANG=C.UTF-8", "OIDC_SOCK=" + sock}
	agent := startProc(t, "oidc-agent", env, "oidc-agent", "--console", "--socket-path="+sock, "--no-autoload", "--no-scheme")
	waitFor(t, 10*time.Second, "the oidc-agent socket", func() bool {
		_, err := os.Stat(sock)
		return err == nil
	})
	pw := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pw, []byte("perf-password\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	gen := exec.Command("oidc-gen", name, "--iss="+o.issuer, "--client-id=agent", "--client-secret=agent-secret",
		"--flow=code", fmt.Sprintf("--redirect-uri=http://localhost:%d/callback", port), "--scope=openid offline_access profile",
		"--no-url-call", "--prompt=none", "--pw-file="+pw, "--confirm-default")
	gen.Env = env
	out := &syncBuffer{}
	gen.Stdout, gen.Stderr = out, out
	if err := gen.Start(); err != nil {
		t.Fatalf("oidc-gen: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- gen.Wait() }()
	var authURL string
	deadline := time.Now().Add(20 * time.Second)
	for authURL == "" {
		if m := authorizeURLRE.FindString(out.String()); m != "" {
			authURL = m
			break
		}
		select {
		case err := <-done:
			t.Fatalf("oidc-gen exited before printing an authorization URL: %v\n%s\noidc-agent: %s", err, out.String(), agent.out.String())
		default:
		}
		if time.Now().After(deadline) {
			gen.Process.Kill()
			t.Fatalf("oidc-gen printed no authorization URL within 20 s:\n%s\noidc-agent: %s", out.String(), agent.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	final, page, err := o.signIn(t.Context(), authURL, nil)
	if err != nil {
		gen.Process.Kill()
		t.Fatalf("browser for oidc-gen: %v\noidc-gen: %s\noidc-agent: %s", err, out.String(), agent.out.String())
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("oidc-gen: %v\n%s\nbrowser ended at %s: %.300s\noidc-agent: %s", err, out.String(), final, page, agent.out.String())
		}
	case <-time.After(30 * time.Second):
		gen.Process.Kill()
		t.Fatalf("oidc-gen did not finish 30 s after the redirect:\n%s\nbrowser ended at %s: %.300s\noidc-agent: %s", out.String(), final, page, agent.out.String())
	}
	t.Logf("oidc-gen: %s", out.String())
	return env
}

// hyperfineMedians runs hyperfine (no shell, warm-up 3) over cmds in env
// and returns each command's median wall time.
func hyperfineMedians(t *testing.T, env []string, runs int, cmds ...string) []time.Duration {
	t.Helper()
	js := filepath.Join(t.TempDir(), "hf.json")
	args := []string{"-N", "--warmup", "3", "--runs", fmt.Sprint(runs), "--export-json", js, "--style", "none"}
	cmd := exec.Command("hyperfine", append(args, cmds...)...)
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("hyperfine: %v\n%s", err, out)
	}
	b, err := os.ReadFile(js)
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Results []struct {
			Command string  `json:"command"`
			Median  float64 `json:"median"`
		} `json:"results"`
	}
	if err := json.Unmarshal(b, &res); err != nil || len(res.Results) != len(cmds) {
		t.Fatalf("hyperfine JSON: %v (%d results)", err, len(res.Results))
	}
	var d []time.Duration
	for _, r := range res.Results {
		d = append(d, time.Duration(r.Median*float64(time.Second)))
	}
	return d
}

// TestPerfTokenVsOIDCAgent compares, against the same provider in the same
// run: `oidc-token NAME` (oidc-agent 4.2.6 holding a valid access token),
// `tokentray token NAME` with a keeper running as installed (the front,
// cmd/tokentray-front, answering from the keeper over the control socket)
// and through the full program, `tokentray token NAME` without a keeper
// (in-process, file vault), `tokentray version` (the process floor) and
// /bin/true. No case refreshes (the OP counts token-endpoint requests).
// Figures: hyperfine medians (when hyperfine is installed) and an own
// interleaved loop of N runs of each.
func TestPerfTokenVsOIDCAgent(t *testing.T) {
	requirePerf(t)
	agentPort := freePort(t)
	o := startExampleOP(t, fmt.Sprintf("http://localhost:%d/callback", agentPort))

	// tokentray with a keeper (k) and without (n): two homes, one account
	// each, signed in with its own refresh token.
	k := newCLI(t)
	n := newCLI(t)
	for _, c := range []*cli{k, n} {
		c.must("", "config", "set", "storage.backend", "file")
		c.must("", "account", "add", "idp", "--provider", "oidc", "--issuer", o.issuer, "--client-id", "native")
		c.must(o.nativeRefreshToken(t)+"\n", "import", "idp", "--refresh-token-stdin")
	}
	startProc(t, "keeper", k.env, binPath, "run", "--headless")
	waitFor(t, 20*time.Second, "the headless keeper to answer status", func() bool {
		r := k.run("", "status")
		return r.code == 0 && strings.Contains(r.stdout, "from running tokentray")
	})

	agentEnv := startOIDCAgent(t, o, t.TempDir(), agentPort, "perf")
	// One environment for every command of the keeper case: tokentray's
	// isolated dirs plus the agent's socket.
	env := append(append([]string{}, k.env...), "OIDC_SOCK="+envValue(agentEnv, "OIDC_SOCK"))
	truePath, err := exec.LookPath("true")
	if err != nil {
		t.Fatal(err)
	}
	check := func(env []string, name string, args ...string) {
		_, out := runTimed(t, env, name, args...)
		if len(strings.TrimSpace(out)) < 20 {
			t.Fatalf("%s %v printed no token: %q", name, args, out)
		}
	}
	// The front, installed as `tokentray` (bin/tokentray; the full program
	// it hands other calls to is binPath).
	frontPath := filepath.Join(t.TempDir(), "tokentray")
	if out, err := exec.Command("go", "build", "-o", frontPath, "../tokentray-front").CombinedOutput(); err != nil {
		t.Fatalf("go build ../tokentray-front: %v\n%s", err, out)
	}
	env = append(env, "TOKENTRAY_CORE="+binPath)
	nenv := append(append([]string{}, n.env...), "TOKENTRAY_CORE="+binPath)
	check(env, "oidc-token", "perf")
	check(env, frontPath, "token", "idp")
	check(env, binPath, "token", "idp")
	check(nenv, frontPath, "token", "idp")

	nop := buildHelper(t, "nopgo", "package main\n\n// Exits at once: the floor of a Go process's exec time.\nfunc main() {}\n")
	// The floor of any Go client of the keeper: the same token request with
	// raw system calls and nothing else (no os, no JSON; prints the raw
	// answer line), what a front could reach at the very best.
	floor := buildHelper(t, "floorclient", floorClientSrc)
	env = append(env, "FLOOR_SOCKET="+filepath.Join(envValue(k.env, "XDG_RUNTIME_DIR"), "tokentray", "control.sock"))
	check(env, floor)
	runs := perfRuns()
	posts0 := o.tokenPosts.Load()
	names := []string{"/bin/true", "empty-go-program", "go-floor-client", "tokentray-version", "oidc-token", "tokentray-token-keeper", "full-token-keeper", "tokentray-token-no-keeper"}
	loop := map[string]*series{}
	for _, nm := range names {
		loop[nm] = &series{name: nm}
	}
	for range runs {
		r, _ := runTimed(t, env, truePath)
		loop["/bin/true"].add(r)
		r, _ = runTimed(t, env, nop)
		loop["empty-go-program"].add(r)
		r, _ = runTimed(t, env, floor)
		loop["go-floor-client"].add(r)
		r, _ = runTimed(t, env, binPath, "version")
		loop["tokentray-version"].add(r)
		r, _ = runTimed(t, env, "oidc-token", "perf")
		loop["oidc-token"].add(r)
		r, _ = runTimed(t, env, frontPath, "token", "idp")
		loop["tokentray-token-keeper"].add(r)
		r, _ = runTimed(t, env, binPath, "token", "idp")
		loop["full-token-keeper"].add(r)
		r, _ = runTimed(t, nenv, frontPath, "token", "idp") // the front execs the full program

		loop["tokentray-token-no-keeper"].add(r)
	}
	posts := o.tokenPosts.Load() - posts0
	med := map[string]time.Duration{}
	for _, nm := range names {
		s := loop[nm]
		med[nm] = medianOf(s.wall)
		perf("peer-loop", "cmd", nm, "runs", runs, "median_ms", ms(med[nm]), "p90_ms", ms(p90Of(s.wall)), "cpu_median_ms", ms(medianOf(s.cpus)),
			"minor_faults_median", s.medianMinflt())
	}
	ratio := func(a, b time.Duration) string { return fmt.Sprintf("%.2f", float64(a)/float64(b)) }
	perf("token-vs-oidc-token", "method", "interleaved-loop", "runs", runs,
		"tokentray_keeper_ms", ms(med["tokentray-token-keeper"]), "oidc_token_ms", ms(med["oidc-token"]),
		"ratio", ratio(med["tokentray-token-keeper"], med["oidc-token"]),
		"full_keeper_ms", ms(med["full-token-keeper"]), "full_keeper_ratio", ratio(med["full-token-keeper"], med["oidc-token"]),
		"no_keeper_ms", ms(med["tokentray-token-no-keeper"]), "no_keeper_ratio", ratio(med["tokentray-token-no-keeper"], med["oidc-token"]),
		"version_ms", ms(med["tokentray-version"]), "empty_go_ms", ms(med["empty-go-program"]), "true_ms", ms(med["/bin/true"]),
		"version_ratio", ratio(med["tokentray-version"], med["oidc-token"]), "empty_go_ratio", ratio(med["empty-go-program"], med["oidc-token"]),
		"keeper_vs_true", ratio(med["tokentray-token-keeper"], med["/bin/true"]),
		"floor_ms", ms(med["go-floor-client"]), "floor_ratio", ratio(med["go-floor-client"], med["oidc-token"]),
		"op_token_requests", posts, "target_ratio", "1.0", "met", metStr(med["tokentray-token-keeper"] <= med["oidc-token"]))

	if _, err := exec.LookPath("hyperfine"); err != nil {
		perf("token-vs-oidc-token", "method", "hyperfine", "error", "hyperfine-not-installed")
		return
	}
	posts0 = o.tokenPosts.Load()
	hk := hyperfineMedians(t, env, runs, truePath, binPath+" version", "oidc-token perf", frontPath+" token idp", nop, binPath+" token idp", floor)
	hn := hyperfineMedians(t, nenv, runs, binPath+" version", frontPath+" token idp")
	posts = o.tokenPosts.Load() - posts0
	for i, nm := range []string{"/bin/true", "tokentray-version", "oidc-token", "tokentray-token-keeper", "empty-go-program", "full-token-keeper", "go-floor-client"} {
		perf("peer-hyperfine", "cmd", nm, "runs", runs, "median_ms", ms(hk[i]))
	}
	perf("peer-hyperfine", "cmd", "tokentray-version-no-keeper-env", "runs", runs, "median_ms", ms(hn[0]))
	perf("peer-hyperfine", "cmd", "tokentray-token-no-keeper", "runs", runs, "median_ms", ms(hn[1]))
	perf("token-vs-oidc-token", "method", "hyperfine", "runs", runs,
		"tokentray_keeper_ms", ms(hk[3]), "oidc_token_ms", ms(hk[2]), "ratio", ratio(hk[3], hk[2]),
		"full_keeper_ms", ms(hk[5]), "full_keeper_ratio", ratio(hk[5], hk[2]),
		"no_keeper_ms", ms(hn[1]), "no_keeper_ratio", ratio(hn[1], hk[2]),
		"version_ms", ms(hk[1]), "empty_go_ms", ms(hk[4]), "true_ms", ms(hk[0]), "keeper_vs_true", ratio(hk[3], hk[0]),
		"version_ratio", ratio(hk[1], hk[2]), "empty_go_ratio", ratio(hk[4], hk[2]),
		"floor_ms", ms(hk[6]), "floor_ratio", ratio(hk[6], hk[2]),
		"op_token_requests", posts, "target_ratio", "1.0", "met", metStr(hk[3] <= hk[2]))
}

// floorClientSrc asks the keeper on $FLOOR_SOCKET for account idp's token
// with raw system calls and prints the answer line.
const floorClientSrc = `package main

import "syscall"

func main() {
	path, _ := syscall.Getenv("FLOOR_SOCKET")
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		syscall.Exit(9)
	}
	if err := syscall.Connect(fd, &syscall.SockaddrUnix{Name: path}); err != nil {
		syscall.Exit(9)
	}
	syscall.Write(fd, []byte("{\"proto\":2,\"op\":\"token\",\"account\":\"idp\",\"min_valid\":300000000000}\n"))
	buf := make([]byte, 0, 16384)
	tmp := make([]byte, 16384)
	for {
		n, err := syscall.Read(fd, tmp)
		if n > 0 {
			buf = append(buf, tmp[:n]...)
			if buf[len(buf)-1] == '\n' {
				break
			}
		}
		if n <= 0 || err != nil {
			break
		}
	}
	if len(buf) < 12 || string(buf[:10]) != "{\"ok\":true" {
		syscall.Exit(1)
	}
	syscall.Write(1, buf)
}
`

func envValue(env []string, key string) string {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, key+"="); ok {
			return v
		}
	}
	return ""
}
