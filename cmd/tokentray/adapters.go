package main

import (
	"context"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tokentray/tokentray/internal/control"
)

// adapterCommands are the commands other tools run to get a token
// (kubectl's exec plugin, git's credential helper). Like `token` they never
// raise a keychain prompt: a tool may run them in the background.
var adapterCommands = map[string]bool{"kubectl-credential": true, "git-credential": true}

// adapterToken is the one way the adapters get a token: an access token of
// account valid for at least minValid, from the running keeper when there
// is one (the only process that refreshes), else from the engine run
// in-process under the per-user lock — the path of `tokentray token`, so
// adapters never cause more than one refresh at a time per account.
//
// scopes asks for a token of other resources than the account's own; this
// build cannot do that yet, so a non-empty scopes is an error saying so.
func adapterToken(cmd *cobra.Command, g *globals, account string, scopes []string, minValid time.Duration) (control.Token, error) {
	if len(scopes) > 0 {
		return control.Token{}, usageErr("per-resource scopes (%s) need tokentray's per-resource token support (token --scope), which this build lacks; remove the scope to use the account's own scopes", strings.Join(scopes, " "))
	}
	if kc, err := keeperClient(); kc != nil || err != nil {
		if err != nil {
			return control.Token{}, err
		}
		tok, err := kc.Token(cmd.Context(), account, minValid)
		if err != nil {
			return control.Token{}, keeperErr(err)
		}
		return tok, nil
	}
	var tok control.Token
	err := withCore(cmd, g, coreOptions{}, func(ctx context.Context, c *core) error {
		name, err := pickAccount(c.settings, []string{account})
		if err != nil {
			return err
		}
		t, err := c.engine.Token(ctx, name, minValid)
		if err != nil {
			return signInError(name, err)
		}
		tok = control.Token{AccessToken: t.Token, Type: t.Type, Expiry: t.Expiry, Lifetime: t.Lifetime, ShorterThanAsked: t.ShorterThanAsked}
		return nil
	})
	return tok, err
}

// checkMinValid refuses a --min-valid outside 0s–1h, as `token` does.
func checkMinValid(d time.Duration) error {
	if d < 0 || d > time.Hour {
		return usageErr("--min-valid %s: want a duration from 0s to 1h", d)
	}
	return nil
}

// adapterHelp is the part of the adapters' help about where tokens go.
const adapterHelp = `The token goes to standard output only, for the tool that runs this
command; errors go to standard error and never hold a token.`
