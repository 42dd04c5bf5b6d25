package credential

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// gitOnly is a GitConfig that reads only global (and command-line)
// configuration from text, as the real git (git 2.39 on Debian 12) reads it.
func gitOnly(t *testing.T, global string, extra ...string) GitConfig {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatalf("git is needed to test what git reads: %v", err)
	}
	p := filepath.Join(t.TempDir(), "gitconfig")
	if err := os.WriteFile(p, []byte(global), 0o600); err != nil {
		t.Fatal(err)
	}
	env := append([]string{"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=" + p, "HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")}, extra...)
	return GitConfig{Env: env, Dir: t.TempDir()}
}

// TestGitHelpersFollowGit: the helper list is the one git uses — checked
// against git itself by TestGitHelpersAgreeWithGitApprove — for the
// orders that matter: a storage helper before the reset is dropped, one
// appended after it (what `git config --global credential.helper store`
// does) is kept, as are URL-specific ones after the reset.
func TestGitHelpersFollowGit(t *testing.T) {
	const tt = "!tokentray git-credential"
	tests := []struct {
		name, global string
		env          []string
		path         string
		pathKnown    bool
		want         []string
	}{
		{"reset before tokentray", "[credential]\n\thelper = store\n[credential \"https://dev.azure.com\"]\n\thelper =\n\thelper = " + tt + "\n", nil, "", false, []string{tt}},
		{"store appended after the reset", "[credential \"https://dev.azure.com\"]\n\thelper =\n\thelper = " + tt + "\n[credential]\n\thelper = store\n", nil, "", false, []string{tt, "store"}},
		{"no reset", "[credential]\n\thelper = cache\n[credential \"https://dev.azure.com\"]\n\thelper = " + tt + "\n", nil, "", false, []string{"cache", tt}},
		{"other host's helper", "[credential \"https://dev.azure.com\"]\n\thelper =\n\thelper = " + tt + "\n[credential \"https://github.com\"]\n\thelper = store\n", nil, "", false, []string{tt}},
		{"host with other case", "[credential \"https://DEV.Azure.com\"]\n\thelper =\n\thelper = " + tt + "\n", nil, "", false, []string{tt}},
		{"wildcard host", "[credential \"https://dev.azure.com\"]\n\thelper =\n\thelper = " + tt + "\n[credential \"https://*.azure.com\"]\n\thelper = store\n", nil, "", false, []string{tt, "store"}},
		{"partial URL", "[credential \"https://dev.azure.com\"]\n\thelper =\n\thelper = " + tt + "\n[credential \"dev.azure.com\"]\n\thelper = store\n", nil, "", false, []string{tt, "store"}},
		{"other path, path known", "[credential \"https://dev.azure.com\"]\n\thelper =\n\thelper = " + tt + "\n[credential \"https://dev.azure.com/fabrikam\"]\n\thelper = store\n", nil, "contoso/r", true, []string{tt}},
		{"same path, path known", "[credential \"https://dev.azure.com\"]\n\thelper =\n\thelper = " + tt + "\n[credential \"https://dev.azure.com/contoso\"]\n\thelper = store\n", nil, "contoso/r", true, []string{tt, "store"}},
		{"a path's helper, path unknown", "[credential \"https://dev.azure.com\"]\n\thelper =\n\thelper = " + tt + "\n[credential \"https://dev.azure.com/fabrikam\"]\n\thelper = store\n", nil, "", false, []string{tt, "store"}},
		{"command line after the file", "[credential \"https://dev.azure.com\"]\n\thelper =\n\thelper = " + tt + "\n", []string{"GIT_CONFIG_PARAMETERS='credential.helper'='osxkeychain'"}, "", false, []string{tt, "osxkeychain"}},
		{"command line reset", "[credential]\n\thelper = store\n", []string{"GIT_CONFIG_PARAMETERS='credential.helper'='' 'credential.helper'='" + tt + "'"}, "", false, []string{tt}},
		{"default port", "[credential \"https://dev.azure.com\"]\n\thelper =\n\thelper = " + tt + "\n[credential \"https://dev.azure.com:443\"]\n\thelper = store\n", nil, "", false, []string{tt, "store"}},
		{"other port", "[credential \"https://dev.azure.com\"]\n\thelper =\n\thelper = " + tt + "\n[credential \"https://dev.azure.com:8443\"]\n\thelper = store\n", nil, "", false, []string{tt}},
		{"user in the pattern", "[credential \"https://dev.azure.com\"]\n\thelper =\n\thelper = " + tt + "\n[credential \"https://me@dev.azure.com\"]\n\thelper = store\n", nil, "", false, []string{tt}},
		{"nothing", "", nil, "", false, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := gitOnly(t, tc.global, tc.env...)
			hs, err := g.Helpers(t.Context(), "https", "dev.azure.com", "", tc.path, tc.pathKnown)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, h := range hs {
				got = append(got, h.Value)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Helpers (-want +got):\n%s", diff)
			}
		})
	}
}

// TestGitHelpersAgreeWithGitApprove: for the same configurations, the
// helpers `git credential approve` (what git runs after a successful
// request) hands the password to are the ones Helpers lists.
func TestGitHelpersAgreeWithGitApprove(t *testing.T) {
	dir := t.TempDir()
	logf := filepath.Join(dir, "log")
	helper := func(name string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("#!/bin/sh\ncat >/dev/null\necho \""+name+" $1\" >> "+logf+"\n"), 0o700); err != nil {
			t.Fatal(err)
		}
		return p
	}
	a, b, c, d := helper("a"), helper("b"), helper("c"), helper("d")
	global := "[credential]\n\thelper = " + a + "\n[credential \"https://dev.azure.com\"]\n\thelper =\n\thelper = " + b +
		"\n[credential]\n\thelper = " + c + "\n[credential \"https://dev.azure.com/contoso\"]\n\thelper = " + d +
		"\n[credential \"https://dev.azure.com/fabrikam\"]\n\thelper = " + a + "\n"
	g := gitOnly(t, global)
	hs, err := g.Helpers(t.Context(), "https", "dev.azure.com", "", "contoso/r", true)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, h := range hs {
		got = append(got, filepath.Base(h.Value)+" store")
	}
	cmd := exec.Command("git", "-c", "credential.useHttpPath=true", "credential", "approve")
	cmd.Env, cmd.Dir = g.Env, g.Dir
	cmd.Stdin = strings.NewReader("protocol=https\nhost=dev.azure.com\npath=contoso/r\nusername=u\npassword=p\n\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git credential approve: %v %s", err, out)
	}
	log, err := os.ReadFile(logf)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Split(strings.TrimSpace(string(log)), "\n")
	if diff := cmp.Diff(want, got); diff != "" || len(want) != 3 {
		t.Errorf("helpers git approve ran (-) and Helpers listed (+):\n%s", diff)
	}
}

func TestIsTokentrayHelper(t *testing.T) {
	for v, want := range map[string]bool{
		"!tokentray git-credential":                                  true,
		"!/usr/local/bin/tokentray git-credential":                   true,
		"!'/opt/my apps/tokentray' git-credential --min-valid 10m":   true,
		`!"C:\Program Files\tokentray\tokentray.exe" git-credential`: true,
		"/usr/bin/tokentray git-credential":                          true,
		"tokentray git-credential":                                   false, // git runs "git credential-tokentray ..."
		"store":                                                      false,
		"!tokentray token work":                                      false,
		"!tokentray-evil git-credential":                             false,
		"!sh -c 'tokentray git-credential'":                          false,
		"":                                                           false,
	} {
		if got := IsTokentrayHelper(v); got != want {
			t.Errorf("IsTokentrayHelper(%q) = %v; want %v", v, got, want)
		}
	}
}

// TestSetupGitHelper: the remote's section moves to the end of the global
// file with an empty helper, the given helper and useHttpPath, keeping its
// other keys; git's list for the remote is then that helper alone, also
// when run twice.
func TestSetupGitHelper(t *testing.T) {
	const tt = "!tokentray git-credential"
	g := gitOnly(t, "[credential \"https://dev.azure.com\"]\n\thelper = "+tt+"\n\tusername = me@contoso.test\n[credential]\n\thelper = store\n[credential \"https://github.com\"]\n\thelper = cache\n")
	for range 2 {
		if err := g.SetupGitHelper(t.Context(), "https://dev.azure.com", tt, true); err != nil {
			t.Fatal(err)
		}
	}
	hs, err := g.Helpers(t.Context(), "https", "dev.azure.com", "", "", false)
	if err != nil {
		t.Fatal(err)
	}
	if len(hs) != 1 || hs[0].Value != tt || len(ForeignGitHelpers(hs)) != 0 {
		t.Errorf("Helpers after SetupGitHelper = %v; want only %q", hs, tt)
	}
	var global string
	for _, e := range g.Env {
		if p, ok := strings.CutPrefix(e, "GIT_CONFIG_GLOBAL="); ok {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			global = string(b)
		}
	}
	want := "[credential]\n\thelper = store\n[credential \"https://github.com\"]\n\thelper = cache\n[credential \"https://dev.azure.com\"]\n\thelper = \n\thelper = " + tt + "\n\tuseHttpPath = true\n\tusername = me@contoso.test\n"
	if diff := cmp.Diff(want, global); diff != "" {
		t.Errorf("global git configuration after SetupGitHelper (-want +got):\n%s", diff)
	}
	if err := g.SetupGitHelper(t.Context(), "dev.azure.com", tt, false); err == nil || !strings.Contains(err.Error(), "is not scheme://host") {
		t.Errorf("SetupGitHelper without a scheme = %v; want an error naming the form", err)
	}
}
