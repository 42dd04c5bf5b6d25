package main

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tokentray/tokentray/internal/control"
	"github.com/tokentray/tokentray/internal/oauth"
	"github.com/tokentray/tokentray/internal/shell"
	"github.com/tokentray/tokentray/internal/state"
	"github.com/tokentray/tokentray/internal/wire"
)

// tokenFlags are the flags token and env share.
type tokenFlags struct {
	minValid time.Duration
	scopes   []string
	resource string
	claims   string
}

func (f *tokenFlags) register(cmd *cobra.Command, withClaims bool) {
	registerMinValid(cmd, &f.minValid)
	cmd.Flags().StringArrayVar(&f.scopes, "scope", nil, "a token for this scope instead of the account's own (repeatable; one scope each)")
	cmd.Flags().StringVar(&f.resource, "resource", "", "a token for every permission consented on this resource URI (asks for URI/.default)")
	if withClaims {
		cmd.Flags().StringVar(&f.claims, "claims", "", "a claims challenge (the base64 claims value of a 401's WWW-Authenticate): forces a refresh that carries it")
	}
}

// options validates the flags into a keeper request; bad values are usage
// errors naming the value and what is allowed.
func (f *tokenFlags) options() (control.TokenOptions, error) {
	if err := checkMinValid(f.minValid); err != nil {
		return control.TokenOptions{}, err
	}
	scopes := append([]string(nil), f.scopes...)
	if f.resource != "" {
		s, err := state.ResourceScope(f.resource)
		if err != nil {
			return control.TokenOptions{}, control.Usagef("--resource: %v", err)
		}
		scopes = append(scopes, s)
	}
	if _, err := state.NormalizeScopes(scopes); err != nil {
		return control.TokenOptions{}, control.Usagef("--scope: %v", err)
	}
	if f.claims != "" {
		if _, err := oauth.DecodeClaimsChallenge(f.claims); err != nil {
			return control.TokenOptions{}, control.Usagef("--claims: %v", err)
		}
	}
	return control.TokenOptions{MinValid: f.minValid, Scopes: scopes, Claims: f.claims}, nil
}

// fetch validates the flags and gets the token they ask for (fetchToken).
func (f *tokenFlags) fetch(cmd *cobra.Command, g *globals, args []string) (wire.Token, control.TokenOptions, error) {
	o, err := f.options()
	if err != nil {
		return wire.Token{}, o, err
	}
	tok, err := fetchToken(cmd, g, args, o)
	return tok, o, err
}

// fetchToken gets a token of the account named by args (or the only one)
// from the service: the running keeper's memory, or in-process under the
// cross-process lock when none runs.
func fetchToken(cmd *cobra.Command, g *globals, args []string, o control.TokenOptions) (wire.Token, error) {
	var tok wire.Token
	account := ""
	if len(args) == 1 {
		account = args[0]
	}
	err := withService(cmd, g, func(ctx context.Context, svc control.Service) error {
		var err error
		tok, err = svc.Token(ctx, account, o)
		return err
	})
	return tok, err
}

// tokenJSON is what token --json prints: the fields az account
// get-access-token has (expires_on in unix seconds) plus RFC 3339 expiry
// and the scopes.
func tokenJSON(tok wire.Token) map[string]any {
	return map[string]any{
		"access_token": tok.AccessToken,
		"token_type":   tok.Type,
		"expires_on":   tok.Expiry.Unix(),
		"expires_at":   tok.Expiry.UTC().Format(time.RFC3339),
		"expires_in":   int(time.Until(tok.Expiry).Seconds()),
		"scope":        strings.Join(tok.Scopes, " "),
		"username":     tok.Username,
	}
}

// envVarRE is a portable environment variable name.
var envVarRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,127}$`)

func newEnvCmd(g *globals) *cobra.Command {
	var f tokenFlags
	var varName, shellName string
	var azureSDK bool
	cmd := &cobra.Command{
		Use:   "env [NAME]",
		Short: "Print shell exports of a valid access token, for tools that read it from the environment",
		Long: `Print commands that set an environment variable to a valid access token of
the account (and VAR_EXPIRES_ON to its expiry, unix seconds), for tools that
read a token from the environment:

  eval "$(tokentray env work)"                                   # sh, bash, zsh
  eval "$(tokentray env work --resource https://vault.azure.net --var VAULT_TOKEN)"
  tokentray env work --shell fish | source                       # fish
  tokentray env work --shell powershell | Invoke-Expression      # PowerShell

The value is quoted for the shell, so any token is safe to eval. Like token,
it is served by the running keeper when there is one, else in-process.

With --azure-sdk it prints IDENTITY_ENDPOINT and IDENTITY_HEADER instead: the
running keeper's managed-identity endpoint of an account with azure_sdk,
where every Azure SDK's DefaultAzureCredential gets its tokens (see README,
"Azure SDKs"). They stay valid across keeper restarts.

` + exitCodesHelp,
		Args: maxArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !envVarRE.MatchString(varName) {
				return control.Usagef("--var %q: want a variable name of letters, digits and _, not starting with a digit (at most 128)", varName)
			}
			quote, err := shell.Assignment(shellName)
			if err != nil {
				return control.Usagef("--shell %q: want one of %s", shellName, strings.Join(shell.Names, ", "))
			}
			if azureSDK {
				return writeAzureEnv(cmd, g, args, quote)
			}
			tok, _, err := f.fetch(cmd, g, args)
			if err != nil {
				return err
			}
			return writeEnv(cmd.OutOrStdout(), quote, varName, tok)
		},
	}
	f.register(cmd, false)
	cmd.Flags().StringVar(&varName, "var", "TOKENTRAY_ACCESS_TOKEN", "the variable that gets the token")
	cmd.Flags().StringVar(&shellName, "shell", "sh", "the syntax to print: "+strings.Join(shell.Names, ", "))
	cmd.Flags().BoolVar(&azureSDK, "azure-sdk", false, "print IDENTITY_ENDPOINT and IDENTITY_HEADER of the keeper's managed-identity endpoint for the Azure SDKs (account setting azure_sdk)")
	cmd.MarkFlagsMutuallyExclusive("azure-sdk", "var")
	cmd.MarkFlagsMutuallyExclusive("azure-sdk", "scope")
	cmd.MarkFlagsMutuallyExclusive("azure-sdk", "resource")
	return cmd
}

func writeEnv(w io.Writer, set shell.Assign, name string, tok wire.Token) error {
	_, err := fmt.Fprintf(w, "%s\n%s\n", set(name, tok.AccessToken), set(name+"_EXPIRES_ON", fmt.Sprint(tok.Expiry.Unix())))
	return err
}

func newTokenCmd(g *globals) *cobra.Command {
	var f tokenFlags
	var jsonOut bool
	cmd := &cobra.Command{
		Use:   "token [NAME]",
		Short: "Print a valid access token (refreshing first when it would expire within --min-valid)",
		Long: `Print a valid access token of the account and nothing else, for scripts:

  curl -H "Authorization: Bearer $(tokentray token work)" https://graph.microsoft.com/v1.0/me

The token is refreshed first when it would expire within --min-valid. With a
keeper running (tokentray, or tokentray run --headless) it answers from its
memory and is the only process that refreshes; without one, across all your
processes only one refreshes and the others wait and print the same token.
When the provider's tokens live shorter than --min-valid, a fresh token is
printed and at most one refresh happens per half lifetime (stderr says so).

Tokens for other resources come from the same sign-in:

  tokentray token work --resource https://vault.azure.net     # scope https://vault.azure.net/.default
  tokentray token work --scope api://my-api/access_as_user --scope api://my-api/Read

A Microsoft refresh token redeems tokens for every resource the user
consented to; another provider is asked for the narrower scope (RFC 6749 §6)
and its refusal is shown. The keeper caches up to 16 scope sets per account
in memory (never on disk; status lists them). A refusal for the resource
(no consent, unknown resource, bad scope) exits 1 and leaves the account as
it is. A provider that narrows the sign-in itself to the requested scope
(RFC 6749 §6 forbids it) is noticed at once: the account then asks for a new
sign-in and per-resource tokens stay off for it until tokentray restarts.

After a 401 with a claims challenge (Continuous Access Evaluation):

  tokentray token work --claims "$CLAIMS"    # the base64 claims="..." value

refreshes at once with those claims and prints the new token.

--json prints {"access_token", "token_type", "expires_on" (unix seconds),
"expires_at" (RFC 3339), "expires_in", "scope", "username" (who the
account is signed in as: the user name a mail server expects)}.

` + exitCodesHelp,
		Args: maxArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			tok, o, err := f.fetch(cmd, g, args)
			if err != nil {
				return err
			}
			if tok.ShorterThanAsked {
				fmt.Fprintln(cmd.ErrOrStderr(), wire.ShorterThanAsked(tok.Lifetime, o.MinValid))
			}
			if jsonOut {
				return writeJSON(cmd, tokenJSON(tok))
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), tok.AccessToken)
			return err
		},
	}
	f.register(cmd, true)
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print JSON with access_token, token_type, expires_on, expires_at, expires_in, scope and username")
	return cmd
}
