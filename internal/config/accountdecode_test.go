package config

import (
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestUnknownAccountFieldNamesAllowed checks that an unknown account field
// is refused with its key and the list of the fields an account may have.
func TestUnknownAccountFieldNamesAllowed(t *testing.T) {
	_, err := Parse([]byte("accounts:\n- name: w\n  provider: microsoft\n  client_id: 11111111-2222-3333-4444-555555555555\n  colour: red\n"))
	want := `accounts[0].colour (from file config): unknown account field; allowed: name, provider, tenant, cloud, issuer, client_id, scopes, redirect_uri, headers, client_capabilities, narrower_scopes, azure_sdk`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Parse(unknown field) = %v; want it to contain %q", err, want)
	}
}

// TestEveryAccountFieldRoundTrips checks that each field an account may
// have in the file is written by Marshal and read back by Parse, so that a
// field added to Account is neither refused as unknown nor dropped.
func TestEveryAccountFieldRoundTrips(t *testing.T) {
	a := Account{
		Name:           "work",
		Provider:       "oidc",
		Issuer:         "https://login.example.com/realms/x",
		ClientID:       "cli",
		Scopes:         []string{"openid", "offline_access"},
		RedirectURI:    "http://127.0.0.1:8400/cb",
		Headers:        map[string]string{"origin": "http://localhost"},
		NarrowerScopes: true,
	}
	m := Account{Name: "ms", Provider: "microsoft", Tenant: "organizations", Cloud: "usgov", ClientID: "11111111-2222-3333-4444-555555555555", ClientCapabilities: []string{"cp1"}, AzureSDK: true}
	v, w := reflect.ValueOf(a), reflect.ValueOf(m)
	for i := range v.NumField() {
		if v.Field(i).IsZero() && w.Field(i).IsZero() {
			t.Fatalf("field %s is zero in both test accounts; give it a value", v.Type().Field(i).Name)
		}
	}
	s := Defaults()
	s.Accounts = []Account{a, m}
	out, err := Marshal(s)
	if err != nil {
		t.Fatalf("Marshal() = %v", err)
	}
	got, err := Parse(out)
	if err != nil {
		t.Fatalf("Parse(Marshal()) = %v", err)
	}
	if diff := cmp.Diff(s.Accounts, got.Accounts); diff != "" {
		t.Errorf("accounts after Marshal and Parse (-want +got):\n%s", diff)
	}
}
