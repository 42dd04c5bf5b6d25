package keeper

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/tokentray/tokentray/internal/config"
	"github.com/tokentray/tokentray/internal/idpsim"
	"github.com/tokentray/tokentray/internal/vault"
)

const (
	azClient = "11111111-2222-3333-4444-555555555555"
	azUser   = "ada@contoso.test"
)

// resourceSeq numbers the resources the tests ask for: MSAL keeps a
// process-wide cache of managed-identity tokens by resource, so a test
// that asks for a resource an earlier test (or run, with -count) asked
// for would get that one's token without reaching the endpoint.
var resourceSeq atomic.Int64

// newResource registers a new resource the user consented to.
func (k *azureKeeper) newResource() string {
	r := fmt.Sprintf("https://res%d-%d.example.test", resourceSeq.Add(1), time.Now().UnixNano())
	k.sim.Consent(azUser, r)
	return r
}

// azureKeeper is a keeper serving the Azure SDK endpoint of account "work"
// (azure_sdk) but not of "home", both signed in at the simulator.
type azureKeeper struct {
	sim   *idpsim.Server
	base  string // the simulator's URL
	dir   string // state directory
	store *vault.Memory
	b     *Backend
	stop  func()
}

func azureSettings() config.Settings {
	s := config.Defaults()
	s.Accounts = []config.Account{
		{Name: "work", Provider: "microsoft", Tenant: "common", ClientID: azClient, AzureSDK: true},
		{Name: "home", Provider: "microsoft", Tenant: "common", ClientID: azClient},
	}
	return s
}

func newAzureKeeper(t *testing.T) *azureKeeper {
	t.Helper()
	sim := idpsim.New(idpsim.Options{})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	t.Setenv("TOKENTRAY_MICROSOFT_LOGIN_BASE", srv.URL)
	k := &azureKeeper{sim: sim, base: srv.URL, dir: t.TempDir(), store: vault.NewMemory()}
	k.start(t)
	for _, name := range []string{"work", "home"} {
		if _, err := k.b.Import(t.Context(), name, sim.Grant(azClient, azUser, nil)); err != nil {
			t.Fatalf("Import(%s) = %v", name, err)
		}
	}
	return k
}

// start builds a keeper on k's state directory and vault and starts its
// endpoints; the test's end stops them.
func (k *azureKeeper) start(t *testing.T) {
	t.Helper()
	l := &config.Loaded{Settings: azureSettings(), Path: filepath.Join(k.dir, "config.yaml")}
	b, err := Open(t.Context(), l, Options{Store: k.store, StateDir: k.dir, Keeper: true})
	if err != nil {
		t.Fatal(err)
	}
	k.b = b
	k.stop = b.StartAzureSDK(t.Context())
	t.Cleanup(k.stop)
}

// await polls the endpoints' state file until ok holds for account's
// entry, failing after a deadline.
func (k *azureKeeper) await(t *testing.T, account, what string, ok func(AzureEndpoint) bool) AzureEndpoint {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		m, err := readAzureState(k.dir)
		if err == nil && ok(m[account]) {
			return m[account]
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited 15s for %s; state file: %v %v", what, m, err)
		}
		time.Sleep(10 * time.Millisecond) // polling a file another goroutine writes
	}
}

func (k *azureKeeper) listening(t *testing.T) (endpoint, secret string) {
	t.Helper()
	ep := k.await(t, "work", "work's endpoint to listen", func(e AzureEndpoint) bool { return e.Listening })
	env, err := k.store.Load(t.Context(), azureItem("work"))
	if err != nil || len(env.ClientSecret) < 22 {
		t.Fatalf("the endpoint secret in the vault: %d chars, %v; want ≥ 22 (128 bits)", len(env.ClientSecret), err)
	}
	return "http://127.0.0.1:" + strconv.Itoa(ep.Port) + "/msi/token", env.ClientSecret
}

// sdkEnv sets what `eval "$(tokentray env work --azure-sdk)"` exports, and
// clears what would make DefaultAzureCredential pick another credential.
func sdkEnv(t *testing.T, endpoint, secret string) {
	for _, v := range []string{"AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PATH",
		"AZURE_USERNAME", "AZURE_FEDERATED_TOKEN_FILE", "AZURE_TOKEN_CREDENTIALS", "MSI_ENDPOINT", "MSI_SECRET", "IDENTITY_SERVER_THUMBPRINT", "IMDS_ENDPOINT"} {
		t.Setenv(v, "")
		os.Unsetenv(v)
	}
	t.Setenv("IDENTITY_ENDPOINT", endpoint)
	t.Setenv("IDENTITY_HEADER", secret)
}

// sdkToken gets a token for scope with the Azure SDK for Go.
func sdkToken(t *testing.T, scope string) (string, time.Time, error) {
	t.Helper()
	cred, err := azidentity.NewDefaultAzureCredential(nil)
	if err != nil {
		t.Fatalf("NewDefaultAzureCredential: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{scope}})
	return tok.Token, tok.ExpiresOn, err
}

// resourceAccepts asks the simulator's resource endpoint whether it takes
// tok, and for which audience it was issued.
func (k *azureKeeper) resourceAccepts(t *testing.T, tok string) (bool, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, k.base+"/resource", nil)
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
	return resp.StatusCode == http.StatusOK, body.Aud
}

// TestAzureSDKGoGetsAToken: the Azure SDK for Go's DefaultAzureCredential,
// with only IDENTITY_ENDPOINT and IDENTITY_HEADER set, gets a token for a
// resource through the keeper; the resource accepts it (its audience is
// the resource); the access log names this process and the endpoint; the
// account without azure_sdk has no endpoint and no secret.
func TestAzureSDKGoGetsAToken(t *testing.T) {
	k := newAzureKeeper(t)
	endpoint, secret := k.listening(t)
	sdkEnv(t, endpoint, secret)
	vaultRes := k.newResource()
	tok, exp, err := sdkToken(t, vaultRes+"/.default")
	if err != nil {
		t.Fatalf("GetToken(%s/.default) = %v", vaultRes, err)
	}
	if ok, aud := k.resourceAccepts(t, tok); !ok || aud != vaultRes {
		t.Errorf("the resource took the SDK's token: %v, audience %q; want true, %q", ok, aud, vaultRes)
	}
	if until := time.Until(exp); until < 50*time.Minute || until > 61*time.Minute {
		t.Errorf("the SDK's token expires in %s; want about the simulator's hour", until)
	}
	es, err := k.b.AccessLog(t.Context(), "work", 1)
	if err != nil || len(es) != 1 {
		t.Fatalf("AccessLog(work) = %v, %v; want the SDK's token", es, err)
	}
	e := es[0]
	wantPID, wantExe := 0, LoopbackTCP
	if runtime.GOOS == "linux" {
		wantPID = os.Getpid()
		wantExe, _ = os.Executable()
	}
	if e.Via != ViaAzureSDK || e.PID != wantPID || e.Exe != wantExe || len(e.Scopes) != 1 || e.Scopes[0] != vaultRes+"/.default" {
		t.Errorf("access log entry = %+v; want via %q, pid %d, exe %q, scopes [%s/.default]", e, ViaAzureSDK, wantPID, wantExe, vaultRes)
	}
	if m, _ := readAzureState(k.dir); m["home"].Port != 0 {
		t.Errorf("home (no azure_sdk) has endpoint %+v; want none", m["home"])
	}
	if _, err := k.store.Load(t.Context(), azureItem("home")); err == nil {
		t.Errorf("home (no azure_sdk) has an endpoint secret in the vault; want none")
	}
	b, _ := os.ReadFile(AzureStatePath(k.dir))
	if strings.Contains(string(b), secret) {
		t.Errorf("the state file holds the endpoint secret")
	}
}

// TestAzureSDKSurvivesRestart: a shell that exported the variables keeps
// working after the keeper restarts (same port, same secret); a port taken
// meanwhile is said in the state file and the endpoint comes up once it is
// free.
func TestAzureSDKSurvivesRestart(t *testing.T) {
	k := newAzureKeeper(t)
	endpoint, secret := k.listening(t)
	sdkEnv(t, endpoint, secret)
	if _, _, err := sdkToken(t, k.newResource()+"/.default"); err != nil {
		t.Fatalf("GetToken before the restart = %v", err)
	}
	port := k.await(t, "work", "the port", func(e AzureEndpoint) bool { return e.Port != 0 }).Port
	k.stop()
	k.await(t, "work", "the endpoint to stop", func(e AzureEndpoint) bool { return !e.Listening })

	blocker, err := net.Listen("tcp4", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatalf("take port %d while no keeper runs: %v", port, err)
	}
	k.start(t)
	e := k.await(t, "work", "the taken port to be said", func(e AzureEndpoint) bool { return e.Problem != "" })
	if e.Listening || e.Port != port || !strings.Contains(e.Problem, "port "+strconv.Itoa(port)+" on 127.0.0.1 is taken") {
		t.Errorf("with port %d taken the endpoint state is %+v; want not listening, the port kept and the problem named", port, e)
	}
	blocker.Close()
	endpoint2, secret2 := k.listening(t)
	if endpoint2 != endpoint || secret2 != secret {
		t.Fatalf("after a restart the endpoint is %s (secret changed: %v); want %s and the same secret", endpoint2, secret2 != secret, endpoint)
	}
	res := k.newResource()
	tok, _, err := sdkToken(t, res+"/.default")
	if err != nil {
		t.Fatalf("GetToken after the restart with the old variables = %v", err)
	}
	if ok, aud := k.resourceAccepts(t, tok); !ok || aud != res {
		t.Errorf("the resource took the token: %v, audience %q; want true, %s", ok, aud, res)
	}
}

// TestAzureSDKErrorsNameTheProvidersCode: when the provider refuses, the
// SDK's error names the provider's code and what to do; a resource the user
// did not consent to names its AADSTS code and leaves the account alone.
func TestAzureSDKErrorsNameTheProvidersCode(t *testing.T) {
	k := newAzureKeeper(t)
	endpoint, secret := k.listening(t)
	sdkEnv(t, endpoint, secret)
	_, _, err := sdkToken(t, fmt.Sprintf("api://not-consented-%d/.default", resourceSeq.Add(1)))
	if err == nil || !strings.Contains(err.Error(), "AADSTS") || !strings.Contains(err.Error(), "400") {
		t.Errorf("GetToken(unconsented resource) = %v; want a 400 naming the AADSTS code", err)
	}
	k.sim.RevokeGrant(azUser)
	_, _, err = sdkToken(t, k.newResource()+"/.default")
	if err == nil || !strings.Contains(err.Error(), "invalid_grant") || !strings.Contains(err.Error(), "tokentray login work") {
		t.Errorf("GetToken after the grant was revoked = %v; want invalid_grant and tokentray login work", err)
	}
	if err != nil && strings.Contains(err.Error(), secret) {
		t.Errorf("the SDK's error holds the endpoint secret")
	}
}

// TestAzureSDKAccountRemoved: removing an account closes its endpoint and
// deletes its secret.
func TestAzureSDKAccountRemoved(t *testing.T) {
	k := newAzureKeeper(t)
	endpoint, _ := k.listening(t)
	if err := k.b.RemoveAccount(t.Context(), "work"); err != nil {
		t.Fatal(err)
	}
	if _, err := k.store.Load(t.Context(), azureItem("work")); err == nil {
		t.Errorf("the removed account's endpoint secret is still in the vault")
	}
	if _, err := http.Get(endpoint); err == nil {
		t.Errorf("the removed account's endpoint %s still answers", endpoint)
	}
}
