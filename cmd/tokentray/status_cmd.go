package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/tokentray/tokentray/internal/control"
	"github.com/tokentray/tokentray/internal/state"
	"github.com/tokentray/tokentray/internal/wire"
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
				return printStatus(cmd, snap, jsonOut, from)
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
						fmt.Fprintln(cmd.OutOrStdout(), describeResult(r))
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

func describeResult(r state.Result) string {
	what := "provider returned the same access token"
	if r.Fresh {
		what = "new access token from provider"
	}
	if r.Skipped {
		what = "already fresh (refreshed by another process)"
	}
	s := fmt.Sprintf("%s: refreshed — %s, valid until %s", r.Account, what, r.Expiry.Local().Format("15:04:05"))
	if !r.Saved {
		s += " (NOT saved: storage failed; kept in memory and retrying)"
	}
	return s
}

func printStatus(cmd *cobra.Command, s state.Snapshot, jsonOut bool, from string) error {
	if jsonOut {
		return writeJSON(cmd, s)
	}
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "# from %s\n", from)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ACCOUNT\tSTATE\tLAST REFRESH\tNEW TOKEN\tNEXT\tEXPIRES\tLAST ERROR")
	for _, a := range s.Accounts {
		errMsg := ""
		if a.LastError != nil {
			errMsg = a.LastError.Message
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", a.Name, stateText(a), clock(a.LastSuccess), yesNo(a.Fresh, a.LastSuccess), clock(a.NextDue), clock(a.AccessExpiry), errMsg)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	printClouds(out, s)
	printRadar(out, s)
	printScoped(out, s)
	fails := []string{}
	for k, v := range s.Counters.RefreshFailedTotal {
		fails = append(fails, fmt.Sprintf("%s=%d", k, v))
	}
	fmt.Fprintf(out, "refresh_success_total=%d refresh_failed_total{%s} refresh_skipped_total=%d\n",
		s.Counters.RefreshSuccessTotal, strings.Join(fails, ","), s.Counters.RefreshSkippedTotal)
	return nil
}

func stateText(a state.AccountStatus) string {
	s := string(a.State)
	if a.State == state.BackingOff && !a.BackoffUntil.IsZero() {
		s += " until " + a.BackoffUntil.Local().Format("15:04:05")
	}
	if a.Storage.Degraded {
		s += " (not saved)"
	}
	return s
}

func clock(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	l := t.Local()
	if time.Since(l) < 20*time.Hour && time.Until(l) < 20*time.Hour {
		return l.Format("15:04:05")
	}
	return l.Format("2006-01-02 15:04")
}

func yesNo(b bool, when time.Time) string {
	if when.IsZero() {
		return "-"
	}
	if b {
		return "yes"
	}
	return "no"
}

// printClouds prints one line per account that signs in to a Microsoft
// cloud other than the public one: "gov: Microsoft US Government cloud
// (usgov, login.microsoftonline.us)".
func printClouds(out io.Writer, s state.Snapshot) {
	for _, a := range s.Accounts {
		if a.Cloud == "" || a.Cloud == wire.DefaultMicrosoftCloud {
			continue
		}
		c, ok := wire.MicrosoftCloudNamed(a.Cloud)
		if !ok { // a newer keeper's cloud: name it as it is
			fmt.Fprintf(out, "%s: Microsoft cloud %s\n", a.Name, a.Cloud)
			continue
		}
		fmt.Fprintf(out, "%s: Microsoft %s cloud (%s, %s)\n", a.Name, c.Title, c.Name, c.LoginHost)
	}
}

// printRadar prints one line per account whose next interactive sign-in
// date is known (the expiry radar): "work: sign-in needed by Mon 14 Dec
// 09:00 (in 8 days, sign-in frequency policy)".
func printRadar(out io.Writer, s state.Snapshot) {
	now := s.At
	if now.IsZero() {
		now = time.Now()
	}
	for _, a := range s.Accounts {
		if a.Radar != nil {
			fmt.Fprintf(out, "%s: %s\n", a.Name, ui.RadarText(a.Radar, now, time.Local))
		}
	}
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
