package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func noEnv(string) (string, bool) { return "", false }

func envOf(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaults(t *testing.T) {
	d := Defaults()
	want := Settings{
		Refresh: Refresh{Enabled: true, IntervalHours: 1, Lookahead: 5 * time.Minute, Cooldown: 10 * time.Minute, JitterMax: 20 * time.Second},
		Backoff: Backoff{Base: time.Minute, Max: time.Hour, MaxFailures: 10},
		Budget:  Budget{Requests: 100, Window: 10 * time.Minute},
		Storage: Storage{Backend: "keychain", KeychainTimeout: 5 * time.Second},
		Log:     Log{Level: "info"},
		Radar:   Radar{NotifyDays: 3},
		Hooks:   Hooks{Timeout: 30 * time.Second},
	}
	if diff := cmp.Diff(want, d); diff != "" {
		t.Errorf("Defaults() mismatch (-want +got):\n%s", diff)
	}
	if err := d.Validate(); err != nil {
		t.Errorf("Defaults().Validate() = %v; want nil", err)
	}
}

// TestInvalidValuesNameKeyValueRange checks that every refusal names the key,
// the value, the allowed range and where the value came from.
func TestInvalidValuesNameKeyValueRange(t *testing.T) {
	tests := []struct {
		name, file string
		env        map[string]string
		flags      map[string]string
		wantAll    []string
	}{
		{"interval 25 in file", "refresh:\n  interval_hours: 25\n", nil, nil, []string{"refresh.interval_hours", `"25"`, "1–24", "file "}},
		{"interval 0 in file", "refresh:\n  interval_hours: 0\n", nil, nil, []string{"refresh.interval_hours", `"0"`, "1–24"}},
		{"interval fraction", "refresh:\n  interval_hours: 1.5\n", nil, nil, []string{"refresh.interval_hours", "1.5", "not a whole number"}},
		{"interval text env", "", map[string]string{"TOKENTRAY_REFRESH_INTERVAL_HOURS": "abc"}, nil, []string{"refresh.interval_hours", `"abc"`, "1–24", "env TOKENTRAY_REFRESH_INTERVAL_HOURS"}},
		{"interval flag", "", nil, map[string]string{"refresh.interval_hours": "-3"}, []string{"refresh.interval_hours", `"-3"`, "1–24", "flag"}},
		{"lookahead too long", "refresh:\n  lookahead: 11m\n", nil, nil, []string{"refresh.lookahead", "11m", "1m–10m"}},
		{"cooldown garbage", "refresh:\n  cooldown: soon\n", nil, nil, []string{"refresh.cooldown", "soon", "not a duration"}},
		{"jitter negative", "refresh:\n  jitter_max: -1s\n", nil, nil, []string{"refresh.jitter_max", "0s–1m"}},
		{"backoff base", "backoff:\n  base: 10s\n", nil, nil, []string{"backoff.base", "30s–5m"}},
		{"backoff max", "backoff:\n  max: 3h\n", nil, nil, []string{"backoff.max", "10m–2h"}},
		{"max failures", "backoff:\n  max_failures: 4\n", nil, nil, []string{"backoff.max_failures", "5–20"}},
		{"budget requests", "budget:\n  requests: 1000\n", nil, nil, []string{"budget.requests", "50–200"}},
		{"budget window", "budget:\n  window: 1m\n", nil, nil, []string{"budget.window", "5m–20m"}},
		{"backend", "storage:\n  backend: plaintext\n", nil, nil, []string{"storage.backend", "plaintext", "keychain or file"}},
		{"enabled", "refresh:\n  enabled: maybe\n", nil, nil, []string{"refresh.enabled", "maybe", "true or false"}},
		{"log level", "", map[string]string{"TOKENTRAY_LOG_LEVEL": "loud"}, nil, []string{"log.level", "loud", "debug or info or warn or error"}},
		{"typo", "refresh:\n  intervall_hours: 2\n", nil, nil, []string{"refresh.intervall_hours", "unknown key", "did you mean refresh.interval_hours"}},
		{"not yaml", "refresh: [\n", nil, nil, []string{"not valid YAML"}},
		{"section is scalar", "refresh: 3\n", nil, nil, []string{"refresh", "unknown key"}},
		{"secret in account", "accounts:\n- name: w\n  provider: microsoft\n  client_id: x\n  refresh_token: abc\n", nil, nil, []string{"accounts[0].refresh_token", "never belong in the config file"}},
		{"bad provider", "accounts:\n- name: w\n  provider: google\n  client_id: x\n", nil, nil, []string{"accounts[0].provider", "google", "microsoft or oidc"}},
		{"http issuer", "accounts:\n- name: w\n  provider: oidc\n  client_id: x\n  issuer: http://idp.example.com\n", nil, nil, []string{"accounts[0].issuer", "https"}},
		{"duplicate", "accounts:\n- {name: w, provider: microsoft, client_id: x}\n- {name: w, provider: microsoft, client_id: y}\n", nil, nil, []string{"accounts[1].name", "duplicate"}},
		{"base over max", "backoff:\n  base: 5m\n  max: 10m\n", nil, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, tt.file)
			env := noEnv
			if tt.env != nil {
				env = envOf(tt.env)
			}
			l, err := Load(LoadOptions{Path: path, Env: env, Flags: tt.flags})
			if tt.wantAll == nil {
				if err != nil {
					t.Fatalf("Load() = %v; want nil", err)
				}
				_ = l
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Load() = %v, %v; want *ValidationError", l, err)
			}
			for _, w := range tt.wantAll {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Load() error %q; want it to contain %q", err, w)
				}
			}
		})
	}
}

func TestPrecedenceFlagEnvFileDefault(t *testing.T) {
	path := writeFile(t, "refresh:\n  interval_hours: 3\n  cooldown: 7m\nbackoff:\n  max_failures: 6\n")
	env := envOf(map[string]string{"TOKENTRAY_REFRESH_INTERVAL_HOURS": "4", "TOKENTRAY_REFRESH_COOLDOWN": "8m"})
	l, err := Load(LoadOptions{Path: path, Env: env, Flags: map[string]string{"refresh.interval_hours": "5"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := l.Settings.Refresh.IntervalHours; got != 5 {
		t.Errorf("interval = %d; want 5 (flag)", got)
	}
	if got := l.Settings.Refresh.Cooldown; got != 8*time.Minute {
		t.Errorf("cooldown = %v; want 8m (env)", got)
	}
	if got := l.Settings.Backoff.MaxFailures; got != 6 {
		t.Errorf("max_failures = %d; want 6 (file)", got)
	}
	wantSrc := map[string]Source{"refresh.interval_hours": FromFlag, "refresh.cooldown": FromEnv, "backoff.max_failures": FromFile, "budget.requests": FromDefault}
	for k, want := range wantSrc {
		if got := l.Sources[k]; got != want {
			t.Errorf("Sources[%q] = %q; want %q", k, got, want)
		}
	}
	if got := l.EnvVars["refresh.cooldown"]; got != "TOKENTRAY_REFRESH_COOLDOWN" {
		t.Errorf("EnvVars[cooldown] = %q", got)
	}
}

func TestSaveRoundTripAndPermissions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tokentray")
	path := filepath.Join(dir, "config.yaml")
	s := Defaults()
	s.Refresh.IntervalHours = 7
	s.Refresh.JitterMax = 0
	s.UI.StartMinimized = true
	s.Accounts = []Account{
		{Name: "work", Provider: "microsoft", Tenant: "organizations", ClientID: "11111111-2222-3333-4444-555555555555", Scopes: []string{"User.Read"}, Headers: map[string]string{"origin": "http://localhost"}},
		{Name: "idp", Provider: "oidc", Issuer: "https://login.example.com/realms/x", ClientID: "cli", RedirectURI: "http://127.0.0.1:8400/cb"},
	}
	if err := Save(path, s); err != nil {
		t.Fatal(err)
	}
	got, err := ReadFile(path)
	if err != nil {
		t.Fatalf("ReadFile() = %v", err)
	}
	if diff := cmp.Diff(s, got); diff != "" {
		t.Errorf("round trip mismatch (-saved +read):\n%s", diff)
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("file mode = %v; want 0600", fi.Mode().Perm())
	}
	di, _ := os.Stat(dir)
	if di.Mode().Perm() != 0o700 {
		t.Errorf("dir mode = %v; want 0700", di.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("dir has %d entries; want only config.yaml (no temp files left)", len(entries))
	}
}

func TestSaveRefusesInvalid(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	s := Defaults()
	s.Refresh.IntervalHours = 25
	if err := Save(path, s); err == nil {
		t.Fatal("Save(interval 25) = nil; want error")
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("Save wrote a file despite the error")
	}
}

func TestSetNamesKeyValueRangeAndKeepsFile(t *testing.T) {
	path := writeFile(t, "refresh:\n  interval_hours: 3\n")
	before, _ := os.ReadFile(path)
	_, err := Set(path, "refresh.interval_hours", "25")
	if err == nil {
		t.Fatal("Set(25) = nil; want error")
	}
	for _, w := range []string{"refresh.interval_hours", "25", "1–24"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("Set(25) error %q lacks %q", err, w)
		}
	}
	after, _ := os.ReadFile(path)
	if string(before) != string(after) {
		t.Errorf("Set changed the file on error")
	}
	if _, err := Set(path, "refresh.interval_hours", "12"); err != nil {
		t.Fatalf("Set(12) = %v", err)
	}
	s, _ := ReadFile(path)
	if s.Refresh.IntervalHours != 12 {
		t.Errorf("after Set(12) interval = %d", s.Refresh.IntervalHours)
	}
}

// TestAppliedOnRestart: a running process keeps the settings it loaded; a
// change on disk shows up only as a pending Diff and in the next Load.
func TestAppliedOnRestart(t *testing.T) {
	path := writeFile(t, "refresh:\n  interval_hours: 2\n")
	running, err := Load(LoadOptions{Path: path, Env: noEnv})
	if err != nil {
		t.Fatal(err)
	}
	active := running.Settings
	if _, err := Set(path, "refresh.interval_hours", "6"); err != nil {
		t.Fatal(err)
	}
	if _, err := Set(path, "budget.requests", "150"); err != nil {
		t.Fatal(err)
	}
	if active.Refresh.IntervalHours != 2 {
		t.Errorf("running settings changed to %d after a file change", active.Refresh.IntervalHours)
	}
	onDisk, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := []Change{{Key: "refresh.interval_hours", Active: "2", OnDisk: "6"}, {Key: "budget.requests", Active: "100", OnDisk: "150"}}
	if diff := cmp.Diff(want, Diff(active, onDisk)); diff != "" {
		t.Errorf("Diff mismatch (-want +got):\n%s", diff)
	}
	restarted, err := Load(LoadOptions{Path: path, Env: noEnv})
	if err != nil {
		t.Fatal(err)
	}
	if restarted.Settings.Refresh.IntervalHours != 6 {
		t.Errorf("after restart interval = %d; want 6", restarted.Settings.Refresh.IntervalHours)
	}
}

func TestLoadCreatesDefaultFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "config.yaml")
	l, err := Load(LoadOptions{Path: path, Env: noEnv, Create: true})
	if err != nil {
		t.Fatal(err)
	}
	if !l.Exists {
		t.Error("Exists = false after Create")
	}
	if _, err := ReadFile(path); err != nil {
		t.Errorf("created file does not read back: %v", err)
	}
}

func TestDurationsAcceptSecondsAndUnits(t *testing.T) {
	s, err := Parse([]byte("refresh:\n  jitter_max: 45\n  lookahead: 2m\nbackoff:\n  base: 1m30s\n"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Refresh.JitterMax != 45*time.Second || s.Refresh.Lookahead != 2*time.Minute || s.Backoff.Base != 90*time.Second {
		t.Errorf("Parse durations = %v %v %v", s.Refresh.JitterMax, s.Refresh.Lookahead, s.Backoff.Base)
	}
}

func TestEnvName(t *testing.T) {
	if got := EnvName("refresh.interval_hours"); got != "TOKENTRAY_REFRESH_INTERVAL_HOURS" {
		t.Errorf("EnvName = %q", got)
	}
}

func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"", "refresh:\n  interval_hours: 3\n", "accounts:\n- {name: a, provider: microsoft, client_id: 11111111-2222-3333-4444-555555555555}\n",
		"accounts:\n- {name: a, provider: microsoft, cloud: usgov, client_id: 11111111-2222-3333-4444-555555555555}\n",
		"refresh: [\n", "backoff: {base: 1m, max: 2m}", "accounts: 3", "a: b: c", "\x00\xff",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(data)
		if err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Parse error %T is not a *ValidationError: %v", err, err)
			}
			return
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("Parse accepted settings that Validate refuses: %v", err)
		}
		// Whatever parses must survive a save/read round trip.
		out, err := Marshal(s)
		if err != nil {
			t.Fatalf("Marshal: %v", err)
		}
		if _, err := Parse(out); err != nil {
			t.Fatalf("re-Parse of marshalled settings: %v\n%s", err, out)
		}
	})
}
