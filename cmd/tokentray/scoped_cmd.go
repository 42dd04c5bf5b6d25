package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tokentray/tokentray/internal/control"
	"github.com/tokentray/tokentray/internal/engine"
	"github.com/tokentray/tokentray/internal/oauth"
	"github.com/tokentray/tokentray/internal/state"
)

// tokenFlags are the flags token and env share.
type tokenFlags struct {
	minValid time.Duration
	scopes   []string
	resource string
	claims   string
}

func (f *tokenFlags) register(cmd *cobra.Command, withClaims bool) {
	cmd.Flags().DurationVar(&f.minValid, "min-valid", 5*time.Minute, "refresh first when the token expires within this time (0s–1h)")
	cmd.Flags().StringArrayVar(&f.scopes, "scope", nil, "a token for this scope instead of the account's own (repeatable; one scope each)")
	cmd.Flags().StringVar(&f.resource, "resource", "", "a token for every permission consented on this resource URI (asks for URI/.default)")
	if withClaims {
		cmd.Flags().StringVar(&f.claims, "claims", "", "a claims challenge (the base64 claims value of a 401's WWW-Authenticate): forces a refresh that carries it")
	}
}

// options validates the flags into a keeper request; bad values are usage
// errors naming the value and what is allowed.
func (f *tokenFlags) options() (control.TokenOptions, error) {
	if f.minValid < 0 || f.minValid > time.Hour {
		return control.TokenOptions{}, usageErr("--min-valid %s: want a duration from 0s to 1h", f.minValid)
	}
	scopes := append([]string(nil), f.scopes...)
	if f.resource != "" {
		s, err := state.ResourceScope(f.resource)
		if err != nil {
			return control.TokenOptions{}, usageErr("--resource: %v", err)
		}
		scopes = append(scopes, s)
	}
	if _, err := state.NormalizeScopes(scopes); err != nil {
		return control.TokenOptions{}, usageErr("--scope: %v", err)
	}
	if f.claims != "" {
		if _, err := oauth.DecodeClaimsChallenge(f.claims); err != nil {
			return control.TokenOptions{}, usageErr("--claims: %v", err)
		}
	}
	return control.TokenOptions{MinValid: f.minValid, Scopes: scopes, Claims: f.claims}, nil
}

// tokenFor serves a token request with c's engine (the keeper's op token and
// the CLI without a keeper): a per-resource failure exits 1, an account
// that needs sign-in 3.
func tokenFor(ctx context.Context, c *core, name string, o control.TokenOptions) (control.Token, error) {
	var claims string
	if o.Claims != "" {
		var err error
		if claims, err = oauth.DecodeClaimsChallenge(o.Claims); err != nil {
			return control.Token{}, usageErr("claims: %v", err)
		}
	}
	t, err := c.engine.TokenFor(ctx, name, engine.TokenRequest{Scopes: o.Scopes, MinValid: o.MinValid, Claims: claims})
	if err != nil {
		if errors.Is(err, engine.ErrResource) {
			return control.Token{}, &exitError{code: exitFailure, err: err}
		}
		return control.Token{}, signInError(name, err)
	}
	return control.Token{AccessToken: t.Token, Type: t.Type, Expiry: t.Expiry, Lifetime: t.Lifetime,
		ShorterThanAsked: t.ShorterThanAsked, Scopes: t.Scopes}, nil
}

// fetchToken gets a token through the running keeper, or in-process under
// the cross-process lock when none runs.
func fetchToken(cmd *cobra.Command, g *globals, args []string, o control.TokenOptions) (control.Token, error) {
	var tok control.Token
	if kc, err := keeperClient(); kc != nil || err != nil {
		if err != nil {
			return tok, err
		}
		account := ""
		if len(args) == 1 {
			account = args[0]
		}
		tok, err = kc.TokenFor(cmd.Context(), account, o)
		return tok, keeperErr(err)
	}
	err := withCore(cmd, g, coreOptions{}, func(ctx context.Context, c *core) error {
		name, err := pickAccount(c.settings, args)
		if err != nil {
			return err
		}
		if tok, err = tokenFor(ctx, c, name, o); err == nil {
			recordInProcess(c, name, o.Scopes)
		}
		return err
	})
	return tok, err
}

// tokenJSON is what token --json prints: the fields az account
// get-access-token has (expires_on in unix seconds) plus RFC 3339 expiry
// and the scopes.
func tokenJSON(tok control.Token) map[string]any {
	return map[string]any{
		"access_token": tok.AccessToken,
		"token_type":   tok.Type,
		"expires_on":   tok.Expiry.Unix(),
		"expires_at":   tok.Expiry.UTC().Format(time.RFC3339),
		"expires_in":   int(time.Until(tok.Expiry).Seconds()),
		"scope":        strings.Join(tok.Scopes, " "),
	}
}

// envVarRE is a portable environment variable name.
var envVarRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,127}$`)

// Shells env can print for.
var envShells = []string{"sh", "fish", "powershell"}

func newEnvCmd(g *globals) *cobra.Command {
	var f tokenFlags
	var varName, shell string
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

` + exitCodesHelp,
		Args: maxArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !envVarRE.MatchString(varName) {
				return usageErr("--var %q: want a variable name of letters, digits and _, not starting with a digit (at most 128)", varName)
			}
			quote, err := shellQuoter(shell)
			if err != nil {
				return err
			}
			o, err := f.options()
			if err != nil {
				return err
			}
			tok, err := fetchToken(cmd, g, args, o)
			if err != nil {
				return err
			}
			return writeEnv(cmd.OutOrStdout(), quote, varName, tok)
		},
	}
	f.register(cmd, false)
	cmd.Flags().StringVar(&varName, "var", "TOKENTRAY_ACCESS_TOKEN", "the variable that gets the token")
	cmd.Flags().StringVar(&shell, "shell", "sh", "the syntax to print: "+strings.Join(envShells, ", "))
	return cmd
}

// assignment renders one environment assignment in a shell's syntax.
type assignment func(name, value string) string

func shellQuoter(shell string) (assignment, error) {
	switch shell {
	case "sh":
		return func(n, v string) string { return "export " + n + "=" + shQuote(v) }, nil
	case "fish":
		return func(n, v string) string { return "set -gx " + n + " " + fishQuote(v) }, nil
	case "powershell":
		return func(n, v string) string { return "$env:" + n + " = " + psQuote(v) }, nil
	}
	return nil, usageErr("--shell %q: want one of %s", shell, strings.Join(envShells, ", "))
}

func writeEnv(w io.Writer, set assignment, name string, tok control.Token) error {
	_, err := fmt.Fprintf(w, "%s\n%s\n", set(name, tok.AccessToken), set(name+"_EXPIRES_ON", fmt.Sprint(tok.Expiry.Unix())))
	return err
}

// shQuote quotes s for POSIX sh: inside single quotes nothing is special
// but the quote itself, written '\”.
func shQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// fishQuote quotes s for fish: inside single quotes only \ and ' are
// special, each escaped with a backslash.
func fishQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// psQuote quotes s for PowerShell: a verbatim single-quoted string where a
// quote is doubled; PowerShell also takes the typographic single quotes
// ‘ ’ ‚ ‛ as quotes, so they are doubled too.
func psQuote(s string) string {
	var b strings.Builder
	b.WriteByte('\'')
	for _, r := range s {
		switch r {
		case '\'', '\u2018', '\u2019', '\u201a', '\u201b':
			b.WriteRune(r)
		}
		b.WriteRune(r)
	}
	b.WriteByte('\'')
	return b.String()
}

// printScoped lists the cached per-resource scope sets of every account
// (status, text form).
func printScoped(w io.Writer, s state.Snapshot) {
	for _, a := range s.Accounts {
		for _, sc := range a.Scoped {
			fmt.Fprintf(w, "%s: cached token for %s until %s\n", a.Name, strings.Join(sc.Scopes, " "), clock(sc.Expiry))
		}
	}
}
