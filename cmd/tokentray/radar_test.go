package main

import (
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokentray/tokentray/internal/idpsim"
	"github.com/tokentray/tokentray/internal/state"
)

// shiftedClock is the simulator's clock: real time plus an offset the test
// sets, so a sign-in can be hours old without waiting.
type shiftedClock struct{ off atomic.Int64 }

func (c *shiftedClock) now() time.Time      { return time.Now().Add(time.Duration(c.off.Load())) }
func (c *shiftedClock) set(d time.Duration) { c.off.Store(int64(d)) }

// statusRadar runs `status --json` and returns account's radar.
func statusRadar(t *testing.T, c *cli, account string) *state.Radar {
	t.Helper()
	r := c.must("", "status", "--json")
	var s state.Snapshot
	if err := json.Unmarshal([]byte(r.stdout), &s); err != nil {
		t.Fatalf("status --json: %v\n%s", err, r.stdout)
	}
	a, ok := s.Account(account)
	if !ok {
		t.Fatalf("status --json has no account %q:\n%s", account, r.stdout)
	}
	return a.Radar
}

// TestCLIRadarSignInFrequency: against the simulator's sign-in frequency
// policy (8 h), through a running keeper: no radar before the limit is
// known; past it `refresh` exits 3 naming AADSTS70043; after the next
// sign-in `status --json` and `status` say sign in by auth_time + 8 h
// (sign_in_frequency), also from disk once the keeper is gone.
func TestCLIRadarSignInFrequency(t *testing.T) {
	clk := &shiftedClock{}
	sim, _, base := startSim(t, idpsim.Options{SignInFrequency: 8 * time.Hour, Clock: clk.now})
	c := newFileAccountCLI(t, base, "work")
	h := startHeadless(t, c)

	clk.set(-7 * time.Hour) // signed in 7 h ago
	rt := sim.Grant(testClientID, "fay@contoso.test", []string{"openid", "profile", "offline_access"})
	clk.set(0)
	c.must(rt+"\n", "import", "work", "--refresh-token-stdin")
	if r := statusRadar(t, c, "work"); r != nil {
		t.Errorf("radar before any limit is known = %+v; want none", r)
	}

	clk.set(2 * time.Hour) // 9 h after the sign-in
	r := c.run("", "refresh", "work")
	if r.code != 3 || !strings.Contains(r.stderr, "AADSTS70043") || !strings.Contains(r.stderr, "login") {
		t.Fatalf("refresh past the sign-in frequency: exit %d, stderr %q; want 3 naming AADSTS70043 and login", r.code, r.stderr)
	}
	if r := statusRadar(t, c, "work"); r != nil {
		t.Errorf("radar of an account that needs sign-in = %+v; want none", r)
	}

	clk.set(0)
	signIn := time.Now().Truncate(time.Second)
	rt = sim.Grant(testClientID, "fay@contoso.test", []string{"openid", "profile", "offline_access"})
	c.must(rt+"\n", "import", "work", "--refresh-token-stdin")
	got := statusRadar(t, c, "work")
	if got == nil || got.Source != state.RadarSignInFrequency || got.Since.Sub(signIn).Abs() > time.Second || !got.SignInBy.Equal(got.Since.Add(8*time.Hour)) {
		t.Fatalf("radar after the new sign-in = %+v; want sign_in_frequency, by auth_time %v + 8h", got, signIn)
	}
	c.must("", "refresh", "work")
	if again := statusRadar(t, c, "work"); again == nil || !again.SignInBy.Equal(got.SignInBy) {
		t.Errorf("radar after a refresh = %+v; want it unchanged at %v (the limit does not slide)", again, got.SignInBy)
	}
	text := c.must("", "status").stdout
	if want := "work: sign-in needed by " + got.SignInBy.Local().Format("Mon 2 Jan 15:04") + " (in 7 hours, sign-in frequency policy)"; !strings.Contains(text, want) {
		t.Errorf("status lacks %q:\n%s", want, text)
	}

	h.kill()
	if fromDisk := statusRadar(t, c, "work"); fromDisk == nil || !fromDisk.SignInBy.Equal(got.SignInBy) {
		t.Errorf("radar from disk (no keeper) = %+v; want %v", fromDisk, got.SignInBy)
	}
	c.assertNoSecrets(sim, "tokens.json")
}

// TestCLIRadarSPA: a single-page-app account (Origin header) on the
// simulator's SPA client: status shows refresh_token_expires_in's date, 24 h
// after the sign-in; past it `refresh` exits 3 naming AADSTS700084.
func TestCLIRadarSPA(t *testing.T) {
	clk := &shiftedClock{}
	sim, _, base := startSim(t, idpsim.Options{SPAClients: []string{spaClientID}, Clock: clk.now})
	c := newCLI(t, "TOKENTRAY_MICROSOFT_LOGIN_BASE="+base)
	c.must("", "config", "set", "storage.backend", "file")
	c.must("", "account", "add", "spa", "--provider", "microsoft", "--client-id", spaClientID, "--header", "Origin: http://localhost:3000")

	clk.set(-time.Hour)
	signIn := clk.now()
	rt := sim.Grant(spaClientID, "gus@contoso.test", []string{"openid", "profile", "offline_access"})
	clk.set(0)
	c.must(rt+"\n", "import", "spa", "--refresh-token-stdin")
	got := statusRadar(t, c, "spa")
	if got == nil || got.Source != state.RadarRefreshTokenExpiresIn || got.SignInBy.Sub(signIn.Add(24*time.Hour)).Abs() > 2*time.Second {
		t.Fatalf("radar of the SPA account = %+v; want refresh_token_expires_in, by %v", got, signIn.Add(24*time.Hour))
	}
	if text := c.must("", "status").stdout; !strings.Contains(text, "spa: sign-in needed by ") || !strings.Contains(text, "(in 22 hours, refresh token lifetime)") && !strings.Contains(text, "(in 23 hours, refresh token lifetime)") {
		t.Errorf("status lacks the SPA radar line:\n%s", text)
	}

	clk.set(23 * time.Hour)
	r := c.run("", "refresh", "spa")
	if r.code != 3 || !strings.Contains(r.stderr, "AADSTS700084") {
		t.Fatalf("refresh after 24 h: exit %d, stderr %q; want 3 naming AADSTS700084", r.code, r.stderr)
	}
	c.assertNoSecrets(sim, "tokens.json")
}

// TestCLIIdpSimSignInFrequencyFlag: a bad --sign-in-frequency is refused
// (exit 2) naming the flag, the value and what is allowed.
func TestCLIIdpSimSignInFrequencyFlag(t *testing.T) {
	c := newCLI(t)
	for _, v := range []string{"30s", "-1h", "2200h"} {
		r := c.run("", "idp-sim", "--sign-in-frequency", v)
		if r.code != 2 || !strings.Contains(r.stderr, "--sign-in-frequency") || !strings.Contains(r.stderr, "1m–2160h") {
			t.Errorf("idp-sim --sign-in-frequency %s: exit %d, stderr %q; want 2 naming the flag and 1m–2160h", v, r.code, r.stderr)
		}
	}
}

// TestCLIRadarHelp: `status --help` explains the radar and its setting;
// `idp-sim --help` names the flags that simulate it.
func TestCLIRadarHelp(t *testing.T) {
	c := newCLI(t)
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"status", "--help"}, []string{"expiry radar", "sign_in_by", "AADSTS70043", "auth_time", "radar.notify_days"}},
		{[]string{"idp-sim", "--help"}, []string{"--sign-in-frequency", "--spa-client"}},
	} {
		out := c.must("", tc.args...).stdout
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("tokentray %s lacks %q:\n%s", strings.Join(tc.args, " "), w, out)
			}
		}
	}
}
