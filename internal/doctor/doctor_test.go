package doctor

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tokentray/tokentray/internal/config"
)

func TestDiscoveryURL(t *testing.T) {
	t.Setenv("TOKENTRAY_MICROSOFT_LOGIN_BASE", "")
	for _, c := range []struct {
		a    config.Account
		want string
	}{
		{config.Account{Provider: "microsoft"}, "https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration"},
		{config.Account{Provider: "microsoft", Tenant: "contoso.onmicrosoft.com"}, "https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration"},
		{config.Account{Provider: "oidc", Issuer: "https://id.example.com/realms/x/"}, "https://id.example.com/realms/x/.well-known/openid-configuration"},
		{config.Account{Provider: "other"}, ""},
	} {
		if got := discoveryURL(c.a); got != c.want {
			t.Errorf("discoveryURL(%+v) = %q; want %q", c.a, got, c.want)
		}
	}
	t.Setenv("TOKENTRAY_MICROSOFT_LOGIN_BASE", "http://127.0.0.1:9/")
	if got, want := discoveryURL(config.Account{Provider: "microsoft", Tenant: "organizations"}), "http://127.0.0.1:9/organizations/v2.0/.well-known/openid-configuration"; got != want {
		t.Errorf("discoveryURL with TOKENTRAY_MICROSOFT_LOGIN_BASE = %q; want %q", got, want)
	}
}

// TestProbeProvider: a provider that answers 200 with its clock in step
// passes both checks; one whose Date is 5 minutes ahead fails the clock
// check, one that answers 404 the reachability check, each with a fix.
func TestProbeProvider(t *testing.T) {
	var skew time.Duration
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Date", time.Now().Add(skew).UTC().Format(http.TimeFormat))
		w.WriteHeader(status)
	}))
	defer srv.Close()
	url := srv.URL + "/.well-known/openid-configuration"
	host := strings.TrimPrefix(srv.URL, "http://")
	run := func() map[string]Check {
		got := map[string]Check{}
		for _, c := range probeProvider(context.Background(), srv.Client(), "work", url) {
			got[c.Name] = c
		}
		return got
	}

	got := run()
	if !got["provider work"].OK || !got["clock work"].OK || len(got) != 2 {
		t.Errorf("probe of a healthy provider = %+v; want provider and clock checks ok", got)
	}
	if d := got["provider work"].Detail; !strings.HasPrefix(d, host+" answered 200 in ") {
		t.Errorf("provider detail %q; want %q answered 200", d, host)
	}

	skew = 5 * time.Minute
	got = run()
	if c := got["clock work"]; c.OK || !strings.Contains(c.Detail, "offset to "+host+": 4m") && !strings.Contains(c.Detail, "offset to "+host+": 5m") || c.Fix == "" {
		t.Errorf("clock check 5 minutes off = %+v; want a failure with the offset and a fix", c)
	}

	skew, status = 0, http.StatusNotFound
	got = run()
	if c := got["provider work"]; c.OK || !strings.Contains(c.Detail, "answered 404") || c.Fix != "check the tenant or issuer of account work" {
		t.Errorf("provider answering 404 = %+v; want a failure naming the status and the account", c)
	}

	srv.Close()
	got = run()
	if c := got["provider work"]; c.OK || !strings.HasPrefix(c.Detail, "unreachable: ") || len(got) != 1 {
		t.Errorf("probe of a closed server = %+v; want one failed check, unreachable", got)
	}
}

// TestRunOrderAndSettingsError: settings that could not be read fail the
// first check with the reason, and the rest run with the defaults in the
// order doctor prints them; a mapped git remote and a provider get a line
// each.
func TestRunOrderAndSettingsError(t *testing.T) {
	t.Setenv("TOKENTRAY_STATE_DIR", t.TempDir())
	t.Setenv(config.LockDirEnv, t.TempDir())
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("HOME", t.TempDir())
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	t.Setenv("GIT_CONFIG_GLOBAL", "/dev/null")
	// The defaults keep tokens in the keychain: no session bus here, so the
	// probe fails at once (and no stray dbus-daemon is started).
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path="+t.TempDir()+"/no-bus")

	checks := Run(context.Background(), Options{LoadErr: errors.New(`refresh.interval_hours "30": want 1–24`), TrayHost: true})
	if len(checks) == 0 || checks[0].Name != "settings" || checks[0].OK || checks[0].Detail != `refresh.interval_hours "30": want 1–24` || checks[0].Fix == "" {
		t.Fatalf("first check = %+v; want the settings failure with its reason and fix", checks)
	}
	if len(checks) < 2 || checks[1].Name != "storage" || checks[1].OK || !strings.HasPrefix(checks[1].Detail, "keychain") {
		t.Errorf("checks after a settings error = %+v; want the default keychain storage probed next (and failing without a bus)", checks)
	}

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer srv.Close()
	l := &config.Loaded{Path: "/x/config.yaml", Settings: config.Defaults()}
	l.Settings.Storage.Backend = "file"
	l.Settings.Accounts = []config.Account{{Name: "work", Provider: "oidc", Issuer: srv.URL}, {Name: "again", Provider: "oidc", Issuer: srv.URL + "/"}}
	l.Settings.Git.Credentials = []config.GitCredential{{Host: "dev.azure.com", Account: "work"}}
	var names []string
	for _, c := range Run(context.Background(), Options{Loaded: l, TrayHost: false, HTTP: srv.Client()}) {
		names = append(names, c.Name)
		switch c.Name {
		case "settings", "storage", "provider work", "clock work":
			if !c.OK {
				t.Errorf("check %+v; want ok", c)
			}
		case "tray host", "git https://dev.azure.com":
			if c.OK || c.Fix == "" {
				t.Errorf("check %+v; want a failure with a fix", c)
			}
		}
	}
	want := []string{"settings", "storage", "tray host", "start at login", "git https://dev.azure.com", "provider work", "clock work"}
	if d := cmp.Diff(want, names); d != "" {
		t.Errorf("checks mismatch (-want +got):\n%s", d)
	}
}

// TestDoctorProbesTheAccountsCloud: doctor reaches a Microsoft account's
// discovery document at its own cloud's login host.
func TestDoctorProbesTheAccountsCloud(t *testing.T) {
	t.Setenv("TOKENTRAY_MICROSOFT_LOGIN_BASE", "")
	for cloud, want := range map[string]string{
		"":      "https://login.microsoftonline.com/organizations/v2.0/.well-known/openid-configuration",
		"usgov": "https://login.microsoftonline.us/organizations/v2.0/.well-known/openid-configuration",
		"china": "https://login.chinacloudapi.cn/organizations/v2.0/.well-known/openid-configuration",
	} {
		a := config.Account{Name: "a", Provider: "microsoft", Cloud: cloud, Tenant: "organizations", ClientID: "11111111-2222-3333-4444-555555555555"}
		if got := discoveryURL(a); got != want {
			t.Errorf("discoveryURL(cloud %q) = %q; want %q", cloud, got, want)
		}
	}
}
