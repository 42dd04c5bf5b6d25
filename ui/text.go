package ui

// The CLI's text views: what tokentray status, refresh and log print.

import (
	"cmp"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tokentray/tokentray/internal/accesslog"
	"github.com/tokentray/tokentray/internal/config"
	"github.com/tokentray/tokentray/internal/state"
	"github.com/tokentray/tokentray/internal/wire"
)

// WriteStatus writes the status table of s, its radar and cached scope
// lines and the counters (tokentray status); from says where s came from.
func WriteStatus(out io.Writer, s state.Snapshot, from string) error {
	fmt.Fprintf(out, "# from %s\n", from)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ACCOUNT\tSTATE\tLAST REFRESH\tNEW TOKEN\tNEXT\tEXPIRES\tLAST ERROR")
	for _, a := range s.Accounts {
		errMsg := ""
		if a.LastError != nil {
			errMsg = a.LastError.Message
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", a.Name, stateText(a), cliClock(a.LastSuccess), yesNo(a.Fresh, a.LastSuccess), cliClock(a.NextDue), cliClock(a.AccessExpiry), errMsg)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	writeClouds(out, s)
	writeRadar(out, s)
	writeScoped(out, s)
	for _, a := range s.Accounts {
		switch ep := a.AzureSDK; {
		case ep == nil:
		case ep.Listening:
			fmt.Fprintf(out, "azure sdk endpoint of %s: %s, listening\n", a.Name, ep.URL)
		default:
			fmt.Fprintf(out, "azure sdk endpoint of %s: %s, not listening: %s\n", a.Name, ep.URL, ep.Problem)
		}
	}
	fails := []string{}
	for k, v := range s.Counters.RefreshFailedTotal {
		fails = append(fails, fmt.Sprintf("%s=%d", k, v))
	}
	_, err := fmt.Fprintf(out, "refresh_success_total=%d refresh_failed_total{%s} refresh_skipped_total=%d\n",
		s.Counters.RefreshSuccessTotal, strings.Join(fails, ","), s.Counters.RefreshSkippedTotal)
	return err
}

// DescribeResult is one line of tokentray refresh.
func DescribeResult(r state.Result) string {
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

func cliClock(t time.Time) string {
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

// writeRadar prints one line per account whose next interactive sign-in
// date is known (the expiry radar): "work: sign-in needed by Mon 14 Dec
// 09:00 (in 8 days, sign-in frequency policy)".
func writeRadar(out io.Writer, s state.Snapshot) {
	now := s.At
	if now.IsZero() {
		now = time.Now()
	}
	for _, a := range s.Accounts {
		if a.Radar != nil {
			fmt.Fprintf(out, "%s: %s\n", a.Name, RadarText(a.Radar, now, time.Local))
		}
	}
}

// writeScoped lists the cached per-resource scope sets of every account
// (status, text form).
func writeScoped(w io.Writer, s state.Snapshot) {
	for _, a := range s.Accounts {
		for _, sc := range a.Scoped {
			fmt.Fprintf(w, "%s: cached token for %s until %s\n", a.Name, strings.Join(sc.Scopes, " "), cliClock(sc.Expiry))
		}
	}
}

// WriteAccessLog writes the tokens handed out as a table to out, and where
// they came from to note (tokentray log).
func WriteAccessLog(out, note io.Writer, es []accesslog.Entry, from string) error {
	if len(es) == 0 {
		_, err := fmt.Fprintf(out, "no token handed out yet (%s)\n", from)
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tACCOUNT\tSCOPE\tPROGRAM (PID)\tRUN BY (PID)\tVIA")
	for _, e := range es {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", e.At.Local().Format("2006-01-02 15:04:05"), e.Account, scopeText(e.Scopes),
			programText(e.Exe, e.PID), programText(runByText(e), e.ParentPID), e.Via)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(note, "(%s)\n", from)
	return err
}

// scopeText is the scopes asked for, or "default" (the account's own).
func scopeText(s []string) string {
	if len(s) == 0 {
		return "default"
	}
	return strings.Join(s, " ")
}

// programText is "exe (pid)", with "unknown" for what the OS did not tell.
func programText(exe string, pid int) string {
	if exe == "" {
		exe = "unknown"
	}
	if pid == 0 {
		return exe
	}
	return fmt.Sprintf("%s (%d)", exe, pid)
}

// writeClouds prints a line for each Microsoft account outside the public
// cloud: "gov: Microsoft US Government cloud (usgov, login.microsoftonline.us)".
func writeClouds(out io.Writer, s state.Snapshot) {
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

// runByText is the program that ran the requesting one: its executable,
// and what it runs when it is an interpreter ("/usr/bin/bash
// /home/kim/bin/nightly-report", "/usr/bin/dash -c").
func runByText(e accesslog.Entry) string {
	if e.ParentScript == "" || e.ParentExe == "" {
		return e.ParentExe
	}
	return e.ParentExe + " " + e.ParentScript
}

// AccountRow is one line of tokentray account list: the account as set and
// its state ("unknown" when the snapshot lacks it).
type AccountRow struct {
	config.Account
	State string `json:"state"`
}

// AccountRows pairs each configured account with its state in snap.
func AccountRows(accounts []config.Account, snap state.Snapshot) []AccountRow {
	var rows []AccountRow
	for _, a := range accounts {
		st := "unknown"
		if s, ok := snap.Account(a.Name); ok {
			st = string(s.State)
		}
		rows = append(rows, AccountRow{a, st})
	}
	return rows
}

// WriteAccounts writes rows as the table of tokentray account list.
func WriteAccounts(out io.Writer, rows []AccountRow) error {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tPROVIDER\tCLOUD\tTENANT/ISSUER\tCLIENT ID\tSTATE")
	for _, r := range rows {
		cloud := "-"
		if r.Provider == "microsoft" {
			cloud = cmp.Or(r.Cloud, wire.DefaultMicrosoftCloud)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s%s\t%s\t%s\n", r.Name, r.Provider, cloud, r.Tenant, r.Issuer, r.ClientID, r.State)
	}
	return tw.Flush()
}

// WriteGitCredentials lists the git.credentials mappings (tokentray config
// show).
func WriteGitCredentials(w io.Writer, s config.Settings) {
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
