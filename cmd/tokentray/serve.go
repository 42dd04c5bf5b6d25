package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/tokentray/tokentray/internal/control"
	"github.com/tokentray/tokentray/internal/keeper"
)

// errHandedOver means another keeper runs and has been asked to open its
// window; this process exits 0.
var errHandedOver = errors.New("handed over to the running tokentray")

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
	case errors.Is(err, control.ErrVersionMismatch):
		return nil, &control.CodedError{Code: exitUsage, Err: err}
	}
	return nil, fmt.Errorf("a tokentray keeper holds the control socket but does not answer (%w); quit it or wait until it has started", err)
}

// handlerSlot lets the keeper claim its socket before it builds the
// service (a second launch hands over without opening the keychain);
// serveKeeper fills it before the server serves.
type handlerSlot struct{ h control.Handler }

func (s *handlerSlot) Handle(ctx context.Context, req control.Request) control.Response {
	return s.h.Handle(ctx, req)
}

func (s *handlerSlot) HandleStream(ctx context.Context, req control.Request, st *control.Stream) control.Response {
	return s.h.(control.StreamHandler).HandleStream(ctx, req, st)
}

// claimInstance listens on the control socket, making this process the
// keeper. When one runs already it asks it to open its window (show: true)
// and returns errHandedOver.
func claimInstance(slot *handlerSlot, show bool) (*control.Server, error) {
	path, err := controlPath()
	if err != nil {
		return nil, err
	}
	srv, err := control.Listen(path, slot)
	if errors.Is(err, control.ErrRunning) {
		if !show {
			return nil, errHandedOver
		}
		c, derr := control.Dial(path)
		if derr != nil {
			return nil, fmt.Errorf("tokentray is already running, but it does not answer: %w", derr)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if serr := c.Show(ctx, control.TabAccounts, ""); serr != nil {
			fmt.Fprintf(os.Stderr, "tokentray is already running; it could not open its window: %v\n", serr)
		}
		return nil, errHandedOver
	}
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	return srv, nil
}

// serveKeeper serves b on srv (front: the front end's ops) and runs the
// engine and the user's hooks until ctx ends.
func serveKeeper(ctx context.Context, b *keeper.Backend, srv *control.Server, slot *handlerSlot, front control.Front) error {
	slot.h = control.NewHandler(b, front)
	go func() {
		if err := srv.Serve(ctx); err != nil {
			b.Log().Error("control socket stopped", "error", err)
		}
	}()
	defer srv.Close()
	defer b.StartHooks(ctx, srv.Path())() // the keeper runs the hooks
	defer b.StartAzureSDK(ctx)()          // and the Azure SDK endpoints
	return b.Run(ctx)
}
