package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/tokentray/tokentray/internal/config"
	"github.com/tokentray/tokentray/internal/control"
	"github.com/tokentray/tokentray/internal/credential"
)

func newGitCredentialCmd(g *globals) *cobra.Command {
	var minValid time.Duration
	cmd := &cobra.Command{
		Use:   "git-credential get|store|erase|setup",
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

The empty helper first drops the helpers git read before it (store, cache,
a keychain configured for all hosts), which would get a copy of the token.
A remote path with . or .. or empty segments matches no mapping.

Or let tokentray write these lines: git-credential setup does it for every
mapped host, in a section at the end of ~/.gitconfig.

git hands a password to every helper in its list after a successful
request, and an empty helper line drops only the helpers read before it: a
storage helper added later (git config --global credential.helper store
appends it to the end of the file) would still get the token. So before
answering get, tokentray reads git's helper list for the remote as git
does; when it names any other helper, it gives no token and makes git stop
(quit=1), naming the helper. tokentray doctor checks every mapped host.

store does nothing (tokentray owns its tokens). erase does not sign the
account out or delete anything: it only says on stderr that the server
refused the token. Other operations are ignored, as git's protocol asks.

` + adapterHelp + `

` + exitCodesHelp,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return control.Usagef("git-credential takes the operation git passes: get, store or erase (or setup)")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkMinValid(minValid); err != nil {
				return err
			}
			if args[0] == "setup" {
				return setupGitHelpers(cmd, g)
			}
			settings := func() (config.Settings, error) {
				l, err := loadSettings(g, false)
				if err != nil {
					return config.Settings{}, err
				}
				return l.Settings, nil
			}
			err := credential.ServeGit(cmd.Context(), args[0], cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr(), settings,
				func(ctx context.Context, account string, scopes []string) (string, time.Time, error) {
					tok, err := adapterToken(cmd, g, account, scopes, minValid)
					return tok.AccessToken, tok.Expiry, err
				})
			if re := (*credential.GitRequestError)(nil); errors.As(err, &re) {
				return &control.CodedError{Code: exitUsage, Err: err}
			}
			return err
		},
	}
	registerMinValid(cmd, &minValid)
	return cmd
}

// setupGitHelpers writes, for every mapped remote, the git configuration
// that makes tokentray its only credential helper, then checks it.
func setupGitHelpers(cmd *cobra.Command, g *globals) error {
	l, err := loadSettings(g, false)
	if err != nil {
		return err
	}
	remotes := credential.GitRemotes(l.Settings.Git.Credentials)
	if len(remotes) == 0 {
		return control.Usagef("git-credential setup: git.credentials maps no remote; add one to the settings first (see tokentray git-credential --help)")
	}
	helper, err := credential.HelperCommand()
	if err != nil {
		return err
	}
	gc := credential.GitConfig{}
	failed := 0
	for _, r := range remotes {
		if err := gc.SetupGitHelper(cmd.Context(), r.URL(), helper, r.UseHTTPPath); err != nil {
			return fmt.Errorf("git-credential setup for %s: %w", r.URL(), err)
		}
		c := gc.CheckRemote(cmd.Context(), r)
		if !c.OK {
			failed++
			fmt.Fprintf(cmd.ErrOrStderr(), "tokentray: %s\n", c.Detail)
			continue
		}
		fmt.Fprintf(cmd.OutOrStdout(), "%s: credential.%s.helper = %s (global git configuration)\n", c.Detail, r.URL(), helper)
	}
	if failed > 0 {
		return &control.CodedError{Code: exitFailure, Err: fmt.Errorf("git still hands the token to other helpers for %d of %d remotes; remove them from the configuration named above", failed, len(remotes))}
	}
	return nil
}
