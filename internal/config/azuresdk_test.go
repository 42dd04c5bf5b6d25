package config

import (
	"strings"
	"testing"
)

// TestAzureSDKSetting: azure_sdk is a boolean of Microsoft accounts; an
// OIDC account or a value that is not a boolean is refused with the key,
// the value and what is allowed.
func TestAzureSDKSetting(t *testing.T) {
	const base = "accounts:\n  - name: work\n    client_id: 11111111-2222-3333-4444-555555555555\n"
	s, err := Parse([]byte(base + "    provider: microsoft\n    azure_sdk: true\n"))
	if err != nil {
		t.Fatalf("Parse(microsoft, azure_sdk: true) = %v", err)
	}
	if a, _ := s.Account("work"); !a.AzureSDK {
		t.Errorf("Parse(azure_sdk: true) gave AzureSDK false")
	}
	for _, c := range []struct{ yaml, want string }{
		{"    provider: oidc\n    issuer: https://id.example.com\n    azure_sdk: true\n", `accounts[0].azure_sdk = "true"`},
		{"    provider: microsoft\n    azure_sdk: sometimes\n", `accounts[0].azure_sdk = "sometimes"`},
	} {
		_, err := Parse([]byte(base + c.yaml))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Parse(%q) = %v; want an error naming %s", c.yaml, err, c.want)
		}
	}
	if err := (Account{Name: "idp", Provider: "oidc", Issuer: "https://id.example.com", ClientID: "c", AzureSDK: true}).Validate(); err == nil || !strings.Contains(err.Error(), "microsoft accounts only") {
		t.Errorf("Validate(oidc with AzureSDK) = %v; want it refused naming microsoft accounts only", err)
	}
}
