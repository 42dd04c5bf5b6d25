package credential

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/tokentray/tokentray/internal/config"
	"github.com/tokentray/tokentray/internal/shell"
)

// GitRemote is one scheme://host git.credentials maps, with whether any of
// its mappings has a path (then git must send paths: useHttpPath).
type GitRemote struct {
	Protocol, Host string
	UseHTTPPath    bool
}

// URL is the remote as git's credential.<url> sections name it.
func (r GitRemote) URL() string { return r.Protocol + "://" + r.Host }

// GitRemotes lists the remotes of the git.credentials mappings, once each.
func GitRemotes(mappings []config.GitCredential) []GitRemote {
	var out []GitRemote
	at := map[string]int{}
	for _, m := range mappings {
		id := m.EffectiveProtocol() + "://" + strings.ToLower(m.Host)
		i, ok := at[id]
		if !ok {
			i = len(out)
			at[id] = i
			out = append(out, GitRemote{Protocol: m.EffectiveProtocol(), Host: m.Host})
		}
		out[i].UseHTTPPath = out[i].UseHTTPPath || strings.Trim(m.Path, "/") != ""
	}
	return out
}

// GitUsername is the username tokentray answers git with for mapping m:
// the mapping's, else the one in the remote's URL (req), else the default.
func GitUsername(m config.GitCredential, req GitRequest) string {
	if m.Username != "" {
		return m.Username
	}
	if req.Username != "" {
		return req.Username
	}
	return m.EffectiveUsername()
}

// OnlyOurs checks, with the git g runs (as a helper: the environment and
// working directory of the git that runs tokentray), that tokentray's
// helper is the only one git consults for the remote of req; otherwise it
// names the others and what to do.
func (g GitConfig) OnlyOurs(ctx context.Context, req GitRequest, account string) error {
	hs, err := g.Helpers(ctx, req.Protocol, req.Host, req.Username, req.Path, req.Path != "")
	if err != nil {
		return fmt.Errorf("cannot tell which credential helpers git hands the access token of account %q to, so tokentray gives it none: %w", account, err)
	}
	return foreignHelpersError(req.Protocol+"://"+req.Host, account, ForeignGitHelpers(hs))
}

// foreignHelpersError says which helpers besides tokentray's git would
// hand the token to; nil when there are none.
func foreignHelpersError(remote, account string, foreign []GitHelper) error {
	if len(foreign) == 0 {
		return nil
	}
	names := make([]string, len(foreign))
	for i, h := range foreign {
		names[i] = h.String()
	}
	return fmt.Errorf("git would also hand the access token of account %q for %s to %s, which may store it; tokentray gives git no token while another helper is configured for that remote: run tokentray git-credential setup (it resets the list for the remote at the end of ~/.gitconfig), or remove the helper",
		account, remote, strings.Join(names, ", "))
}

// RemoteCheck is whether git consults tokentray's helper, and only it, for
// a mapped remote: what doctor shows and git-credential setup verifies.
type RemoteCheck struct {
	OK     bool
	Detail string
	Fix    string // when not OK
}

// CheckRemote reads the helper list git has for r (no user, no path).
func (g GitConfig) CheckRemote(ctx context.Context, r GitRemote) RemoteCheck {
	hs, err := g.Helpers(ctx, r.Protocol, r.Host, "", "", false)
	if err != nil {
		return RemoteCheck{Detail: err.Error(), Fix: "install git, or fix the git configuration it names"}
	}
	c := RemoteCheck{Fix: "run: tokentray git-credential setup (or remove the other helper)"}
	foreign := ForeignGitHelpers(hs)
	if err := foreignHelpersError(r.URL(), "the mapped account", foreign); err != nil {
		c.Detail = err.Error()
		return c
	}
	if len(hs) == len(foreign) {
		c.Detail = "git asks no tokentray helper for " + r.URL() + " (git.credentials maps it)"
		return c
	}
	return RemoteCheck{OK: true, Detail: "git asks only tokentray for " + r.URL()}
}

// shellSafe are the characters a path may hold and stay unquoted in git's
// helper line.
const shellSafe = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+:"

// HelperCommand is the credential.helper value for this program:
// "!tokentray git-credential" when tokentray is on PATH, else its absolute
// path, quoted for the shell git runs it with.
func HelperCommand() (string, error) {
	if _, err := exec.LookPath("tokentray"); err == nil {
		return "!tokentray git-credential", nil
	}
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("find this program for git's helper line: %w", err)
	}
	if r, err := filepath.EvalSymlinks(exe); err == nil {
		exe = r
	}
	exe = filepath.ToSlash(exe)
	if strings.ContainsFunc(exe, func(r rune) bool { return !strings.ContainsRune(shellSafe, r) }) {
		exe = shell.Sh(exe)
	}
	return "!" + exe + " git-credential", nil
}
