package main

import (
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokentray/tokentray/internal/credential"
	"github.com/tokentray/tokentray/internal/doctor"
	"github.com/tokentray/tokentray/internal/idpsim"
)

// The adapters (kubectl-credential, git-credential) end to end: the built
// binary, the simulator over HTTP, and the real clients — Debian's kubectl
// against a loopback API stub and git cloning over smart HTTP from a
// loopback git http-backend — each server accepting only the account's
// current access token.

// runAdapter runs an adapter command of the binary. Its stdout holds a
// token and is not recorded for the secret scan; its stderr is.
func (c *cli) runAdapter(env []string, stdin string, args ...string) result {
	c.t.Helper()
	return c.exec(binPath, env, "", stdin, false, args...)
}

// runTool runs another program (git, kubectl) in c's environment plus env;
// everything it prints is recorded for the secret scan.
func (c *cli) runTool(env []string, dir, name string, args ...string) result {
	c.t.Helper()
	return c.exec(name, env, dir, "", true, args...)
}

// currentToken is the access token the file vault of c holds for account
// now: the one the keeper serves (it saves before it hands a token out).
func currentToken(c *cli, account string) (string, error) {
	return currentTokenIn(c, "file", account)
}

func currentTokenIn(c *cli, backend, account string) (string, error) {
	env, err := vaultOf(c, backend).Load(c.t.Context(), account)
	if err != nil {
		return "", err
	}
	return env.AccessToken, nil
}

// requireTool returns the path of a client the test needs; missing, it
// fails in CI (CI=true) and skips elsewhere, saying how to get it.
func requireTool(t *testing.T, path, how string) string {
	t.Helper()
	if _, err := exec.LookPath(path); err != nil {
		msg := fmt.Sprintf("%s is not available (%v); %s", path, err, how)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return path
}

// kubectlPath is Debian's kubectl: $TOKENTRAY_KUBECTL (set by .ci/test.sh)
// or where .ci/kubectl.sh puts it.
func kubectlPath(t *testing.T) string {
	p := os.Getenv("TOKENTRAY_KUBECTL")
	if p == "" {
		p = "/opt/tokentray-ci/kubernetes-client/usr/bin/kubectl"
	}
	return requireTool(t, p, "run bash .ci/kubectl.sh (make test does) or set TOKENTRAY_KUBECTL")
}

// tokenGate counts requests a loopback server accepted (with the
// account's current token, as current says) and refused.
type tokenGate struct {
	current           func() (string, error)
	accepted, refused atomic.Int32
	mu                sync.Mutex
	seen              map[string]bool // hashes of accepted tokens
}

func (g *tokenGate) check(given string) bool {
	want, err := g.current()
	if err != nil || want == "" || given != want {
		g.refused.Add(1)
		return false
	}
	g.accepted.Add(1)
	g.mu.Lock()
	if g.seen == nil {
		g.seen = map[string]bool{}
	}
	g.seen[hash(given)] = true
	g.mu.Unlock()
	return true
}

func (g *tokenGate) distinct() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.seen)
}

const podList = `{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"1"},"items":[]}`

// kubeAPI is a loopback Kubernetes API stub over TLS that lists no pods for
// a request bearing the account's current access token and answers 401
// (as the API server does) to any other.
func kubeAPI(t *testing.T, g *tokenGate) *httptest.Server {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || !g.check(bearer) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}`)
			return
		}
		if r.URL.Path != "/api/v1/namespaces/default/pods" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, podList)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// writeKubeconfig writes a kubeconfig for srv whose user is the given
// users[].user mapping (YAML, indented for it).
func writeKubeconfig(t *testing.T, srv *httptest.Server, user string) string {
	ca := base64.StdEncoding.EncodeToString(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}))
	kc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: loop
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: work
  user:
%s
contexts:
- name: loop
  context: {cluster: loop, user: work, namespace: default}
current-context: loop
`, srv.URL, ca, user)
	p := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(p, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func execUser(args ...string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = fmt.Sprintf("%q", a)
	}
	return fmt.Sprintf(`    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: %s
      args: [%s]
      interactiveMode: Never`, binPath, strings.Join(q, ", "))
}

// TestAdapterKubectlRealClient: Debian's kubectl (1.20: ExecCredential
// v1beta1 only) runs `tokentray kubectl-credential work` from its exec
// entry and lists pods from a stub that takes only the account's current
// token — also after a refresh rotated it; a kubeconfig with another token
// is refused; signed out, kubectl fails with tokentray's message.
func TestAdapterKubectlRealClient(t *testing.T) {
	kubectl := kubectlPath(t)
	sim, _, base := startSim(t, idpsim.Options{})
	c := newFileAccountCLI(t, base, "work")
	c.must(sim.Grant(testClientID, "kim@contoso.test", nil)+"\n", "import", "work", "--refresh-token-stdin")
	g := &tokenGate{current: func() (string, error) { return currentToken(c, "work") }}
	api := kubeAPI(t, g)
	cfg := writeKubeconfig(t, api, execUser("kubectl-credential", "work"))
	get := func() result {
		return c.runTool(nil, "", kubectl, "--kubeconfig", cfg, "get", "--raw", "/api/v1/namespaces/default/pods")
	}

	r := get()
	if r.code != 0 || !strings.Contains(r.stdout, `"PodList"`) {
		t.Fatalf("kubectl get --raw through the exec entry: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	if g.accepted.Load() != 1 || g.refused.Load() != 0 {
		t.Errorf("the API stub accepted %d and refused %d requests; want 1 and 0", g.accepted.Load(), g.refused.Load())
	}

	c.must("", "refresh", "work") // a new access token; the old one is no longer the current one
	if r := get(); r.code != 0 || !strings.Contains(r.stdout, `"PodList"`) {
		t.Fatalf("kubectl after a refresh: exit %d\nstderr: %s", r.code, r.stderr)
	}
	if n := g.distinct(); n != 2 {
		t.Errorf("the API stub accepted %d distinct tokens over a refresh; want 2 (kubectl must get the current one)", n)
	}

	static := writeKubeconfig(t, api, "    token: not-the-current-token")
	if r := c.runTool(nil, "", kubectl, "--kubeconfig", static, "get", "--raw", "/api/v1/namespaces/default/pods"); r.code == 0 {
		t.Errorf("kubectl with a static wrong token succeeded; the stub must refuse it")
	}

	c.must("", "logout", "work")
	before := g.accepted.Load()
	r = get()
	if r.code == 0 {
		t.Errorf("kubectl for a signed-out account succeeded: %s", r.stdout)
	}
	if !strings.Contains(r.stderr, `account "work" is not signed in; run: tokentray login work`) {
		t.Errorf("kubectl stderr %q; want tokentray's sign-in message", r.stderr)
	}
	if g.accepted.Load() != before {
		t.Error("the API stub accepted a request for a signed-out account")
	}
	c.assertNoSecrets(sim, "tokens.json")
}

// TestAdapterKubectlCredentialOutput: the ExecCredential itself, for both
// API versions, chosen by KUBERNETES_EXEC_INFO or --api-version, and the
// errors for what is not allowed — none of which prints a token.
func TestAdapterKubectlCredentialOutput(t *testing.T) {
	sim, _, base := startSim(t, idpsim.Options{})
	c := newFileAccountCLI(t, base, "work")
	c.must(sim.Grant(testClientID, "lee@contoso.test", nil)+"\n", "import", "work", "--refresh-token-stdin")
	env, err := vaultOf(c, "file").Load(t.Context(), "work")
	if err != nil {
		t.Fatal(err)
	}
	wantExp := env.Expiry.Add(-credential.ExecExpirySkew).UTC().Truncate(time.Second).Format(time.RFC3339)
	info := func(v string) string {
		return `KUBERNETES_EXEC_INFO={"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/` + v + `","spec":{"interactive":false}}`
	}
	for _, tc := range []struct {
		name    string
		env     []string
		args    []string
		version string
	}{
		{"default v1", nil, nil, "client.authentication.k8s.io/v1"},
		{"flag v1beta1", nil, []string{"--api-version", "v1beta1"}, "client.authentication.k8s.io/v1beta1"},
		{"kubectl asks v1beta1", []string{info("v1beta1")}, nil, "client.authentication.k8s.io/v1beta1"},
		{"kubectl asks v1, flag agrees", []string{info("v1")}, []string{"--api-version", "v1"}, "client.authentication.k8s.io/v1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := c.runAdapter(tc.env, "", append([]string{"kubectl-credential", "work"}, tc.args...)...)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			var got struct {
				APIVersion, Kind string
				Status           struct{ Token, ExpirationTimestamp string }
			}
			if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
				t.Fatalf("stdout is not JSON: %v", err)
			}
			if got.APIVersion != tc.version || got.Kind != "ExecCredential" {
				t.Errorf("apiVersion %q kind %q; want %q ExecCredential", got.APIVersion, got.Kind, tc.version)
			}
			if got.Status.Token != env.AccessToken {
				t.Errorf("status.token (%s) is not the account's current access token (%s)", hash(got.Status.Token), hash(env.AccessToken))
			}
			if got.Status.ExpirationTimestamp != wantExp {
				t.Errorf("expirationTimestamp %q; want %q (the token's expiry less %s)", got.Status.ExpirationTimestamp, wantExp, credential.ExecExpirySkew)
			}
			if r.stderr != "" {
				t.Errorf("stderr %q; want nothing", r.stderr)
			}
		})
	}
	for _, tc := range []struct {
		name string
		env  []string
		args []string
		code int
		want string
	}{
		{"unknown version flag", nil, []string{"work", "--api-version", "v2"}, 2, `--api-version "v2": want v1 or v1beta1`},
		{"kubectl asks v1alpha1", []string{info("v1alpha1")}, []string{"work"}, 2, "v1alpha1\" is not supported; allowed: v1"},
		{"malformed exec info", []string{"KUBERNETES_EXEC_INFO={"}, []string{"work"}, 2, "KUBERNETES_EXEC_INFO is not an ExecCredential JSON object"},
		{"flag disagrees with kubectl", []string{info("v1beta1")}, []string{"work", "--api-version", "v1"}, 2, "but kubectl asks for client.authentication.k8s.io/v1beta1"},
		{"unknown account", nil, []string{"home"}, 2, `no account named "home"; configured accounts: work`},
		{"no account", nil, nil, 2, "kubectl-credential takes the account NAME"},
		{"min-valid too long", nil, []string{"work", "--min-valid", "2h"}, 2, "--min-valid 2h0m0s: want a duration from 0s to 1h"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := c.runAdapter(tc.env, "", append([]string{"kubectl-credential"}, tc.args...)...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.want) || r.stdout != "" {
				t.Errorf("exit %d, stdout %d bytes, stderr %q; want exit %d, no stdout, stderr with %q", r.code, len(r.stdout), r.stderr, tc.code, tc.want)
			}
		})
	}
	c.assertNoSecrets(sim, "tokens.json")
}

// gitEnv isolates git from the user's and the system's configuration.
func gitEnv(t *testing.T) []string {
	global := filepath.Join(t.TempDir(), "gitconfig")
	if err := os.WriteFile(global, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	return []string{"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=" + global, "GIT_TERMINAL_PROMPT=0",
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.test", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.test"}
}

// gitServer serves the bare repositories under root over smart HTTP with
// git http-backend (CGI) to requests whose Basic password is the account's
// current access token; others get 401 with a Basic challenge.
func gitServer(t *testing.T, g *tokenGate, root string) *httptest.Server {
	execPath, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		t.Fatalf("git --exec-path: %v", err)
	}
	backend := &cgi.Handler{
		Path: filepath.Join(strings.TrimSpace(string(execPath)), "git-http-backend"),
		Env:  []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1"},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, pw, ok := r.BasicAuth()
		if !ok || !g.check(pw) {
			w.Header().Set("WWW-Authenticate", `Basic realm="tokentray test"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		backend.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestAdapterGitRealClone: `git clone` over HTTP with `tokentray
// git-credential` as the only credential helper gets the repository from a
// server that takes only the account's current token — again after a
// refresh rotated it; an unmapped host and a signed-out account fail.
func TestAdapterGitRealClone(t *testing.T) {
	requireTool(t, "git", "install git")
	sim, _, base := startSim(t, idpsim.Options{})
	c := newFileAccountCLI(t, base, "work")
	c.must(sim.Grant(testClientID, "max@contoso.test", nil)+"\n", "import", "work", "--refresh-token-stdin")
	genv := gitEnv(t)

	root := t.TempDir()
	seed := t.TempDir()
	for _, args := range [][]string{
		{"init", "-q", "--bare", filepath.Join(root, "repo.git")},
		{"init", "-q", "-b", "main", seed},
		{"-C", seed, "commit", "-q", "--allow-empty", "-m", "first"},
		{"-C", seed, "push", "-q", filepath.Join(root, "repo.git"), "main"},
	} {
		if r := c.runTool(genv, "", "git", args...); r.code != 0 {
			t.Fatalf("git %v: exit %d: %s", args, r.code, r.stderr)
		}
	}
	if err := os.WriteFile(filepath.Join(seed, "README"), []byte("hello from the loopback server\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"-C", seed, "add", "README"}, {"-C", seed, "commit", "-q", "-m", "readme"}, {"-C", seed, "push", "-q", filepath.Join(root, "repo.git"), "main"}} {
		if r := c.runTool(genv, "", "git", args...); r.code != 0 {
			t.Fatalf("git %v: exit %d: %s", args, r.code, r.stderr)
		}
	}
	c.runTool(genv, "", "git", "--git-dir", filepath.Join(root, "repo.git"), "symbolic-ref", "HEAD", "refs/heads/main")

	g := &tokenGate{current: func() (string, error) { return currentToken(c, "work") }}
	mapped := gitServer(t, g, root)
	unmapped := gitServer(t, g, root)
	scoped := gitServer(t, g, root) // mapped under contoso/ only
	host := strings.TrimPrefix(mapped.URL, "http://")
	appendConfig(t, c, fmt.Sprintf("git:\n  credentials:\n  - host: %q\n    protocol: http\n    account: work\n  - host: %q\n    protocol: http\n    path: contoso/\n    account: work\n",
		host, strings.TrimPrefix(scoped.URL, "http://")))

	clone := func(url string) (result, string) {
		dst := filepath.Join(t.TempDir(), "clone")
		r := c.runTool(genv, "", "git", "-c", "credential.helper=", "-c", "credential.helper=!"+binPath+" git-credential",
			"clone", "-q", url+"/repo.git", dst)
		return r, dst
	}
	r, dst := clone(mapped.URL)
	if r.code != 0 {
		t.Fatalf("git clone with tokentray git-credential: exit %d\n%s", r.code, r.stderr)
	}
	if b, err := os.ReadFile(filepath.Join(dst, "README")); err != nil || !strings.Contains(string(b), "loopback server") {
		t.Errorf("the clone has README %q, %v; want the served file", b, err)
	}
	if g.accepted.Load() == 0 {
		t.Error("the git server accepted no request; the clone did not authenticate")
	}

	// The README's setup, with git config --global, over a storage helper
	// configured before it: the reset keeps git from storing the token in
	// ~/.git-credentials (assertNoSecrets below walks HOME).
	for _, args := range [][]string{
		{"config", "--global", "credential.helper", "store"},
		{"config", "--global", "--add", "credential." + mapped.URL + ".helper", ""},
		{"config", "--global", "--add", "credential." + mapped.URL + ".helper", "!" + binPath + " git-credential"},
	} {
		if r := c.runTool(genv, "", "git", args...); r.code != 0 {
			t.Fatalf("git %v: exit %d: %s", args, r.code, r.stderr)
		}
	}
	c.must("", "refresh", "work")
	dst2 := filepath.Join(t.TempDir(), "clone")
	if r := c.runTool(genv, "", "git", "clone", "-q", mapped.URL+"/repo.git", dst2); r.code != 0 {
		t.Fatalf("git clone with the README's global setup, after a refresh: exit %d\n%s", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(c.dir, ".git-credentials")); err == nil {
		t.Error("git stored a credential in ~/.git-credentials despite the helper reset")
	}
	if n := g.distinct(); n != 2 {
		t.Errorf("the git server accepted %d distinct tokens over a refresh; want 2 (git must get the current one)", n)
	}

	// The same setup first, then a storage helper added with git config
	// --global: git appends it to the end of the file, after the reset, and
	// would hand it every token tokentray gives. The helper gives none, git
	// stops with tokentray's message naming the helper, and
	// ~/.git-credentials never holds a token.
	later := gitEnv(t)
	var before int32
	for _, args := range [][]string{
		{"config", "--global", "--add", "credential." + mapped.URL + ".helper", ""},
		{"config", "--global", "--add", "credential." + mapped.URL + ".helper", "!" + binPath + " git-credential"},
	} {
		if r := c.runTool(later, "", "git", args...); r.code != 0 {
			t.Fatalf("git %v: exit %d: %s", args, r.code, r.stderr)
		}
	}
	for _, args := range [][]string{
		{"config", "--global", "credential.helper", "store"},
		{"config", "--global", "--add", "credential." + mapped.URL + ".helper", "cache --timeout=60"},
	} {
		if r := c.runTool(later, "", "git", args...); r.code != 0 {
			t.Fatalf("git %v: exit %d: %s", args, r.code, r.stderr)
		}
		before = g.accepted.Load()
		r = c.runTool(later, "", "git", "clone", "-q", mapped.URL+"/repo.git", filepath.Join(t.TempDir(), "clone"))
		if r.code == 0 || !strings.Contains(r.stderr, `"`+args[len(args)-1]+`"`) || !strings.Contains(r.stderr, "told us to quit") {
			t.Errorf("clone with %q configured after tokentray's helper: exit %d, stderr %q; want a failure naming that helper", args[len(args)-1], r.code, r.stderr)
		}
		if g.accepted.Load() != before {
			t.Errorf("the git server accepted a token with %q configured after tokentray's helper", args[len(args)-1])
		}
		if b, err := os.ReadFile(filepath.Join(c.dir, ".git-credentials")); err == nil {
			t.Errorf("git stored a credential in ~/.git-credentials (%d bytes) from a helper added after the reset", len(b))
		}
	}
	// git credential-cache may have started its daemon: stop it.
	c.runTool(later, "", "git", "credential-cache", "exit")
	if ck := gitDoctorCheck(t, c, later, mapped.URL); ck.OK || !strings.Contains(ck.Detail, `"store" (credential.helper in file:`) || !strings.Contains(ck.Detail, `"cache --timeout=60"`) {
		t.Errorf("doctor with store and cache after tokentray's helper: %+v; want a failure naming both", ck)
	}

	// git-credential setup rewrites the remote's section at the end of the
	// file: the clone works again, and nothing is stored.
	r = c.runAdapter(later, "", "git-credential", "setup")
	if r.code != 0 || !strings.Contains(r.stdout, "git asks only tokentray for "+mapped.URL) {
		t.Fatalf("git-credential setup: exit %d, stdout %q, stderr %q; want it to report tokentray as the only helper", r.code, r.stdout, r.stderr)
	}
	if ck := gitDoctorCheck(t, c, later, mapped.URL); !ck.OK {
		t.Errorf("doctor after git-credential setup: %+v; want ok", ck)
	}
	if r := c.runTool(later, "", "git", "clone", "-q", mapped.URL+"/repo.git", filepath.Join(t.TempDir(), "clone")); r.code != 0 {
		t.Errorf("clone after git-credential setup: exit %d, stderr %q", r.code, r.stderr)
	}
	// A helper for a narrower URL written afterwards lands after the reset
	// again: refused again.
	if r := c.runTool(later, "", "git", "config", "--global", "credential."+mapped.URL+"/repo.git.helper", "store"); r.code != 0 {
		t.Fatalf("git config: exit %d: %s", r.code, r.stderr)
	}
	before = g.accepted.Load()
	if r := c.runTool(later, "", "git", "-c", "credential.useHttpPath=true", "clone", "-q", mapped.URL+"/repo.git", filepath.Join(t.TempDir(), "clone")); r.code == 0 || !strings.Contains(r.stderr, `"store"`) {
		t.Errorf("clone with store for the repository after setup: exit %d, stderr %q; want a failure naming store", r.code, r.stderr)
	}
	if g.accepted.Load() != before {
		t.Error("the git server accepted a token with store configured for the repository after setup")
	}
	if b, err := os.ReadFile(filepath.Join(c.dir, ".git-credentials")); err == nil {
		t.Errorf("git stored a credential in ~/.git-credentials (%d bytes) after setup", len(b))
	}

	// A remote under contoso/ whose path climbs out of it (%2e%2e, which git
	// hands the helper as "..") gets no token: git finds no credential.
	before = g.accepted.Load()
	for _, p := range []string{"/contoso/%2e%2e/repo.git", "/contoso/./%2e%2e/repo.git", "/contoso//%2e%2e/repo.git"} {
		r := c.runTool(genv, "", "git", "-c", "credential.helper=", "-c", "credential.helper=!"+binPath+" git-credential", "-c", "credential.useHttpPath=true",
			"clone", "-q", scoped.URL+p, filepath.Join(t.TempDir(), "clone"))
		if r.code == 0 || !strings.Contains(r.stderr, "terminal prompts disabled") {
			t.Errorf("clone of %s under a contoso/ mapping: exit %d, stderr %q; want a failure for want of credentials", p, r.code, r.stderr)
		}
	}
	if g.accepted.Load() != before {
		t.Error("the git server accepted the token for a path with dot segments")
	}

	if r, _ := clone(unmapped.URL); r.code == 0 || !strings.Contains(r.stderr, "terminal prompts disabled") {
		t.Errorf("clone from an unmapped host: exit %d, stderr %q; want a failure for want of credentials", r.code, r.stderr)
	}
	c.must("", "logout", "work")
	r, _ = clone(mapped.URL)
	if r.code == 0 || !strings.Contains(r.stderr, `account "work" is not signed in; run: tokentray login work`) {
		t.Errorf("clone with a signed-out account: exit %d, stderr %q; want a failure with tokentray's sign-in message", r.code, r.stderr)
	}
	if g.accepted.Load() != before {
		t.Error("the git server accepted a request after the account was signed out or from an unmapped host")
	}
	c.assertNoSecrets(sim, "tokens.json")
}

// gitDoctorCheck is the line of `tokentray doctor --json` for a mapped git
// remote, run with git's environment env.
func gitDoctorCheck(t *testing.T, c *cli, env []string, remote string) doctor.Check {
	t.Helper()
	r := c.exec(binPath, env, "", "", true, "doctor", "--json")
	var out struct{ Checks []doctor.Check }
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("doctor --json: exit %d, %v: %q", r.code, err, r.stdout)
	}
	for _, ck := range out.Checks {
		if ck.Name == "git "+remote {
			if !ck.OK && r.code == 0 {
				t.Errorf("doctor exited 0 with a failed check %+v", ck)
			}
			return ck
		}
	}
	t.Fatalf("doctor --json has no check for git %s: %s", remote, r.stdout)
	return doctor.Check{}
}

// appendConfig adds YAML text to the end of c's settings file.
func appendConfig(t *testing.T, c *cli, text string) {
	t.Helper()
	p := strings.TrimSpace(c.must("", "config", "path").stdout)
	f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
}

// TestAdapterGitCredentialProtocol: the helper's answers to each operation
// as git sends them, for mapped and unmapped remotes.
func TestAdapterGitCredentialProtocol(t *testing.T) {
	sim, _, base := startSim(t, idpsim.Options{})
	c := newFileAccountCLI(t, base, "work")
	c.must(sim.Grant(testClientID, "ned@contoso.test", nil)+"\n", "import", "work", "--refresh-token-stdin")
	appendConfig(t, c, `git:
  credentials:
  - host: dev.azure.com
    account: work
  - host: example.test
    path: org/
    account: work
    username: me@contoso.test
`)
	tok, err := currentToken(c, "work")
	if err != nil {
		t.Fatal(err)
	}
	env, _ := vaultOf(c, "file").Load(t.Context(), "work")
	exp := fmt.Sprintf("password_expiry_utc=%d\n", env.Expiry.Unix())
	for _, tc := range []struct {
		name, op, in string
		code         int
		stdout       string // with TOKEN for the current token
		stderr       string // a part of it
	}{
		{"get mapped host", "get", "protocol=https\nhost=dev.azure.com\n\n", 0, "username=tokentray\npassword=TOKEN\n" + exp, ""},
		{"get keeps the URL's user", "get", "protocol=https\nhost=dev.azure.com\nusername=contoso\n\n", 0, "username=contoso\npassword=TOKEN\n" + exp, ""},
		{"get mapped path", "get", "protocol=https\nhost=example.test\npath=org/repo.git\n\n", 0, "username=me@contoso.test\npassword=TOKEN\n" + exp, ""},
		{"get unmapped path", "get", "protocol=https\nhost=example.test\npath=other/repo.git\n\n", 0, "", ""},
		{"get without useHttpPath", "get", "protocol=https\nhost=example.test\n\n", 0, "", "run: git config --global credential.https://example.test.useHttpPath true"},
		{"get unmapped host", "get", "protocol=https\nhost=github.com\n\n", 0, "", ""},
		{"get over http to a mapped https host", "get", "protocol=http\nhost=dev.azure.com\n\n", 0, "", ""},
		{"store is a no-op", "store", "protocol=https\nhost=dev.azure.com\nusername=u\npassword=whatever\n\n", 0, "", ""},
		{"erase keeps the account", "erase", "protocol=https\nhost=dev.azure.com\nusername=u\npassword=whatever\n\n", 0, "", `refused the access token of account "work"; tokentray keeps the account signed in`},
		{"erase unmapped", "erase", "protocol=https\nhost=github.com\n\n", 0, "", ""},
		{"unknown operation ignored", "capability", "", 0, "", ""},
		{"malformed request", "get", "protocol=https\nthis is not key value\n\n", 2, "", "git-credential get: credential request line 2 is not key=value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := c.runAdapter(nil, tc.in, "git-credential", tc.op)
			want := strings.ReplaceAll(tc.stdout, "TOKEN", tok)
			if r.code != tc.code || r.stdout != want {
				t.Errorf("git-credential %s: exit %d, stdout %q; want exit %d, stdout %q", tc.op, r.code,
					strings.ReplaceAll(r.stdout, tok, "TOKEN"), tc.code, tc.stdout)
			}
			if tc.stderr == "" && r.stderr != "" || !strings.Contains(r.stderr, tc.stderr) {
				t.Errorf("git-credential %s: stderr %q; want %q", tc.op, r.stderr, tc.stderr)
			}
		})
	}
	if got, _ := currentToken(c, "work"); got != tok {
		t.Error("store or erase changed the account's tokens")
	}
	if r := c.runAdapter(nil, "", "git-credential"); r.code != 2 || !strings.Contains(r.stderr, "get, store or erase") {
		t.Errorf("git-credential without an operation: exit %d, stderr %q; want 2 naming get, store or erase", r.code, r.stderr)
	}
	c.assertNoSecrets(sim, "tokens.json")
}

// TestAdapterConcurrentOneRefresh: 10 kubectl-credential and 10
// git-credential processes at once, while the stored access token is about
// to expire, cause exactly one provider request and all hand out the same
// new token — through a running keeper, and without one (the per-user
// lock). Automatic refresh is off, so the adapters' requests are the cause.
func TestAdapterConcurrentOneRefresh(t *testing.T) {
	for _, keeper := range []bool{true, false} {
		t.Run(fmt.Sprintf("keeper=%v", keeper), func(t *testing.T) {
			sim, x, base := startSim(t, idpsim.Options{})
			c := newFileAccountCLI(t, base, "work")
			c.must("", "config", "set", "refresh.enabled", "false")
			x.short.Store(true) // the imported token lives 2 minutes: inside --min-valid 5m
			subject := fmt.Sprintf("olga-%v@contoso.test", keeper)
			c.must(sim.Grant(testClientID, subject, nil)+"\n", "import", "work", "--refresh-token-stdin")
			ageAccessToken(t, c, "file", "work", 58*time.Minute) // an old token, not a fresh short one
			x.short.Store(false)
			appendConfig(t, c, "git:\n  credentials:\n  - host: dev.azure.com\n    account: work\n")
			old, err := currentToken(c, "work")
			if err != nil {
				t.Fatal(err)
			}
			var h *headless
			if keeper {
				h = startHeadless(t, c)
			}
			before := sim.Refreshes(subject)

			const n = 20
			outs := make([]result, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					if i%2 == 0 {
						outs[i] = c.runAdapter(nil, "", "kubectl-credential", "work")
					} else {
						outs[i] = c.runAdapter(nil, "protocol=https\nhost=dev.azure.com\n\n", "git-credential", "get")
					}
				})
			}
			wg.Wait()
			seen := map[string]int{}
			for i, r := range outs {
				if r.code != 0 {
					t.Errorf("adapter %d: exit %d: %s", i, r.code, r.stderr)
					continue
				}
				var tok string
				if i%2 == 0 {
					var ec struct{ Status struct{ Token string } }
					if err := json.Unmarshal([]byte(r.stdout), &ec); err != nil {
						t.Errorf("kubectl-credential %d: not JSON: %v", i, err)
					}
					tok = ec.Status.Token
				} else {
					for _, line := range strings.Split(r.stdout, "\n") {
						if v, ok := strings.CutPrefix(line, "password="); ok {
							tok = v
						}
					}
				}
				if tok == old || tok == "" {
					t.Errorf("adapter %d handed out the old or no token; want the refreshed one", i)
				}
				seen[hash(tok)]++
			}
			if len(seen) != 1 {
				t.Errorf("20 adapter calls handed out %d different tokens (%v); want 1", len(seen), seen)
			}
			if got := sim.Refreshes(subject) - before; got != 1 {
				t.Errorf("20 concurrent adapter calls made %d provider requests; want exactly 1", got)
			}
			if keeper && !strings.Contains(h.logs.String(), "msg=refresh") {
				t.Errorf("the keeper logged no refresh; did an adapter refresh by itself?\n%s", h.logs.String())
			}
			c.assertNoSecrets(sim, "tokens.json")
		})
	}
}

// TestAdapterHelpAndSettings: --help describes both adapters; config show
// lists the git mappings; a bad mapping is refused on load naming the field
// and what is allowed, by config validate and by the helper itself; a
// mapping naming no configured account says so.
func TestAdapterHelpAndSettings(t *testing.T) {
	c := newCLI(t)
	root := c.must("", "--help").stdout
	for _, w := range []string{"kubectl-credential", "git-credential"} {
		if !strings.Contains(root, w) {
			t.Errorf("--help lacks %q", w)
		}
	}
	for _, tc := range []struct {
		cmd  string
		want []string
	}{
		{"kubectl-credential", []string{"apiVersion: client.authentication.k8s.io/v1", "args: [kubectl-credential, work]", "interactiveMode: Never", "KUBERNETES_EXEC_INFO", "--api-version", "--scope", "standard output only"}},
		{"git-credential", []string{`git config --global --add credential.https://dev.azure.com.helper ""`, "useHttpPath", "host: dev.azure.com", "erase does not sign the", "standard output only"}},
	} {
		out := c.must("", tc.cmd, "--help").stdout
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s --help lacks %q", tc.cmd, w)
			}
		}
	}

	c.must("", "config", "set", "storage.backend", "file")
	c.must("", "account", "add", "work", "--provider", "microsoft", "--client-id", testClientID)
	appendConfig(t, c, "git:\n  credentials:\n  - host: dev.azure.com\n    path: contoso/\n    account: work\n  - host: example.test\n    account: gone\n")
	if out := c.must("", "config", "show").stdout; !strings.Contains(out, "https://dev.azure.com/contoso/\taccount work\tthe account's scopes") {
		t.Errorf("config show does not list the git mapping:\n%s", out)
	}
	c.must("", "config", "set", "refresh.interval_hours", "2") // rewrites the file
	if out := c.must("", "config", "show", "--json").stdout; !strings.Contains(out, `"host": "dev.azure.com"`) {
		t.Errorf("after config set, config show --json lacks the git mapping:\n%s", out)
	}
	r := c.runAdapter(nil, "protocol=https\nhost=example.test\n\n", "git-credential", "get")
	if r.code != 2 || !strings.Contains(r.stderr, `no account named "gone"; configured accounts: work`) {
		t.Errorf("get for a mapping to an unknown account: exit %d, stderr %q; want 2 naming the account", r.code, r.stderr)
	}

	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("accounts:\n- {name: work, provider: microsoft, client_id: "+testClientID+"}\ngit:\n  credentials:\n  - {host: dev.azure.com, account: work}\n  - {host: example.test, account: work}\n  - {host: build.example.com, protocol: http, account: work}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	want := `git.credentials[2].protocol = "http"`
	if r := c.run("", "--config", bad, "config", "validate"); r.code != 2 || !strings.Contains(r.stderr, want) || !strings.Contains(r.stderr, "allowed: https (http only for loopback hosts)") {
		t.Errorf("config validate with an http mapping to another host: exit %d, stderr %q; want 2 naming %s and what is allowed", r.code, r.stderr, want)
	}
	if r := c.runAdapter(nil, "protocol=https\nhost=dev.azure.com\n\n", "--config", bad, "git-credential", "get"); r.code != 2 || !strings.Contains(r.stderr, want) || r.stdout != "" {
		t.Errorf("git-credential get with an invalid mapping: exit %d, stdout %d bytes, stderr %q; want 2 naming %s", r.code, len(r.stdout), r.stderr, want)
	}
}

// TestAdapterKeychain: with the real Secret Service (gnome-keyring, see
// .ci/with-keyring.sh) Debian's kubectl and git-credential get the account's
// token from the keychain — without a keeper and through one — and no file
// anywhere holds a token.
func TestAdapterKeychain(t *testing.T) {
	if os.Getenv("TOKENTRAY_KEYRING_TEST") != "1" {
		if os.Getenv("CI") == "true" {
			t.Fatal("keychain test needs TOKENTRAY_KEYRING_TEST=1 inside dbus-run-session with gnome-keyring (see .ci/with-keyring.sh)")
		}
		t.Skip("keychain test: run inside .ci/with-keyring.sh (make test does)")
	}
	kubectl := kubectlPath(t)
	sim, _, base := startSim(t, idpsim.Options{})
	c := newCLI(t, "TOKENTRAY_MICROSOFT_LOGIN_BASE="+base, "DBUS_SESSION_BUS_ADDRESS="+os.Getenv("DBUS_SESSION_BUS_ADDRESS"))
	name := fmt.Sprintf("adapt-%d", os.Getpid())
	c.must("", "account", "add", name, "--provider", "microsoft", "--client-id", testClientID)
	c.must(sim.Grant(testClientID, "pia@contoso.test", nil)+"\n", "import", name, "--refresh-token-stdin")
	t.Cleanup(func() { c.run("", "logout", name) })
	appendConfig(t, c, "git:\n  credentials:\n  - host: dev.azure.com\n    account: "+name+"\n")

	g := &tokenGate{current: func() (string, error) { return currentTokenIn(c, "keychain", name) }}
	api := kubeAPI(t, g)
	cfg := writeKubeconfig(t, api, execUser("kubectl-credential", name))
	for _, keeper := range []bool{false, true} {
		if keeper {
			startHeadless(t, c)
		}
		r := c.runTool(nil, "", kubectl, "--kubeconfig", cfg, "get", "--raw", "/api/v1/namespaces/default/pods")
		if r.code != 0 || !strings.Contains(r.stdout, `"PodList"`) {
			t.Fatalf("kubectl (keeper %v) with the keychain account: exit %d\nstderr: %s", keeper, r.code, r.stderr)
		}
		want, err := g.current()
		if err != nil {
			t.Fatal(err)
		}
		r = c.runAdapter(nil, "protocol=https\nhost=dev.azure.com\n\n", "git-credential", "get")
		if r.code != 0 || !strings.Contains(r.stdout, "\npassword="+want+"\n") {
			t.Errorf("git-credential get (keeper %v) with the keychain account: exit %d, stderr %q; want the keychain's token", keeper, r.code, r.stderr)
		}
	}
	if n := g.accepted.Load(); n != 2 {
		t.Errorf("the API stub accepted %d requests; want 2", n)
	}
	c.assertNoSecrets(sim) // no vault file exempt: nothing may hold a token
}

// TestAdapterPerResourceScope: an adapter's scope (kubectl-credential
// --scope, a git mapping's scope) gets a token whose audience is that
// resource — the per-resource path of token --scope — while the account's
// own token stays what it was.
func TestAdapterPerResourceScope(t *testing.T) {
	sim, _, base := startSim(t, idpsim.Options{})
	c := newFileAccountCLI(t, base, "work")
	c.must(sim.Grant(testClientID, "quinn@contoso.test", nil)+"\n", "import", "work", "--refresh-token-stdin")
	const aksRes, adoRes = "6dae42f8-4368-4678-94ff-3960e28e3630", "499b84ac-1321-427f-aa17-267ca6975798"
	const aks, ado = aksRes + "/.default", adoRes + "/.default"
	for _, r := range []string{aksRes, adoRes} {
		sim.Consent("quinn@contoso.test", r)
	}
	appendConfig(t, c, "git:\n  credentials:\n  - host: dev.azure.com\n    account: work\n    scope: "+ado+"\n")
	own := strings.TrimSpace(c.must("", "token", "work").stdout)
	for _, tc := range []struct {
		name, stdin, resource string
		args                  []string
		token                 func(stdout string) string
	}{
		{"kubectl-credential --scope", "", aksRes, []string{"kubectl-credential", "work", "--scope", aks}, func(out string) string {
			var ec struct {
				Status struct {
					Token string `json:"token"`
				} `json:"status"`
			}
			if err := json.Unmarshal([]byte(out), &ec); err != nil {
				t.Fatalf("ExecCredential: %v", err)
			}
			return ec.Status.Token
		}},
		{"git mapping scope", "protocol=https\nhost=dev.azure.com\n\n", adoRes, []string{"git-credential", "get"}, func(out string) string {
			for _, l := range strings.Split(out, "\n") {
				if p, ok := strings.CutPrefix(l, "password="); ok {
					return p
				}
			}
			t.Fatalf("git-credential get printed no password")
			return ""
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := c.runAdapter(nil, tc.stdin, tc.args...)
			if r.code != 0 || r.stderr != "" {
				t.Fatalf("exit %d, stderr %q; want exit 0 and nothing on stderr", r.code, r.stderr)
			}
			tok := tc.token(r.stdout)
			info, ok := sim.Access(tok)
			if !ok || info.Audience != tc.resource {
				t.Errorf("the adapter's token has audience %q (known to the simulator: %v); want %q", info.Audience, ok, tc.resource)
			}
			if tok == own {
				t.Errorf("the adapter printed the account's own token, not one for %s", tc.resource)
			}
		})
	}
	if got := strings.TrimSpace(c.must("", "token", "work").stdout); got != own {
		t.Errorf("the account's own token changed after per-resource requests")
	}
	c.assertNoSecrets(sim, "tokens.json")
}
