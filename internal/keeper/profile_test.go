package keeper

import (
	"testing"

	"github.com/tokentray/tokentray/internal/config"
)

// TestProfileCloud: a Microsoft account's endpoints are on its cloud's
// login host; TOKENTRAY_MICROSOFT_LOGIN_BASE (tests) replaces the host and
// keeps the cloud.
func TestProfileCloud(t *testing.T) {
	a := config.Account{Name: "gov", Provider: "microsoft", Cloud: "usgov", Tenant: "organizations", ClientID: "11111111-2222-3333-4444-555555555555"}
	t.Setenv("TOKENTRAY_MICROSOFT_LOGIN_BASE", "")
	p, err := Profile(a)
	if err != nil {
		t.Fatalf("Profile(usgov) = %v", err)
	}
	if want := "https://login.microsoftonline.us/organizations/oauth2/v2.0/token"; p.Cloud != "usgov" || p.Endpoints.Token != want {
		t.Errorf("Profile(usgov) = cloud %q, token endpoint %q; want usgov, %s", p.Cloud, p.Endpoints.Token, want)
	}
	a.Cloud = ""
	if p, err = Profile(a); err != nil || p.Cloud != "public" || p.Endpoints.Token != "https://login.microsoftonline.com/organizations/oauth2/v2.0/token" {
		t.Errorf("Profile(no cloud) = %+v, %v; want the public cloud", p, err)
	}
	t.Setenv("TOKENTRAY_MICROSOFT_LOGIN_BASE", "http://127.0.0.1:8400")
	a.Cloud = "china"
	if p, err = Profile(a); err != nil || p.Cloud != "china" || p.Endpoints.Token != "http://127.0.0.1:8400/organizations/oauth2/v2.0/token" {
		t.Errorf("Profile(china, base set) = %+v, %v; want the base's endpoints, cloud china", p, err)
	}
}
