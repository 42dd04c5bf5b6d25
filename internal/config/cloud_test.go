package config

import (
	"strings"
	"testing"
)

// TestMicrosoftClientIDMustBeGUID: a Microsoft account whose client_id is
// not a GUID is refused, in the settings file and by AddAccount, with the
// value and where to find the right one; an oidc account's client id is
// any single word.
func TestMicrosoftClientIDMustBeGUID(t *testing.T) {
	const help = "a GUID like 00000000-0000-0000-0000-000000000000, found in the Microsoft Entra admin center → App registrations → your app → Overview → Application (client) ID"
	for _, id := range []string{"cli-1", "tokentray", "api://11111111-2222-3333-4444-555555555555", "11111111-2222-3333-4444-55555555555", "{11111111-2222-3333-4444-555555555555}"} {
		_, err := Parse([]byte("accounts:\n- name: w\n  provider: microsoft\n  client_id: \"" + id + "\"\n"))
		want := `accounts[0].client_id = "` + id + `" (from file config): not a Microsoft application (client) ID; allowed: ` + help
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(client_id %q) = %v; want it to contain %q", id, err, want)
		}
		err = AddAccount(t.TempDir()+"/config.yaml", Account{Name: "w", Provider: "microsoft", ClientID: id})
		if err == nil || !strings.Contains(err.Error(), `client_id = "`+id+`": not a Microsoft application (client) ID; allowed: `+help) {
			t.Errorf("AddAccount(client_id %q) = %v; want the refusal with where to find the id", id, err)
		}
	}
	for _, id := range []string{"11111111-2222-3333-4444-555555555555", "ABCDEF01-2345-6789-abcd-ef0123456789"} {
		if _, err := Parse([]byte("accounts:\n- name: w\n  provider: microsoft\n  client_id: " + id + "\n")); err != nil {
			t.Errorf("Parse(client_id %q) = %v; want it accepted", id, err)
		}
	}
	if _, err := Parse([]byte("accounts:\n- name: w\n  provider: oidc\n  issuer: https://id.example.com\n  client_id: tokentray-cli\n")); err != nil {
		t.Errorf("Parse(oidc client_id tokentray-cli) = %v; want it accepted", err)
	}
}

// TestCloudSetting: cloud is public (also when absent), usgov or china on
// a Microsoft account, kept through save and read; anything else, and any
// cloud on an oidc account, is refused with the key, the value and what
// is allowed.
func TestCloudSetting(t *testing.T) {
	const id = "11111111-2222-3333-4444-555555555555"
	for _, c := range []string{"", "public", "usgov", "china"} {
		line := ""
		if c != "" {
			line = "  cloud: " + c + "\n"
		}
		s, err := Parse([]byte("accounts:\n- name: w\n  provider: microsoft\n  client_id: " + id + "\n" + line))
		if err != nil {
			t.Fatalf("Parse(cloud %q) = %v", c, err)
		}
		if got := s.Accounts[0].Cloud; got != c {
			t.Errorf("Parse(cloud %q).Cloud = %q", c, got)
		}
		path := t.TempDir() + "/config.yaml"
		if err := AddAccount(path, Account{Name: "w", Provider: "microsoft", Cloud: c, ClientID: id}); err != nil {
			t.Fatalf("AddAccount(cloud %q) = %v", c, err)
		}
		back, err := ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := back.Accounts[0].Cloud; got != c {
			t.Errorf("cloud %q read back as %q", c, got)
		}
	}
	for _, tc := range []struct{ yaml, want string }{
		{"provider: microsoft\n  cloud: germany\n  client_id: " + id, `accounts[0].cloud = "germany" (from file config): unknown Microsoft cloud; allowed: public, usgov or china`},
		{"provider: microsoft\n  cloud: USGov\n  client_id: " + id, `accounts[0].cloud = "USGov" (from file config): unknown Microsoft cloud; allowed: public, usgov or china`},
		{"provider: oidc\n  issuer: https://id.example.com\n  cloud: usgov\n  client_id: x", `accounts[0].cloud = "usgov" (from file config): an oidc account's server is its issuer; allowed: microsoft accounts only`},
	} {
		_, err := Parse([]byte("accounts:\n- name: w\n  " + tc.yaml + "\n"))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) = %v; want it to contain %q", tc.yaml, err, tc.want)
		}
	}
}
