package oauth

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMicrosoftProfile(t *testing.T) {
	tests := []struct {
		tenant     string
		scopes     []string
		wantTenant string
		wantScopes []string
		wantErr    string
	}{
		{"", nil, "common", []string{"offline_access", "openid", "profile"}, ""},
		{"organizations", []string{"User.Read", "openid", " offline_access  Mail.Read"}, "organizations",
			[]string{"offline_access", "openid", "profile", "User.Read", "Mail.Read"}, ""},
		{"consumers", []string{"https://graph.microsoft.com/.default"}, "consumers",
			[]string{"offline_access", "openid", "profile", "https://graph.microsoft.com/.default"}, ""},
		{"72F988BF-86F1-41AF-91AB-2D7CD011DB47", nil, "72F988BF-86F1-41AF-91AB-2D7CD011DB47", []string{"offline_access", "openid", "profile"}, ""},
		{"contoso.onmicrosoft.com", nil, "contoso.onmicrosoft.com", []string{"offline_access", "openid", "profile"}, ""},
		{"not a tenant", nil, "", nil, "want common, organizations, consumers, a tenant GUID or a tenant domain"},
		{"-bad-.example", nil, "", nil, "want common"},
		{"common/../evil", nil, "", nil, "want common"},
	}
	for _, tt := range tests {
		p, err := MicrosoftProfile(tt.tenant, "client", tt.scopes)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("MicrosoftProfile(%q) = %v; want error %q", tt.tenant, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("MicrosoftProfile(%q) = %v", tt.tenant, err)
		}
		base := "https://login.microsoftonline.com/" + tt.wantTenant
		want := Profile{Provider: ProviderMicrosoft, Cloud: "public", Tenant: tt.wantTenant, ClientID: "client", Scopes: tt.wantScopes,
			Endpoints: Endpoints{Auth: base + "/oauth2/v2.0/authorize", Token: base + "/oauth2/v2.0/token",
				Device: base + "/oauth2/v2.0/devicecode", Issuer: base + "/v2.0"}}
		if diff := cmp.Diff(want, p); diff != "" {
			t.Errorf("MicrosoftProfile(%q) mismatch (-want +got):\n%s", tt.tenant, diff)
		}
	}
	if _, err := MicrosoftProfile("common", " ", nil); err == nil {
		t.Error("MicrosoftProfile with an empty client id = nil; want an error")
	}
}

func TestMicrosoftProfileAt(t *testing.T) {
	p, err := MicrosoftProfileAt("http://127.0.0.1:8080/", "common", "c", nil)
	if err != nil {
		t.Fatalf("MicrosoftProfileAt = %v", err)
	}
	want := Endpoints{Auth: "http://127.0.0.1:8080/common/oauth2/v2.0/authorize", Token: "http://127.0.0.1:8080/common/oauth2/v2.0/token",
		Device: "http://127.0.0.1:8080/common/oauth2/v2.0/devicecode", Issuer: "http://127.0.0.1:8080/common/v2.0"}
	if diff := cmp.Diff(want, p.Endpoints); diff != "" {
		t.Errorf("MicrosoftProfileAt endpoints mismatch (-want +got):\n%s", diff)
	}
	if _, err := MicrosoftProfileAt("http://sim.example.com", "common", "c", nil); err == nil || !strings.Contains(err.Error(), "https") {
		t.Errorf("MicrosoftProfileAt(plain http host) = %v; want an https error", err)
	}
}

// TestMicrosoftCloudProfile: each cloud's endpoints are on its own login
// host; a base (tests) replaces the host but keeps the cloud; an unknown
// cloud is refused naming the allowed ones.
func TestMicrosoftCloudProfile(t *testing.T) {
	tests := []struct {
		cloud, base string
		wantCloud   string
		wantBase    string
	}{
		{"", "", "public", "https://login.microsoftonline.com"},
		{"public", "", "public", "https://login.microsoftonline.com"},
		{"usgov", "", "usgov", "https://login.microsoftonline.us"},
		{"china", "", "china", "https://login.chinacloudapi.cn"},
		{"usgov", "http://127.0.0.1:8400/", "usgov", "http://127.0.0.1:8400"},
	}
	for _, tt := range tests {
		p, err := MicrosoftCloudProfile(tt.cloud, tt.base, "organizations", "c", nil)
		if err != nil {
			t.Fatalf("MicrosoftCloudProfile(%q, %q) = %v", tt.cloud, tt.base, err)
		}
		b := tt.wantBase + "/organizations"
		want := Endpoints{Auth: b + "/oauth2/v2.0/authorize", Token: b + "/oauth2/v2.0/token",
			Device: b + "/oauth2/v2.0/devicecode", Issuer: b + "/v2.0"}
		if diff := cmp.Diff(want, p.Endpoints); diff != "" {
			t.Errorf("MicrosoftCloudProfile(%q, %q) endpoints (-want +got):\n%s", tt.cloud, tt.base, diff)
		}
		if p.Cloud != tt.wantCloud {
			t.Errorf("MicrosoftCloudProfile(%q, %q).Cloud = %q; want %q", tt.cloud, tt.base, p.Cloud, tt.wantCloud)
		}
	}
	_, err := MicrosoftCloudProfile("germany", "", "common", "c", nil)
	if err == nil || !strings.Contains(err.Error(), `"germany"`) || !strings.Contains(err.Error(), "public, usgov or china") {
		t.Errorf("MicrosoftCloudProfile(germany) = %v; want an error naming the value and public, usgov or china", err)
	}
}

func TestCheckEndpoint(t *testing.T) {
	tests := []struct {
		url  string
		want string // "" means accepted
	}{
		{"https://login.microsoftonline.com/common/oauth2/v2.0/token", ""},
		{"http://127.0.0.1:9/token", ""},
		{"http://127.8.9.10/token", ""},
		{"http://[::1]:80/token", ""},
		{"http://localhost:1234/token", ""},
		{"http://LOCALHOST/token", ""},
		{"http://login.example.com/token", "must use https"},
		{"http://127.0.0.1.example.com/token", "must use https"},
		{"http://[::ffff:8.8.8.8]/token", "must use https"},
		{"ftp://127.0.0.1/token", "scheme \"ftp\" not allowed"},
		{"/token", "not an absolute URL"},
		{"", "not an absolute URL"},
		{"https://user:pw@idp.example/t?secret=1", ""},
	}
	for _, tt := range tests {
		err := checkEndpoint(tt.url)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("checkEndpoint(%q) = %v; want nil", tt.url, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("checkEndpoint(%q) = %v; want %q", tt.url, err, tt.want)
		case err != nil && strings.Contains(err.Error(), "pw"):
			t.Errorf("checkEndpoint(%q) error leaks credentials: %v", tt.url, err)
		}
	}
}
