package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const gitYAML = `accounts:
- {name: work, provider: microsoft, client_id: 11111111-2222-3333-4444-555555555555}
git:
  credentials:
  - host: dev.azure.com
    path: contoso/
    account: work
    scope: 499b84ac-1321-427f-aa17-267ca6975798/.default
  - host: Dev.Azure.com
    account: work
    username: me@contoso.com
  - host: 127.0.0.1:8080
    protocol: http
    account: work
`

func TestParseGitCredentials(t *testing.T) {
	s, err := Parse([]byte(gitYAML))
	if err != nil {
		t.Fatal(err)
	}
	want := []GitCredential{
		{Host: "dev.azure.com", Path: "contoso/", Account: "work", Scopes: []string{"499b84ac-1321-427f-aa17-267ca6975798/.default"}},
		{Host: "Dev.Azure.com", Account: "work", Username: "me@contoso.com"},
		{Host: "127.0.0.1:8080", Protocol: "http", Account: "work"},
	}
	if d := cmp.Diff(want, s.Git.Credentials); d != "" {
		t.Errorf("git.credentials mismatch (-want +got):\n%s", d)
	}
	// What parses survives Marshal and Parse unchanged.
	out, err := Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	s2, err := Parse(out)
	if err != nil {
		t.Fatalf("re-Parse: %v\n%s", err, out)
	}
	if d := cmp.Diff(s.Git, s2.Git); d != "" {
		t.Errorf("git section after Marshal/Parse (-before +after):\n%s", d)
	}
}

// TestSetKeepsGitCredentials: `config set` (and account add/remove, which
// share Update) rewrites the file; the git mappings stay in it.
func TestSetKeepsGitCredentials(t *testing.T) {
	p := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(p, []byte(gitYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Set(p, "refresh.interval_hours", "3"); err != nil {
		t.Fatal(err)
	}
	s, err := ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Git.Credentials) != 3 {
		t.Errorf("after config set the file holds %d git mappings; want 3", len(s.Git.Credentials))
	}
	if d := Diff(Settings{}, s); !strings.Contains(changeKeys(d), "git.credentials") {
		t.Errorf("Diff does not list git.credentials: %v", d)
	}
}

func changeKeys(cs []Change) string {
	var b strings.Builder
	for _, c := range cs {
		b.WriteString(c.Key + " ")
	}
	return b.String()
}

func TestParseGitCredentialsRefuses(t *testing.T) {
	tests := []struct{ yaml, key, reason string }{
		{"git: 3", "git", "must be a mapping"},
		{"git: {creds: []}", "git.creds", "unknown key; allowed: git.credentials"},
		{"git: {credentials: {host: x}}", "git.credentials", "must be a list"},
		{"git: {credentials: [x]}", "git.credentials[0]", "must be a mapping with host, account"},
		{"git: {credentials: [{account: work}]}", "git.credentials[0].host", "missing"},
		{"git: {credentials: [{host: 'https://dev.azure.com', account: work}]}", "git.credentials[0].host", "not a host name"},
		{"git: {credentials: [{host: dev.azure.com/org, account: work}]}", "git.credentials[0].host", "not a host name"},
		{"git: {credentials: [{host: dev.azure.com, protocol: http, account: work}]}", "git.credentials[0].protocol", "never sent over plain http"},
		{"git: {credentials: [{host: dev.azure.com, protocol: ssh, account: work}]}", "git.credentials[0].protocol", "unknown protocol"},
		{"git: {credentials: [{host: dev.azure.com, account: 'no spaces'}]}", "git.credentials[0].account", "invalid account name"},
		{"git: {credentials: [{host: dev.azure.com, account: work, scope: 'a \"b'}]}", "git.credentials[0].scope", "one word"},
		{"git: {credentials: [{host: dev.azure.com, account: work, password: x}]}", "git.credentials[0].password", "secrets never belong"},
		{"git: {credentials: [{host: dev.azure.com, account: work, acount: x}]}", "git.credentials[0].acount", "unknown field; allowed: host, protocol, path, account, scope, username"},
		{"git: {credentials: [{host: dev.azure.com, account: work, path: 'a b'}]}", "git.credentials[0].path", "not a path prefix"},
		{"git: {credentials: [{host: dev.azure.com, account: work, path: 'contoso/../evil'}]}", "git.credentials[0].path", "no . or .. or empty segments"},
		{"git: {credentials: [{host: dev.azure.com, account: work, path: 'contoso//x'}]}", "git.credentials[0].path", "no . or .. or empty segments"},
		{"git: {credentials: [{host: dev.azure.com, account: work, path: './contoso'}]}", "git.credentials[0].path", "no . or .. or empty segments"},
		{"git: {credentials: [{host: dev.azure.com, account: work, path: 'contoso\\x'}]}", "git.credentials[0].path", "no . or .. or empty segments"},
		{"git: {credentials: [{host: dev.azure.com, account: a}, {host: DEV.azure.com, account: b}]}", "git.credentials[1]", "same protocol, host and path"},
	}
	for _, tc := range tests {
		t.Run(tc.yaml, func(t *testing.T) {
			_, err := Parse([]byte(tc.yaml))
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Parse(%q) = %v; want a *ValidationError", tc.yaml, err)
			}
			for _, p := range ve.Problems {
				if p.Key == tc.key && strings.Contains(p.String(), tc.reason) {
					return
				}
			}
			t.Errorf("Parse(%q) problems %v; want one for %s saying %q", tc.yaml, ve.Problems, tc.key, tc.reason)
		})
	}
}

func TestMatchGit(t *testing.T) {
	s, err := Parse([]byte(gitYAML))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		protocol, host, path string
		wantOK, wantMissing  bool
		wantUser, wantPath   string
	}{
		{"https", "dev.azure.com", "contoso/proj/_git/r", true, false, "", "contoso/"},
		{"https", "DEV.AZURE.COM", "contoso", true, false, "", "contoso/"},
		{"https", "dev.azure.com", "contosoX/r", true, false, "me@contoso.com", ""},
		{"https", "dev.azure.com", "", true, false, "me@contoso.com", ""},
		{"http", "dev.azure.com", "contoso/r", false, false, "", ""},
		{"https", "github.com", "", false, false, "", ""},
		{"http", "127.0.0.1:8080", "repo.git", true, false, "", ""},
		{"http", "127.0.0.1:8081", "repo.git", false, false, "", ""},
	}
	for _, tc := range tests {
		m, ok, missing := s.MatchGit(tc.protocol, tc.host, tc.path)
		if ok != tc.wantOK || missing != tc.wantMissing || m.Username != tc.wantUser || m.Path != tc.wantPath {
			t.Errorf("MatchGit(%s, %s, %q) = (%+v, %v, %v); want ok=%v missing=%v username=%q path=%q",
				tc.protocol, tc.host, tc.path, m, ok, missing, tc.wantOK, tc.wantMissing, tc.wantUser, tc.wantPath)
		}
	}
	only, err := Parse([]byte("git: {credentials: [{host: dev.azure.com, path: contoso, account: work}]}"))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, missing := only.MatchGit("https", "dev.azure.com", ""); ok || !missing {
		t.Errorf("MatchGit without a path for a path-only mapping = ok %v, pathMissing %v; want false, true", ok, missing)
	}
}

// TestMatchGitDotSegments: a path git sends with a "." or ".." segment, an
// empty segment or a backslash (git decodes %2e%2e in the remote URL into
// "..", and a server or proxy that normalises reads contoso/../evil as evil)
// matches no mapping at all, not even the host-wide one: the helper stays
// silent and git asks its next helper. Before the fix the mapping for
// contoso/ matched every one of them.
func TestMatchGitDotSegments(t *testing.T) {
	s, err := Parse([]byte(gitYAML))
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{
		"contoso/../evil/_git/repo",
		"contoso/./../evil/_git/repo",
		"contoso//../evil/_git/repo",
		"contoso/proj/..",
		"contoso/.",
		"contoso//evil",
		"./contoso/repo",
		"../contoso/repo",
		`contoso/..\evil/_git/repo`,
		`contoso\..\evil`,
		"contoso/%2e%2e/evil/_git/repo", // decoded once more by a server
		"contoso/%2E./evil",
		"contoso/.%2e",
		"contoso/x%2f..%2f..%2fevil",
		"contoso/x%5c..%5cevil",
	} {
		if m, ok, missing := s.MatchGit("https", "dev.azure.com", path); ok || missing {
			t.Errorf("MatchGit(https, dev.azure.com, %q) = (%+v, %v, %v); want no mapping", path, m, ok, missing)
		}
	}
	// Names that only contain dots are ordinary segments.
	for _, path := range []string{"contoso/..proj/_git/r", "contoso/proj.../_git/r", "contoso/.well/_git/r", "contoso/proj/_git/r.git/"} {
		if m, ok, _ := s.MatchGit("https", "dev.azure.com", path); !ok || m.Path != "contoso/" {
			t.Errorf("MatchGit(https, dev.azure.com, %q) = (%+v, %v); want the contoso/ mapping", path, m, ok)
		}
	}
}

func FuzzParseGit(f *testing.F) {
	f.Add([]byte(gitYAML))
	f.Add([]byte("git: {credentials: [{host: '[::1]:9', protocol: http, account: a, scope: [x, y]}]}"))
	f.Add([]byte("git: {credentials: [{host: h, account: a, path: /p/}, {host: h, account: a, path: p}]}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(data)
		if err != nil {
			return
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("Parse accepted settings that Validate refuses: %v", err)
		}
		out, err := Marshal(s)
		if err != nil {
			t.Fatalf("Marshal: %v", err)
		}
		s2, err := Parse(out)
		if err != nil {
			t.Fatalf("re-Parse of marshalled settings: %v\n%s", err, out)
		}
		if d := cmp.Diff(s.Git, s2.Git); d != "" {
			t.Fatalf("git section changed in a Marshal/Parse round trip (-before +after):\n%s", d)
		}
	})
}
