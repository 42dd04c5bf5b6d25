package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/tokentray/tokentray/internal/control"
	"github.com/tokentray/tokentray/ui"
)

func newStatusCmd(g *globals) *cobra.Command {
	var jsonOut bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show each account's state, last and next refresh, and the engine counters",
		Args:  maxArgs(0),
		Long:  statusLong,
		RunE: func(cmd *cobra.Command, args []string) error {
			return withService(cmd, g, func(ctx context.Context, svc control.Service) error {
				snap, err := svc.Status(ctx, "")
				if err != nil {
					return err
				}
				from := "on disk (tokentray is not running)"
				if runsInKeeper(svc) {
					from = "running tokentray"
				}
				if jsonOut {
					return writeJSON(cmd, snap)
				}
				return ui.WriteStatus(cmd.OutOrStdout(), snap, from)
			})
		},
	}
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print JSON")
	return cmd
}

func newRefreshCmd(g *globals) *cobra.Command {
	var all, jsonOut bool
	cmd := &cobra.Command{
		Use:   "refresh [NAME|--all]",
		Short: "Force a refresh now (through the running tokentray when there is one)",
		Args:  maxArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if all && len(args) > 0 {
				return control.Usagef("give an account NAME or --all, not both")
			}
			account := ""
			if len(args) == 1 {
				account = args[0]
			}
			return withService(cmd, g, func(ctx context.Context, svc control.Service) error {
				results, err := svc.Refresh(ctx, account, all)
				if jsonOut {
					if jerr := writeJSON(cmd, results); jerr != nil {
						return jerr
					}
				} else {
					for _, r := range results {
						fmt.Fprintln(cmd.OutOrStdout(), ui.DescribeResult(r))
					}
				}
				return err
			})
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "refresh every account")
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print JSON")
	return cmd
}

// statusLong is `status --help`: what the columns and the radar lines say.
const statusLong = `Show each account's state, last and next refresh, access-token expiry and
last error, and the engine counters.

A Microsoft account that signs in to a national cloud gets a line naming it
("gov: Microsoft US Government cloud (usgov, login.microsoftonline.us)");
--json has every Microsoft account's "cloud" (public, usgov or china).

The expiry radar: for each account whose provider tells, a line says by when
the next interactive sign-in is needed and why ("work: sign-in needed by
Mon 14 Dec 09:00 (in 8 days, sign-in frequency policy)"). Sources: the
refresh token's lifetime (Entra refresh_token_expires_in, for single-page
apps), the session lifetime (Keycloak refresh_expires_in), the
single-page-app 24 h limit (learned from AADSTS700084), and a Conditional
Access sign-in frequency limit (learned from AADSTS70043/70044, counted from
the id token's auth_time). --json has it as "radar": {sign_in_by, source,
since}. The keeper notifies radar.notify_days (default 3) before the date.`
