package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tokentray/tokentray/internal/control"
	"github.com/tokentray/tokentray/internal/state"
	"github.com/tokentray/tokentray/internal/wire"
)

// adapterCommands are the commands other tools run to get a token
// (kubectl's exec plugin, git's credential helper). Like `token` they never
// raise a keychain prompt: a tool may run them in the background.
var adapterCommands = map[string]bool{"kubectl-credential": true, "git-credential": true}

// adapterToken is the one way the adapters get a token: an access token of
// account valid for at least minValid — for scopes when given (a token of
// another resource, as `token --scope`), else for the account's own — from
// the running keeper when there is one (the only process that refreshes),
// else from the engine run in-process under the per-user lock. It is the
// path of `tokentray token` (fetchToken), so adapters never cause more than
// one refresh at a time per account.
func adapterToken(cmd *cobra.Command, g *globals, account string, scopes []string, minValid time.Duration) (wire.Token, error) {
	if len(scopes) > 0 {
		if _, err := state.NormalizeScopes(scopes); err != nil {
			return wire.Token{}, control.Usagef("--scope: %v", err)
		}
	}
	return fetchToken(cmd, g, []string{account}, control.TokenOptions{MinValid: minValid, Scopes: scopes})
}

// checkMinValid refuses a --min-valid outside the wire's range (a usage
// error); token, env and the adapters share it.
func checkMinValid(d time.Duration) error {
	if err := wire.CheckMinValid(d); err != nil {
		return &control.CodedError{Code: exitUsage, Err: err}
	}
	return nil
}

// registerMinValid adds --min-valid with the wire's default and range.
func registerMinValid(cmd *cobra.Command, d *time.Duration) {
	cmd.Flags().DurationVar(d, "min-valid", wire.DefaultMinValid, fmt.Sprintf("refresh first when the token expires within this time (0s–%s)", strings.TrimSuffix(wire.MaxMinValid.String(), "0m0s")))
}

// adapterHelp is the part of the adapters' help about where tokens go.
const adapterHelp = `The token goes to standard output only, for the tool that runs this
command; errors go to standard error and never hold a token.`
