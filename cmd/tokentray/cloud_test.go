package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tokentray/tokentray/internal/idpsim"
	"github.com/tokentray/tokentray/internal/state"
)

// TestCLICloud: `account add --cloud usgov` keeps the cloud in the
// settings; status names it (text and --json), in-process and through a
// keeper; an unknown cloud, a cloud on an oidc account and a Microsoft
// client ID that is not a GUID are refused with exit 2, naming the flag,
// the value and what is allowed.
func TestCLICloud(t *testing.T) {
	sim, _, base := startSim(t, idpsim.Options{})
	c := newCLI(t, "TOKENTRAY_MICROSOFT_LOGIN_BASE="+base) // the simulator stands in for the cloud's login host
	c.must("", "config", "set", "storage.backend", "file")
	c.must("", "account", "add", "gov", "--provider", "microsoft", "--cloud", "usgov", "--client-id", testClientID)
	c.must("", "account", "add", "work", "--provider", "microsoft", "--client-id", testClientID)
	c.must(sim.Grant(testClientID, "gus@contoso.test", nil)+"\n", "import", "gov", "--refresh-token-stdin")
	list := c.must("", "account", "list").stdout
	lines := strings.Split(list, "\n")
	for i, want := range []string{"NAME PROVIDER CLOUD", "gov microsoft usgov", "work microsoft public"} {
		if i >= len(lines) || !strings.HasPrefix(strings.Join(strings.Fields(lines[i]), " "), want) {
			t.Errorf("account list line %d is not %q...:\n%s", i+1, want, list)
		}
	}

	checkStatus := func(where string) {
		t.Helper()
		text := c.must("", "status").stdout
		if want := "gov: Microsoft US Government cloud (usgov, login.microsoftonline.us)"; !strings.Contains(text, want) {
			t.Errorf("status (%s) lacks %q:\n%s", where, want, text)
		}
		if strings.Contains(text, "work: Microsoft") {
			t.Errorf("status (%s) names the public cloud of work:\n%s", where, text)
		}
		var s state.Snapshot
		if err := json.Unmarshal([]byte(c.must("", "status", "--json").stdout), &s); err != nil {
			t.Fatal(err)
		}
		gov, _ := s.Account("gov")
		work, _ := s.Account("work")
		if gov.Cloud != "usgov" || work.Cloud != "public" {
			t.Errorf("status --json (%s): cloud of gov %q, of work %q; want usgov and public", where, gov.Cloud, work.Cloud)
		}
	}
	checkStatus("in-process")
	startHeadless(t, c)
	checkStatus("keeper")
	c.must("", "token", "gov") // signs in at the simulator standing in for login.microsoftonline.us

	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--provider", "microsoft", "--cloud", "germany", "--client-id", testClientID},
			[]string{`--cloud = "germany"`, "public, usgov or china"}},
		{[]string{"--provider", "oidc", "--issuer", "https://id.example.com", "--cloud", "usgov", "--client-id", "cli"},
			[]string{`--cloud = "usgov"`, "microsoft accounts only"}},
		{[]string{"--provider", "microsoft", "--client-id", "my-app"},
			[]string{`--client-id = "my-app"`, "not a Microsoft application (client) ID", "a GUID like 00000000-0000-0000-0000-000000000000",
				"Microsoft Entra admin center → App registrations → your app → Overview → Application (client) ID"}},
	} {
		r := c.run("", append([]string{"account", "add", "x"}, tc.args...)...)
		if r.code != 2 {
			t.Errorf("account add %q: exit %d; want 2\n%s", tc.args, r.code, r.stderr)
		}
		for _, w := range tc.want {
			if !strings.Contains(r.stderr, w) {
				t.Errorf("account add %q: stderr lacks %q:\n%s", tc.args, w, r.stderr)
			}
		}
	}
	c.assertNoSecrets(sim, "tokens.json")
}
