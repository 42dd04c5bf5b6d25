package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/tokentray/tokentray/internal/accesslog"
	"github.com/tokentray/tokentray/internal/idpsim"
	"github.com/tokentray/tokentray/internal/keeper"
)

const azureClientID = "11111111-2222-3333-4444-555555555555"

// azureJS returns the directory whose node_modules holds @azure/identity,
// installed by .ci/azure-js.sh ($TOKENTRAY_AZURE_JS, set by make test; else
// the script is run here). Node or the package missing is a failure.
func azureJS(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("TOKENTRAY_AZURE_JS")
	if dir == "" {
		out, err := exec.Command("bash", "../../.ci/azure-js.sh").Output()
		if err != nil {
			t.Fatalf(".ci/azure-js.sh (installs Node's @azure/identity for this test): %v", err)
		}
		dir = strings.TrimSpace(string(out))
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@azure", "identity", "package.json")); err != nil {
		t.Fatalf("@azure/identity is not installed in %s (run .ci/azure-js.sh): %v", dir, err)
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatalf("node is not installed (run .ci/azure-js.sh): %v", err)
	}
	return dir
}

// jsToken is what testdata/azure/get-token.js prints.
type jsToken struct {
	Token     string  `json:"token"`
	ExpiresOn int64   `json:"expiresOnTimestamp"` // ms
	MS        float64 `json:"ms"`
}

// nodeToken runs the Azure SDK for JavaScript with env (the exports of
// env --azure-sdk) and returns its token for scope, or its error text.
func nodeToken(t *testing.T, modules string, env []string, scope string) (jsToken, string) {
	t.Helper()
	cmd := exec.Command("node", filepath.Join("testdata", "azure", "get-token.js"), scope)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "NODE_PATH=" + filepath.Join(modules, "node_modules")}, env...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return jsToken{}, fmt.Sprintf("%v: %s", err, errb.String())
	}
	var tok jsToken
	if err := json.Unmarshal([]byte(out.String()), &tok); err != nil {
		t.Fatalf("get-token.js printed %q: %v", out.String(), err)
	}
	return tok, ""
}

var shExport = regexp.MustCompile(`^export (IDENTITY_ENDPOINT|IDENTITY_HEADER)='([^']*)'$`)

// azureEnv runs `env NAME --azure-sdk` and returns the two variables as
// NAME=value, checking the sh syntax.
func azureEnv(t *testing.T, c *cli, name string) (endpoint, secret string) {
	t.Helper()
	r := c.must("", "env", name, "--azure-sdk")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	vals := map[string]string{}
	for _, l := range lines {
		m := shExport.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("env --azure-sdk printed %d lines; line %q is not an sh export of IDENTITY_ENDPOINT or IDENTITY_HEADER", len(lines), l)
		}
		vals[m[1]] = m[2]
	}
	if len(lines) != 2 || vals["IDENTITY_ENDPOINT"] == "" || len(vals["IDENTITY_HEADER"]) < 22 {
		t.Fatalf("env --azure-sdk printed %d lines; want IDENTITY_ENDPOINT and a secret of 128 bits or more in IDENTITY_HEADER", len(lines))
	}
	return vals["IDENTITY_ENDPOINT"], vals["IDENTITY_HEADER"]
}

// resourceAud asks the simulator's resource endpoint for the audience of
// tok ("" when it refuses the token).
func resourceAud(t *testing.T, base, tok string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/resource", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Aud string `json:"aud"`
	}
	json.NewDecoder(resp.Body).Decode(&body)
	if resp.StatusCode != http.StatusOK {
		return ""
	}
	return body.Aud
}

// TestAzureSDKJavaScript: with the exports of `tokentray env work
// --azure-sdk` (sh, fish, PowerShell), the Azure SDK for JavaScript's
// DefaultAzureCredential (Node, @azure/identity from npm) gets a token for
// a resource from the running keeper, and the resource accepts it; the same
// variables still work after the keeper is killed and started again. A
// request without the header, with a wrong one, with an Origin, with
// another Host, or a POST gets no token; an account without azure_sdk has
// no endpoint; without a keeper env says to start one. The access log
// names node as the program.
func TestAzureSDKJavaScript(t *testing.T) {
	modules := azureJS(t)
	sim, _, base := startSim(t, idpsim.Options{})
	const user = "grace@contoso.test"
	c := newCLI(t, "TOKENTRAY_MICROSOFT_LOGIN_BASE="+base)
	c.must("", "config", "set", "storage.backend", "file")
	c.must("", "account", "add", "work", "--provider", "microsoft", "--client-id", azureClientID, "--azure-sdk")
	c.must("", "account", "add", "home", "--provider", "microsoft", "--client-id", azureClientID)
	if r := c.run("", "account", "add", "idp", "--provider", "oidc", "--issuer", "https://id.example.com", "--client-id", "c", "--azure-sdk"); r.code != 2 || !strings.Contains(r.stderr, "--azure-sdk") {
		t.Errorf("account add --provider oidc --azure-sdk: exit %d, stderr %q; want 2 naming --azure-sdk", r.code, r.stderr)
	}
	for _, n := range []string{"work", "home"} {
		c.must(sim.Grant(azureClientID, user, nil)+"\n", "import", n, "--refresh-token-stdin")
	}
	const res = "https://vault.azure.net"
	sim.Consent(user, res)

	if r := c.run("", "env", "work", "--azure-sdk"); r.code == 0 || !strings.Contains(r.stderr, "none runs: start it") || r.stdout != "" {
		t.Errorf("env --azure-sdk without a keeper: exit %d, stdout %q, stderr %q; want a failure saying to start the keeper", r.code, r.stdout, r.stderr)
	}
	h := startHeadless(t, c)
	endpoint, secret := azureEnv(t, c, "work")
	if !strings.HasPrefix(endpoint, "http://127.0.0.1:") {
		t.Errorf("IDENTITY_ENDPOINT = %q; want a loopback address", endpoint)
	}
	for shell, want := range map[string]string{"fish": "set -gx IDENTITY_HEADER '" + secret + "'", "powershell": "$env:IDENTITY_HEADER = '" + secret + "'"} {
		if r := c.must("", "env", "work", "--azure-sdk", "--shell", shell); !strings.Contains(r.stdout, want) || !strings.Contains(r.stdout, "IDENTITY_ENDPOINT") {
			t.Errorf("env --azure-sdk --shell %s printed %d bytes without %s syntax for both variables", shell, len(r.stdout), shell)
		}
	}
	if r := c.run("", "env", "home", "--azure-sdk"); r.code != 2 || !strings.Contains(r.stderr, "azure_sdk: true") || r.stdout != "" {
		t.Errorf("env home --azure-sdk (not enabled): exit %d, stdout %q, stderr %q; want 2 naming azure_sdk: true", r.code, r.stdout, r.stderr)
	}
	vars := []string{"IDENTITY_ENDPOINT=" + endpoint, "IDENTITY_HEADER=" + secret}
	if r := c.must("", "status"); !strings.Contains(r.stdout, "azure sdk endpoint of work: "+endpoint+", listening") || strings.Contains(r.stdout, "endpoint of home") {
		t.Errorf("status does not show work's endpoint (%s) listening, or shows one of home:\n%s", endpoint, r.stdout)
	}

	tok, msg := nodeToken(t, modules, vars, res+"/.default")
	if msg != "" {
		t.Fatalf("the Azure SDK for JavaScript got no token: %s", msg)
	}
	if aud := resourceAud(t, base, tok.Token); aud != res {
		t.Errorf("the resource took the JavaScript SDK's token for audience %q; want %q", aud, res)
	}
	if until := time.Until(time.UnixMilli(tok.ExpiresOn)); until < 50*time.Minute || until > 61*time.Minute {
		t.Errorf("the JavaScript SDK's token expires in %s; want about the simulator's hour", until)
	}

	// Requests that must get nothing, straight at the keeper's endpoint.
	good := endpoint + "?api-version=2019-08-01&resource=" + res
	for _, rq := range []struct {
		name   string
		method string
		hdr    map[string]string
		host   string
	}{
		{"no header", "GET", nil, ""},
		{"wrong header", "GET", map[string]string{"X-IDENTITY-HEADER": strings.Repeat("A", len(secret))}, ""},
		{"Origin", "GET", map[string]string{"X-IDENTITY-HEADER": secret, "Origin": "https://evil.example"}, ""},
		{"other Host", "GET", map[string]string{"X-IDENTITY-HEADER": secret}, "rebound.example:80"},
		{"POST", "POST", map[string]string{"X-IDENTITY-HEADER": secret}, ""},
	} {
		req, _ := http.NewRequest(rq.method, good, nil)
		for k, v := range rq.hdr {
			req.Header.Set(k, v)
		}
		if rq.host != "" {
			req.Host = rq.host
		}
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatalf("%s: %v", rq.name, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode < 400 || strings.Contains(string(b), "access_token") || resp.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("request with %s: %d %q; want a refusal without a token or CORS header", rq.name, resp.StatusCode, b)
		}
	}

	// A keeper killed and started again serves the same variables; while
	// another program holds the port, status and env say so.
	h.kill()
	port := strings.TrimSuffix(strings.TrimPrefix(endpoint, "http://127.0.0.1:"), "/msi/token")
	blocker, err := net.Listen("tcp4", "127.0.0.1:"+port)
	if err != nil {
		t.Fatalf("take the endpoint's port %s while no keeper runs: %v", port, err)
	}
	startHeadless(t, c)
	taken := "port " + port + " on 127.0.0.1 is taken"
	waitFor(t, 15*time.Second, "status to say the port is taken", func() bool {
		return strings.Contains(c.must("", "status").stdout, "azure sdk endpoint of work: "+endpoint+", not listening: "+taken)
	})
	if r := c.run("", "env", "work", "--azure-sdk"); r.code == 0 || !strings.Contains(r.stderr, taken) || r.stdout != "" {
		t.Errorf("env --azure-sdk with the port taken: exit %d, stdout %q, stderr %q; want a failure naming the taken port", r.code, r.stdout, r.stderr)
	}
	blocker.Close()
	res2 := "https://storage.azure.com"
	sim.Consent(user, res2)
	var tok2 jsToken
	waitFor(t, 30*time.Second, "the restarted keeper's endpoint to serve the old variables", func() bool {
		tok2, msg = nodeToken(t, modules, vars, res2+"/.default")
		return msg == ""
	})
	if aud := resourceAud(t, base, tok2.Token); aud != res2 {
		t.Errorf("after a restart the resource took the token for audience %q; want %q", aud, res2)
	}

	var es []accesslog.Entry
	if err := json.Unmarshal([]byte(c.must("", "log", "--json", "--account", "work").stdout), &es); err != nil || len(es) == 0 {
		t.Fatalf("log --json: %v (%d entries)", err, len(es))
	}
	node, _ := exec.LookPath("node")
	node, _ = filepath.EvalSymlinks(node)
	if e := es[0]; e.Via != keeper.ViaAzureSDK || (runtime.GOOS == "linux" && e.Exe != node) {
		t.Errorf("access log entry = %+v; want via %q and (Linux) program %s", e, keeper.ViaAzureSDK, node)
	}
	c.assertNoSecrets(sim, "tokens.json")
	filepath.Walk(c.dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() && filepath.Base(p) != "tokens.json" {
			if b, _ := os.ReadFile(p); strings.Contains(string(b), secret) {
				t.Errorf("the endpoint secret appears in %s (outside the vault)", p)
			}
		}
		return nil
	})
	if strings.Contains(c.output.String(), secret) {
		t.Errorf("the endpoint secret appears in a command's output other than env's")
	}
}
