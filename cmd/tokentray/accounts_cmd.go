package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tokentray/tokentray/internal/config"
	"github.com/tokentray/tokentray/internal/control"
	"github.com/tokentray/tokentray/internal/keeper"
	"github.com/tokentray/tokentray/internal/state"
	"github.com/tokentray/tokentray/ui"
)

func newAccountCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "account",
		Short: "Add, list and remove accounts",
	}
	cmd.AddCommand(newAccountAddCmd(g), newAccountListCmd(g), newAccountRemoveCmd(g))
	return cmd
}

func newAccountAddCmd(g *globals) *cobra.Command {
	var a config.Account
	var headers []string
	var secretStdin bool
	cmd := &cobra.Command{
		Use:   "add NAME --provider microsoft|oidc --client-id ID [--tenant T [--cloud C] | --issuer URL] [--scope S]...",
		Short: "Add an account to the settings file (then sign in with: tokentray login NAME)",
		Example: `  tokentray account add work --provider microsoft --tenant organizations \
      --client-id 00000000-0000-0000-0000-000000000000 --scope https://graph.microsoft.com/.default
  tokentray account add gov --provider microsoft --cloud usgov --tenant contoso.onmicrosoft.us \
      --client-id 00000000-0000-0000-0000-000000000000 --scope https://graph.microsoft.us/.default
  tokentray account add idp --provider oidc --issuer https://id.example.com --client-id cli`,
		Args: nameArg("account add"),
		RunE: func(cmd *cobra.Command, args []string) error {
			a.Name = args[0]
			for _, h := range headers {
				k, v, ok := strings.Cut(h, ":")
				if !ok || strings.TrimSpace(k) == "" {
					return control.Usagef("--header %q: want Name: value, for example --header 'Origin: http://localhost'", h)
				}
				if a.Headers == nil {
					a.Headers = map[string]string{}
				}
				a.Headers[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
			}
			a, err := normalizeAccount(a)
			if err != nil {
				return err
			}
			var secret string
			if secretStdin {
				if secret, err = readSecretLine(cmd.InOrStdin(), "client secret"); err != nil {
					return err
				}
			}
			p, err := configPath(g)
			if err != nil {
				return err
			}
			if err := withService(cmd, g, func(ctx context.Context, svc control.Service) error {
				return svc.AddAccount(ctx, a, secret)
			}); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "added account %q to %s; sign in with: tokentray login %s\n", a.Name, p, a.Name)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&a.Provider, "provider", "", "microsoft or oidc (required)")
	f.StringVar(&a.Tenant, "tenant", "", "microsoft: common, organizations, consumers or a tenant GUID (default common)")
	f.StringVar(&a.Cloud, "cloud", "", "microsoft: the cloud to sign in to: public, usgov or china (default public)")
	f.StringVar(&a.Issuer, "issuer", "", "oidc: the issuer URL (https)")
	f.StringVar(&a.ClientID, "client-id", "", "the application (client) ID (required; microsoft: a GUID from the Microsoft Entra admin center → App registrations → your app → Overview)")
	f.StringArrayVar(&a.Scopes, "scope", nil, "extra scope, repeatable (offline_access openid profile are always included)")
	f.StringVar(&a.RedirectURI, "redirect-uri", "", "loopback redirect URI registered for the app (default http://127.0.0.1:<free port>/callback)")
	f.StringArrayVar(&headers, "header", nil, "extra request header 'Name: value' (for example Origin for single-page-app registrations)")
	f.StringArrayVar(&a.ClientCapabilities, "client-capability", nil, "microsoft: declare a client capability on every refresh, repeatable; cp1 opts in to Continuous Access Evaluation (claims challenges: tokentray token --claims)")
	f.BoolVar(&a.NarrowerScopes, "narrower-scopes", false, "oidc: allow per-resource tokens (token --scope) as refreshes with a narrower scope; only for a provider that keeps the sign-in's scope on such a refresh (RFC 6749 §6)")
	f.BoolVar(&a.AzureSDK, "azure-sdk", false, "microsoft: serve the account's tokens to the Azure SDKs on a local managed-identity endpoint while the keeper runs (then: eval \"$(tokentray env NAME --azure-sdk)\")")
	f.BoolVar(&secretStdin, "client-secret-stdin", false, "confidential client: read the client secret from standard input (kept in the keychain, never in the settings file)")
	return cmd
}

// flagNames rewrites account field names in a validation error into the
// flag a user types (client_id → --client-id).
func flagNames(err error) error {
	r := strings.NewReplacer("client_capabilities", "--client-capability", "narrower_scopes", "--narrower-scopes", "azure_sdk", "--azure-sdk", "client_id", "--client-id", "redirect_uri", "--redirect-uri", "provider", "--provider",
		"tenant", "--tenant", "issuer", "--issuer", "scopes", "--scope", "headers", "--header", "cloud =", "--cloud =")
	return fmt.Errorf("%s", r.Replace(err.Error()))
}

func newAccountListCmd(g *globals) *cobra.Command {
	var jsonOut bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List accounts with their state",
		Args:  maxArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			l, err := loadSettings(g, false)
			if err != nil {
				return err
			}
			var snap state.Snapshot
			if err := withService(cmd, g, func(ctx context.Context, svc control.Service) (err error) {
				snap, err = svc.Status(ctx, "")
				return err
			}); err != nil {
				return err
			}
			rows := ui.AccountRows(l.Settings.Accounts, snap)
			if jsonOut {
				return writeJSON(cmd, rows)
			}
			return ui.WriteAccounts(cmd.OutOrStdout(), rows)
		},
	}
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print JSON")
	return cmd
}

func newAccountRemoveCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "remove NAME",
		Short: "Remove an account: sign it out (deleting its secrets) and drop it from the settings",
		Args:  nameArg("account remove"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withService(cmd, g, func(ctx context.Context, svc control.Service) error {
				if err := svc.RemoveAccount(ctx, args[0]); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "removed account %q and deleted its secrets\n", args[0])
				return nil
			})
		},
	}
}

// normalizeAccount fills the defaults a user may leave out and validates a,
// naming the flag of a bad field.
func normalizeAccount(a config.Account) (config.Account, error) {
	a, err := keeper.NormalizeAccount(a)
	if err != nil {
		return a, &control.CodedError{Code: exitUsage, Err: flagNames(err)}
	}
	return a, nil
}

// nameArg requires exactly one account NAME argument.
func nameArg(what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != 1 {
			return control.Usagef("%s takes the account NAME", what)
		}
		return nil
	}
}
