package config

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestClientCapabilities(t *testing.T) {
	l, err := Load(LoadOptions{Path: writeFile(t, "accounts:\n- name: w\n  provider: microsoft\n  client_id: 11111111-2222-3333-4444-555555555555\n  client_capabilities: [cp1]\n"), Env: noEnv})
	if err != nil {
		t.Fatalf("Load(client_capabilities: [cp1]) = %v", err)
	}
	if a, _ := l.Settings.Account("w"); !slices.Equal(a.ClientCapabilities, []string{"cp1"}) {
		t.Errorf("ClientCapabilities = %v; want [cp1]", a.ClientCapabilities)
	}
	out, err := Marshal(l.Settings)
	if err != nil || !strings.Contains(string(out), "client_capabilities") {
		t.Fatalf("Marshal() = %q, %v; want client_capabilities kept", out, err)
	}
	l2, err := Load(LoadOptions{Path: writeFile(t, string(out)), Env: noEnv})
	if err != nil {
		t.Fatalf("Load(Marshal()) = %v", err)
	}
	if a, _ := l2.Settings.Account("w"); !slices.Equal(a.ClientCapabilities, []string{"cp1"}) {
		t.Errorf("ClientCapabilities after Marshal and Load = %v; want [cp1]", a.ClientCapabilities)
	}
	for name, tc := range map[string]struct{ file, want string }{
		"unknown":   {"accounts:\n- name: w\n  provider: microsoft\n  client_id: 11111111-2222-3333-4444-555555555555\n  client_capabilities: [cp2]\n", `accounts[0].client_capabilities = "cp2"`},
		"duplicate": {"accounts:\n- name: w\n  provider: microsoft\n  client_id: 11111111-2222-3333-4444-555555555555\n  client_capabilities: [cp1, cp1]\n", "listed twice"},
		"oidc":      {"accounts:\n- name: w\n  provider: oidc\n  issuer: https://idp.example.com\n  client_id: x\n  client_capabilities: [cp1]\n", "microsoft accounts only"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Load(LoadOptions{Path: writeFile(t, tc.file), Env: noEnv})
			var ve *ValidationError
			if !errors.As(err, &ve) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "cp1") && name != "oidc" {
				t.Errorf("Load() = %v; want a validation error containing %q and the allowed cp1", err, tc.want)
			}
		})
	}
}
