package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/tokentray/tokentray/internal/control"
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

// claimInstance listens on the control socket, making this process the
// keeper. When one runs already it asks it to open its window (show: true)
// and returns errHandedOver.
func claimInstance(k *keeper, show bool) (*control.Server, error) {
	path, err := controlPath()
	if err != nil {
		return nil, err
	}
	srv, err := control.Listen(path, k)
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

// serveCore runs the engine and the control socket until ctx ends.
func serveCore(ctx context.Context, c *core, srv *control.Server, k *keeper) error {
	if k != nil {
		k.set(c)
	}
	if srv != nil {
		go func() {
			if err := srv.Serve(ctx); err != nil {
				c.log.Error("control socket stopped", "error", err)
			}
		}()
		defer srv.Close()
		if k != nil {
			defer startHooks(ctx, c, srv.Path())() // the keeper runs the hooks
		}
	}
	err := c.engine.Run(ctx) // returns after the refreshes it sent are saved
	if ctx.Err() != nil {
		err = nil // a stop, not a failure
	}
	// A keeper that stops saves what it holds only in memory, or says so.
	if ferr := flushBeforeExit(c); ferr != nil {
		c.log.Error("stopping with an unsaved refresh token", "error", ferr)
		err = errors.Join(err, ferr)
	}
	return err
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
		return nil, &exitError{code: exitUsage, err: err}
	}
	return nil, fmt.Errorf("a tokentray keeper holds the control socket but does not answer (%w); quit it or wait until it has started", err)
}

// keeperErr gives a keeper's refusal its exit code.
func keeperErr(err error) error {
	var re *control.ResponseError
	if errors.As(err, &re) {
		return &exitError{code: re.Code, err: err}
	}
	return err
}
