package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/tokentray/tokentray/internal/control"
	"github.com/tokentray/tokentray/internal/control/sockpath"
	"github.com/tokentray/tokentray/internal/keeper"
	"github.com/tokentray/tokentray/internal/wire"
)

func controlPath() (string, error) {
	if p := os.Getenv("TOKENTRAY_CONTROL_SOCKET"); p != "" {
		return p, nil
	}
	return control.DefaultPath()
}

// service returns the one service every command talks to, chosen once:
// the running keeper over its socket, or, when none runs, the service
// in-process (the engine under the per-user lock). done must be called
// with the command's result: in-process it saves what the engine holds
// only in memory before the process exits (a rotated refresh token that
// cannot be saved is a failure) and releases the vault.
func service(cmd *cobra.Command, g *globals) (svc control.Service, done func(error) error, err error) {
	kc, err := keeperClient()
	if err != nil {
		return nil, nil, err
	}
	if kc != nil {
		return kc, func(err error) error { return err }, nil
	}
	l, err := loadSettings(g, false)
	if err != nil {
		return nil, nil, err
	}
	b, err := keeper.Open(cmd.Context(), l, keeper.Options{Version: version})
	if err != nil {
		return nil, nil, err
	}
	return b, func(err error) error {
		defer b.Close()
		if ferr := b.Flush(); ferr != nil {
			return errors.Join(err, ferr)
		}
		return err
	}, nil
}

// withService runs fn with the service (see service).
func withService(cmd *cobra.Command, g *globals, fn func(ctx context.Context, svc control.Service) error) error {
	svc, done, err := service(cmd, g)
	if err != nil {
		return err
	}
	return done(fn(cmd.Context(), svc))
}

// runsInKeeper reports whether svc is a running keeper (not in-process).
func runsInKeeper(svc control.Service) bool {
	_, ok := svc.(*control.Client)
	return ok
}

// keeperClient returns a client of the running keeper; (nil, nil) when none
// runs, so the command works in-process. A keeper that answers with another
// protocol version, or not at all, is an error: working around it would make
// a second writer of the same tokens.
func keeperClient() (*control.Client, error) {
	path, err := controlPath()
	if err != nil {
		return nil, nil
	}
	c, err := control.Dial(path)
	switch {
	case err == nil:
		return c, nil
	case errors.Is(err, control.ErrNotRunning):
		return nil, nil
	case errors.Is(err, wire.ErrVersionMismatch):
		return nil, &control.CodedError{Code: exitUsage, Err: err}
	case errors.Is(err, sockpath.ErrForeign):
		// Another user's socket: nothing was sent to it, and working
		// in-process beside it would hide the problem.
		return nil, &control.CodedError{Code: exitFailure, Err: fmt.Errorf("refusing the control socket %s: %w", path, err)}
	}
	return nil, fmt.Errorf("a tokentray keeper holds the control socket but does not answer (%w); quit it or wait until it has started", err)
}
