package credential

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tokentray/tokentray/internal/config"
)

// TestGitRemotes: one remote per scheme and host (case-insensitive), in
// the mappings' order; useHttpPath when any of its mappings has a path.
func TestGitRemotes(t *testing.T) {
	ms := []config.GitCredential{
		{Host: "dev.azure.com", Account: "work"},
		{Host: "DEV.azure.com", Path: "contoso/", Account: "other"},
		{Host: "127.0.0.1:8080", Protocol: "http", Path: "/", Account: "work"},
		{Host: "dev.azure.com", Protocol: "http", Account: "work"},
	}
	want := []GitRemote{
		{Protocol: "https", Host: "dev.azure.com", UseHTTPPath: true},
		{Protocol: "http", Host: "127.0.0.1:8080"},
		{Protocol: "http", Host: "dev.azure.com"},
	}
	if d := cmp.Diff(want, GitRemotes(ms)); d != "" {
		t.Errorf("GitRemotes mismatch (-want +got):\n%s", d)
	}
	if got := GitRemotes(nil); got != nil {
		t.Errorf("GitRemotes(nil) = %v; want none", got)
	}
}

func TestGitUsername(t *testing.T) {
	for _, c := range []struct {
		mapping, url, want string
	}{
		{"svc", "me", "svc"},
		{"", "me", "me"},
		{"", "", config.DefaultGitUsername},
	} {
		got := GitUsername(config.GitCredential{Username: c.mapping}, GitRequest{Username: c.url})
		if got != c.want {
			t.Errorf("GitUsername(mapping %q, URL %q) = %q; want %q", c.mapping, c.url, got, c.want)
		}
	}
}

// TestCheckRemote: with the real git, the check passes only when git's
// list for the remote is tokentray's helper alone, and names the helper
// that would get a copy otherwise.
func TestCheckRemote(t *testing.T) {
	const tt = "!tokentray git-credential"
	r := GitRemote{Protocol: "https", Host: "dev.azure.com"}
	for _, c := range []struct {
		name, global string
		ok           bool
		detail       string
	}{
		{"only tokentray", "[credential \"https://dev.azure.com\"]\n\thelper =\n\thelper = " + tt + "\n", true, "git asks only tokentray for https://dev.azure.com"},
		{"store after it", "[credential \"https://dev.azure.com\"]\n\thelper =\n\thelper = " + tt + "\n[credential]\n\thelper = store\n", false, `"store" (credential.helper in file:`},
		{"no tokentray helper", "", false, "git asks no tokentray helper for https://dev.azure.com"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := gitOnly(t, c.global).CheckRemote(context.Background(), r)
			if got.OK != c.ok || !strings.Contains(got.Detail, c.detail) {
				t.Errorf("CheckRemote = %+v; want ok %t, detail with %q", got, c.ok, c.detail)
			}
			if !got.OK && got.Fix == "" {
				t.Errorf("CheckRemote = %+v; a failed check names its fix", got)
			}
		})
	}
}

// TestOnlyOurs: the helper gives no token when git would hand it to
// another helper for the remote, and names that helper.
func TestOnlyOurs(t *testing.T) {
	const tt = "!tokentray git-credential"
	req := GitRequest{Protocol: "https", Host: "dev.azure.com"}
	ours := gitOnly(t, "[credential \"https://dev.azure.com\"]\n\thelper =\n\thelper = "+tt+"\n")
	if err := ours.OnlyOurs(context.Background(), req, "work"); err != nil {
		t.Errorf("OnlyOurs with tokentray alone = %v; want nil", err)
	}
	withStore := gitOnly(t, "[credential \"https://dev.azure.com\"]\n\thelper =\n\thelper = "+tt+"\n[credential]\n\thelper = store\n")
	err := withStore.OnlyOurs(context.Background(), req, "work")
	if err == nil || !strings.Contains(err.Error(), `"store"`) || !strings.Contains(err.Error(), `account "work"`) {
		t.Errorf("OnlyOurs with store after tokentray = %v; want an error naming store and the account", err)
	}
}
