package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/tokentray/tokentray/internal/accesslog"
	"github.com/tokentray/tokentray/internal/control"
	"github.com/tokentray/tokentray/internal/keeper"
	"github.com/tokentray/tokentray/internal/wire"
	"github.com/tokentray/tokentray/ui"
)

func newLogCmd(g *globals) *cobra.Command {
	var jsonOut bool
	var account string
	var n int
	cmd := &cobra.Command{
		Use:   "log",
		Short: "Show who was handed a token: time, account, scope and program",
		Long: `Show the tokens tokentray handed out, newest first: when, for which
account and scopes, and to which program (its pid and executable, as the
operating system reports them for the control socket's peer, and the
program that ran it; the token is never recorded). When that program is
an interpreter (bash, sh, python3, node, perl, ruby, pwsh), RUN BY names
the script it runs, or "-c" for an inline command.

With a keeper running the entries come from it; otherwise from the access
log file in the state directory (access.jsonl, rotated at 1 MiB with one
older file kept). A token that ` + "`tokentray token`" + ` got without a keeper is
recorded the same way: that tokentray process, run by the program that ran
the command.

  tokentray log
  tokentray log --account work -n 50
  tokentray log --json

` + exitCodesHelp,
		Args: maxArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if n < 1 || n > wire.MaxAccessLogLimit {
				return control.Usagef("-n %d: want a number of entries from 1 to %d", n, wire.MaxAccessLogLimit)
			}
			var es []accesslog.Entry
			from := "from running tokentray"
			if err := withService(cmd, g, func(ctx context.Context, svc control.Service) (err error) {
				if !runsInKeeper(svc) {
					dir, err := keeper.StateDir()
					if err != nil {
						return err
					}
					from = "from " + keeper.AccessLogPath(dir)
				}
				es, err = svc.AccessLog(ctx, account, n)
				return err
			}); err != nil {
				return err
			}
			if jsonOut {
				return writeJSON(cmd, es)
			}
			return ui.WriteAccessLog(cmd.OutOrStdout(), cmd.ErrOrStderr(), es, from)
		},
	}
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print the entries as a JSON array (at, account, scopes, pid, exe, parent_pid, parent_exe, parent_script, client, via)")
	cmd.Flags().StringVar(&account, "account", "", "only the tokens of this account")
	cmd.Flags().IntVarP(&n, "n", "n", 20, "at most this many entries (1–500)")
	return cmd
}
