package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/tokentray/tokentray/internal/control"
	"github.com/tokentray/tokentray/internal/keeper"
	"github.com/tokentray/tokentray/internal/wire"
)

func newQuitCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "quit",
		Short: "Stop the running tokentray keeper (and its window)",
		Args:  maxArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			path, err := controlPath()
			if err != nil {
				return err
			}
			c, err := control.Dial(path)
			if errors.Is(err, control.ErrNotRunning) {
				fmt.Fprintln(cmd.ErrOrStderr(), "tokentray is not running")
				return nil
			}
			if err != nil && !errors.Is(err, wire.ErrVersionMismatch) {
				return err
			}
			if c == nil { // another version: quit is the way out, so ask anyway
				c = control.NewClient(path)
			}
			if err := c.Quit(cmd.Context()); err != nil {
				return err
			}
			fmt.Fprintln(cmd.ErrOrStderr(), "tokentray stopped")
			return nil
		},
	}
}

func newRestartCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "restart",
		Short: "Restart the running keeper, so saved settings apply (an open window reconnects)",
		Args:  maxArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			kc, err := keeperClient()
			if err != nil {
				return err
			}
			if kc == nil {
				return &control.CodedError{Code: exitFailure, Err: errors.New("tokentray is not running; start it with: tokentray")}
			}
			if err := kc.Restart(cmd.Context(), false); err != nil {
				return err
			}
			fmt.Fprintln(cmd.ErrOrStderr(), "tokentray is restarting")
			return nil
		},
	}
}

func newRunCmd(g *globals) *cobra.Command {
	var headless bool
	cmd := &cobra.Command{
		Use:   "run [--headless]",
		Short: "Run the keeper: with its tray icon, or with --headless without one (servers, WSL, SSH)",
		Args:  maxArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !headless {
				return runTray(cmd, g, trayOptions{})
			}
			return runHeadless(cmd, g)
		},
	}
	cmd.Flags().BoolVar(&headless, "headless", false, "no GUI: keep tokens fresh until SIGINT/SIGTERM")
	return cmd
}

// runHeadless runs the keeper without a tray icon until SIGINT or SIGTERM.
func runHeadless(cmd *cobra.Command, g *globals) error {
	return serveHeadless(cmd, func(ctx context.Context) (*keeper.Backend, error) {
		l, err := loadSettings(g, true)
		if err != nil {
			return nil, err
		}
		b, err := keeper.Open(ctx, l, keeper.Options{Keeper: true, Version: version, LogTo: cmd.ErrOrStderr(), Probe: true})
		if err != nil {
			return nil, err
		}
		b.Log().Info("tokentray running headless", "accounts", len(b.Settings().Accounts), "storage", b.StorageKind())
		return b, nil
	})
}

// serveHeadless claims the single instance, builds the service and serves
// it until SIGINT or SIGTERM (or a quit request on the control socket).
func serveHeadless(cmd *cobra.Command, build func(ctx context.Context) (*keeper.Backend, error)) error {
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ignoreSIGPIPE()
	path, err := controlPath()
	if err != nil {
		return err
	}
	sock, err := keeper.Claim(path, false)
	if errors.Is(err, keeper.ErrHandedOver) {
		fmt.Fprintln(cmd.ErrOrStderr(), "tokentray is already running")
		return nil
	}
	if err != nil {
		return err
	}
	b, err := build(ctx)
	if err != nil {
		sock.Close()
		return err
	}
	defer b.Close()
	return sock.Serve(ctx, b, control.Front{Quit: stop})
}
