package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tokentray/tokentray/internal/config"
	"github.com/tokentray/tokentray/internal/credential"
)

func newGitCredentialCmd(g *globals) *cobra.Command {
	var minValid time.Duration
	cmd := &cobra.Command{
		Use:   "git-credential get|store|erase",
		Short: "A git credential helper: the mapped account's access token as the HTTPS password",
		Long: `A git credential helper (https://git-scm.com/docs/gitcredentials). For a
remote whose host (and path) git.credentials in the settings maps to an
account, get prints username= and password=<the account's access token>;
for any other remote it prints nothing, so git asks its next helper.

  # config.yaml (tokentray config path)
  git:
    credentials:
    - host: dev.azure.com
      path: contoso/          # optional prefix; needs credential.useHttpPath
      account: work
      # scope: 499b84ac-1321-427f-aa17-267ca6975798/.default   # optional per-resource token

  git config --global --add credential.https://dev.azure.com.helper ""
  git config --global --add credential.https://dev.azure.com.helper "!tokentray git-credential"
  git config --global credential.https://dev.azure.com.useHttpPath true

The empty helper first keeps git from handing the token to a storage helper
(store, cache, a keychain) configured for all hosts.

store does nothing (tokentray owns its tokens). erase does not sign the
account out or delete anything: it only says on stderr that the server
refused the token. Other operations are ignored, as git's protocol asks.

` + adapterHelp + `

` + exitCodesHelp,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageErr("git-credential takes the operation git passes: get, store or erase")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkMinValid(minValid); err != nil {
				return err
			}
			op := args[0]
			switch op {
			case "get", "store", "erase":
			default:
				return nil // "If a helper receives any other operation, it should silently ignore the request."
			}
			req, err := credential.ParseGitRequest(cmd.InOrStdin())
			if err != nil {
				return usageErr("git-credential %s: %v", op, err)
			}
			if op == "store" {
				return nil
			}
			l, err := loadSettings(g, false)
			if err != nil {
				return err
			}
			m, ok, pathMissing := l.Settings.MatchGit(req.Protocol, req.Host, req.Path)
			if !ok {
				if pathMissing && op == "get" {
					fmt.Fprintf(cmd.ErrOrStderr(), "tokentray: git.credentials maps only some paths on %s, and git sent no path; run: git config --global credential.%s://%s.useHttpPath true\n", req.Host, req.Protocol, req.Host)
				}
				return nil // not ours: git asks its next helper
			}
			if op == "erase" {
				fmt.Fprintf(cmd.ErrOrStderr(), "tokentray: %s://%s refused the access token of account %q; tokentray keeps the account signed in (check its access, or run: tokentray refresh %s)\n", req.Protocol, req.Host, m.Account, m.Account)
				return nil
			}
			// git hands a password to every helper in its list on store:
			// with another helper configured for this remote, the token
			// would land in it (~/.git-credentials for store). quit=1 makes
			// git stop instead of asking that helper.
			if err := gitHelpersOnlyOurs(cmd.Context(), req, m.Account); err != nil {
				fmt.Fprintln(cmd.OutOrStdout(), "quit=1")
				return &exitError{code: exitFailure, err: err}
			}
			tok, err := adapterToken(cmd, g, m.Account, m.Scopes, minValid)
			if err != nil {
				return err
			}
			user := m.Username // the mapping's, else the URL's, else "tokentray"
			if user == "" {
				user = req.Username
			}
			if user == "" {
				user = m.EffectiveUsername()
			}
			return credential.WriteGitAnswer(cmd.OutOrStdout(), credential.GitAnswer{
				Username: user, Password: tok.AccessToken, PasswordExpiry: tok.Expiry,
			})
		},
	}
	cmd.Flags().DurationVar(&minValid, "min-valid", 5*time.Minute, "refresh first when the token expires within this time (0s–1h)")
	return cmd
}

// showGitCredentials lists the git.credentials mappings for `config show`.
func showGitCredentials(w io.Writer, s config.Settings) {
	if len(s.Git.Credentials) == 0 {
		return
	}
	fmt.Fprintln(w, "\ngit.credentials (tokentray git-credential):")
	for _, m := range s.Git.Credentials {
		scope := "the account's scopes"
		if len(m.Scopes) > 0 {
			scope = "scope " + strings.Join(m.Scopes, " ")
		}
		fmt.Fprintf(w, "  %s://%s/%s\taccount %s\t%s\n", m.EffectiveProtocol(), m.Host, strings.TrimPrefix(m.Path, "/"), m.Account, scope)
	}
}

// gitHelpersOnlyOurs checks, with the git that runs this helper (its
// environment and working directory), that tokentray's helper is the only
// one git consults for the remote of req; otherwise it names the others
// and what to do.
func gitHelpersOnlyOurs(ctx context.Context, req credential.GitRequest, account string) error {
	hs, err := credential.GitConfig{}.Helpers(ctx, req.Protocol, req.Host, req.Username, req.Path, req.Path != "")
	if err != nil {
		return fmt.Errorf("cannot tell which credential helpers git hands the access token of account %q to, so tokentray gives it none: %w", account, err)
	}
	return foreignHelpersError(req.Protocol+"://"+req.Host, account, credential.ForeignGitHelpers(hs))
}

// foreignHelpersError says which helpers besides tokentray's git would
// hand the token to; nil when there are none.
func foreignHelpersError(remote, account string, foreign []credential.GitHelper) error {
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
