package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/tokentray/tokentray/internal/config"
	"github.com/tokentray/tokentray/internal/engine"
	"github.com/tokentray/tokentray/internal/state"
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
		Use:   "add NAME --provider microsoft|oidc --client-id ID [--tenant T | --issuer URL] [--scope S]...",
		Short: "Add an account to the settings file (then sign in with: tokentray login NAME)",
		Example: `  tokentray account add work --provider microsoft --tenant organizations \
      --client-id 00000000-0000-0000-0000-000000000000 --scope https://graph.microsoft.com/.default
  tokentray account add idp --provider oidc --issuer https://id.example.com --client-id cli`,
		Args: nameArg("account add"),
		RunE: func(cmd *cobra.Command, args []string) error {
			a.Name = args[0]
			for _, h := range headers {
				k, v, ok := strings.Cut(h, ":")
				if !ok || strings.TrimSpace(k) == "" {
					return usageErr("--header %q: want Name: value, for example --header 'Origin: http://localhost'", h)
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
			if kc, err := keeperClient(); kc != nil || err != nil {
				if err != nil {
					return err
				}
				if err := kc.AddAccount(cmd.Context(), a, secret); err != nil {
					return keeperErr(err)
				}
			} else if err := withCore(cmd, g, coreOptions{}, func(ctx context.Context, c *core) error {
				c.path = p
				return addAccount(ctx, c, a, secret)
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
	f.StringVar(&a.Issuer, "issuer", "", "oidc: the issuer URL (https)")
	f.StringVar(&a.ClientID, "client-id", "", "the application (client) ID (required)")
	f.StringArrayVar(&a.Scopes, "scope", nil, "extra scope, repeatable (offline_access openid profile are always included)")
	f.StringVar(&a.RedirectURI, "redirect-uri", "", "loopback redirect URI registered for the app (default http://127.0.0.1:<free port>/callback)")
	f.StringArrayVar(&headers, "header", nil, "extra request header 'Name: value' (for example Origin for single-page-app registrations)")
	f.StringArrayVar(&a.ClientCapabilities, "client-capability", nil, "microsoft: declare a client capability on every refresh, repeatable; cp1 opts in to Continuous Access Evaluation (claims challenges: tokentray token --claims)")
	f.BoolVar(&a.NarrowerScopes, "narrower-scopes", false, "oidc: allow per-resource tokens (token --scope) as refreshes with a narrower scope; only for a provider that keeps the sign-in's scope on such a refresh (RFC 6749 §6)")
	f.BoolVar(&secretStdin, "client-secret-stdin", false, "confidential client: read the client secret from standard input (kept in the keychain, never in the settings file)")
	return cmd
}

// flagNames rewrites account field names in a validation error into the
// flag a user types (client_id → --client-id).
func flagNames(err error) error {
	r := strings.NewReplacer("client_capabilities", "--client-capability", "narrower_scopes", "--narrower-scopes", "client_id", "--client-id", "redirect_uri", "--redirect-uri", "provider", "--provider",
		"tenant", "--tenant", "issuer", "--issuer", "scopes", "--scope", "headers", "--header")
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
			if kc, err := keeperClient(); kc != nil || err != nil {
				if err != nil {
					return err
				}
				if snap, err = kc.Snapshot(cmd.Context()); err != nil {
					return keeperErr(err)
				}
			} else if err := withCore(cmd, g, coreOptions{}, func(ctx context.Context, c *core) error {
				c.engine.Load(ctx)
				snap = c.engine.Snapshot()
				return nil
			}); err != nil {
				return err
			}
			type row struct {
				config.Account
				State string `json:"state"`
			}
			var rows []row
			for _, a := range l.Settings.Accounts {
				st := "unknown"
				if s, ok := snap.Account(a.Name); ok {
					st = string(s.State)
				}
				rows = append(rows, row{a, st})
			}
			if jsonOut {
				return writeJSON(cmd, rows)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tPROVIDER\tTENANT/ISSUER\tCLIENT ID\tSTATE")
			for _, r := range rows {
				fmt.Fprintf(tw, "%s\t%s\t%s%s\t%s\t%s\n", r.Name, r.Provider, r.Tenant, r.Issuer, r.ClientID, r.State)
			}
			return tw.Flush()
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
			if kc, err := keeperClient(); kc != nil || err != nil {
				if err != nil {
					return err
				}
				if err := kc.RemoveAccount(cmd.Context(), args[0]); err != nil {
					return keeperErr(err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "removed account %q and deleted its secrets\n", args[0])
				return nil
			}
			return withCore(cmd, g, coreOptions{}, func(ctx context.Context, c *core) error {
				name, err := pickAccount(c.settings, args)
				if err != nil {
					return err
				}
				if err := removeAccount(ctx, c, name); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "removed account %q and deleted its secrets\n", name)
				return nil
			})
		},
	}
}

// normalizeAccount fills the defaults a user may leave out and validates a,
// naming the flag of a bad field.
func normalizeAccount(a config.Account) (config.Account, error) {
	if a.Provider == "microsoft" && a.Tenant == "" {
		a.Tenant = "common"
	}
	if err := a.Validate(); err != nil {
		return a, &exitError{code: exitUsage, err: fmt.Errorf("account %q: %w", a.Name, flagNames(err))}
	}
	return a, nil
}

// addAccount adds a to the settings file (under its lock, so concurrent
// adders never drop each other's account) and to the running engine at once;
// a client secret goes to the vault through the engine.
func addAccount(ctx context.Context, c *core, a config.Account, secret string) error {
	a, err := normalizeAccount(a)
	if err != nil {
		return err
	}
	p, err := profileFor(a)
	if err != nil {
		return usageErr("account %q: %v", a.Name, err)
	}
	if err := config.AddAccount(c.path, a); err != nil {
		if errors.Is(err, config.ErrAccountExists) {
			return usageErr("an account named %q exists already; remove it first or choose another name", a.Name)
		}
		return err
	}
	if err := c.engine.AddAccount(ctx, engine.Account{Name: a.Name, Profile: p}); err != nil && !errors.Is(err, engine.ErrAccountExists) {
		return fmt.Errorf("account %q was added to %s, but the running engine could not take it on: %w", a.Name, c.path, err)
	}
	if secret != "" {
		if err := c.engine.SetClientSecret(ctx, a.Name, secret); err != nil {
			return fmt.Errorf("account %q was added, but its client secret was not stored: %w (retry with tokentray login %s --client-secret-stdin)", a.Name, err, a.Name)
		}
	}
	return nil
}

// nameArg requires exactly one account NAME argument.
func nameArg(what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != 1 {
			return usageErr("%s takes the account NAME", what)
		}
		return nil
	}
}

// removeAccount signs name out (revoking where possible, deleting every
// secret), drops it from the settings file and from the running engine. If
// the sign-out fails the account is kept, so the user can retry.
func removeAccount(ctx context.Context, c *core, name string) error {
	if err := c.engine.SignOut(ctx, name); err != nil {
		if errors.Is(err, engine.ErrUnknownAccount) {
			return usageErr("no account named %q; configured accounts: %s", name, snapshotNames(c.engine.Snapshot()))
		}
		return fmt.Errorf("remove account %q: %w (it is kept so you can retry)", name, err)
	}
	if err := config.RemoveAccount(c.path, name); err != nil && !errors.Is(err, config.ErrNoAccount) {
		return err
	}
	if err := c.engine.RemoveAccount(ctx, name); err != nil && !errors.Is(err, engine.ErrUnknownAccount) {
		return err
	}
	return nil
}
