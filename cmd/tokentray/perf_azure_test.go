//go:build linux

package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/tokentray/tokentray/internal/idpsim"
)

// TestPerfAzureSDK times tokens through the keeper's Azure SDK endpoint
// beside `tokentray token` in the same run, the keeper running headless
// against a loopback simulator, interleaved:
//   - token: `tokentray token work` (exec to exit; the keeper's memory);
//   - go-sdk first: azidentity's DefaultAzureCredential.GetToken for a
//     resource nobody asked for yet (the keeper refreshes at the provider);
//   - go-sdk keeper-cached: a resource the keeper holds in memory
//     (fetched by `token --resource` outside the timing) and this process
//     has not asked for: through the endpoint, no refresh;
//   - go-sdk process-cached: the same resource again: MSAL's in-process
//     cache, the endpoint is not asked;
//   - js-sdk first and keeper-cached: @azure/identity's getToken in a new
//     Node process each (the getToken call only, not Node's start).
func TestPerfAzureSDK(t *testing.T) {
	requirePerf(t)
	modules := azureJS(t)
	sim, _, base := startSim(t, idpsim.Options{})
	const user = "perf@contoso.test"
	c := newCLI(t, "TOKENTRAY_MICROSOFT_LOGIN_BASE="+base)
	c.must("", "config", "set", "storage.backend", "file")
	// Two refreshes per run (a first token and a token --resource), more
	// than the default budget of 100 per 10 minutes at 40 runs: the most
	// the settings allow, and runs capped to fit in it.
	c.must("", "config", "set", "budget.requests", "200")
	c.must("", "account", "add", "work", "--provider", "microsoft", "--client-id", azureClientID, "--azure-sdk")
	c.must(sim.Grant(azureClientID, user, nil)+"\n", "import", "work", "--refresh-token-stdin")
	startHeadless(t, c)
	endpoint, secret := azureEnv(t, c, "work")
	sdkVars := []string{"IDENTITY_ENDPOINT=" + endpoint, "IDENTITY_HEADER=" + secret}
	for _, v := range []string{"AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET", "AZURE_FEDERATED_TOKEN_FILE", "AZURE_TOKEN_CREDENTIALS"} {
		t.Setenv(v, "") // restored after the test
		os.Unsetenv(v)
	}
	t.Setenv("IDENTITY_ENDPOINT", endpoint)
	t.Setenv("IDENTITY_HEADER", secret)
	cred, err := azidentity.NewDefaultAzureCredential(nil)
	if err != nil {
		t.Fatal(err)
	}
	get := func(res string) time.Duration {
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		t0 := time.Now()
		tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{res + "/.default"}})
		d := time.Since(t0)
		if err != nil || tok.Token == "" {
			t.Fatalf("GetToken(%s) = %v", res, err)
		}
		return d
	}
	resource := func(kind string, i int) string {
		r := fmt.Sprintf("https://%s%d-%d.perf.test", kind, i, time.Now().UnixNano())
		sim.Consent(user, r)
		return r
	}
	n := min(perfRuns(), 80) // 2n + 2·10 (JavaScript) + 2 refreshes within the budget of 200
	var token, first, keeperCached, processCached []time.Duration
	get(resource("warm", 0)) // the credential's first use, outside the timing
	r0 := sim.Refreshes(user)
	for i := range n {
		r, out := runTimed(t, c.env, binPath, "token", "work")
		if !strings.HasPrefix(out, "simAT-") {
			t.Fatalf("token work printed no token")
		}
		token = append(token, r.wall)
		first = append(first, get(resource("first", i)))
		kc := resource("kept", i)
		c.must("", "token", "work", "--resource", kc)
		keeperCached = append(keeperCached, get(kc))
		processCached = append(processCached, get(kc))
	}
	if got := sim.Refreshes(user) - r0; got != 2*n {
		t.Errorf("refreshes during the runs: %d; want %d (one per first and one per token --resource)", got, 2*n)
	}
	jsRuns := 10
	var jsFirst, jsCached []time.Duration
	for i := range jsRuns {
		tok, msg := nodeToken(t, modules, sdkVars, resource("jsfirst", i)+"/.default")
		if msg != "" {
			t.Fatalf("JavaScript SDK: %s", msg)
		}
		jsFirst = append(jsFirst, time.Duration(tok.MS*float64(time.Millisecond)))
		kc := resource("jskept", i)
		c.must("", "token", "work", "--resource", kc)
		tok, msg = nodeToken(t, modules, sdkVars, kc+"/.default")
		if msg != "" {
			t.Fatalf("JavaScript SDK: %s", msg)
		}
		jsCached = append(jsCached, time.Duration(tok.MS*float64(time.Millisecond)))
	}
	tm := medianOf(token)
	perf("azure-sdk", "client", "tokentray-token", "case", "keeper-memory", "runs", n, "median_ms", ms(tm), "p90_ms", ms(p90Of(token)))
	for _, s := range []struct {
		client, cs string
		d          []time.Duration
	}{
		{"go-sdk", "first", first}, {"go-sdk", "keeper-cached", keeperCached}, {"go-sdk", "process-cached", processCached},
		{"js-sdk", "first", jsFirst}, {"js-sdk", "keeper-cached", jsCached},
	} {
		m := medianOf(s.d)
		perf("azure-sdk", "client", s.client, "case", s.cs, "runs", len(s.d), "median_ms", ms(m), "p90_ms", ms(p90Of(s.d)),
			"ratio_vs_token", fmt.Sprintf("%.2f", float64(m)/float64(tm)))
	}
}
