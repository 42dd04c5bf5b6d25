package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/tokentray/tokentray/internal/control"
	"github.com/tokentray/tokentray/internal/engine"
)

// errHandedOver means another instance runs and has been told to show its
// window; this process exits 0.
var errHandedOver = errors.New("handed over to the running tokentray")

func controlPath() (string, error) {
	if p := os.Getenv("TOKENTRAY_CONTROL_SOCKET"); p != "" {
		return p, nil
	}
	return control.DefaultPath()
}

// hooks are what the control socket can ask of the front end.
type hooks struct {
	show func() error // bring the window forward; nil when headless
	quit func()       // stop the process
}

// claimInstance listens on the control socket, making this process the
// single instance. When one runs already it asks it to show its window and
// returns errHandedOver.
func claimInstance(h *lateHandler) (*control.Server, error) {
	path, err := controlPath()
	if err != nil {
		return nil, err
	}
	srv, err := control.Listen(path, h)
	if errors.Is(err, control.ErrRunning) {
		if c, derr := control.Dial(path); derr == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if serr := c.Show(ctx, "", ""); serr != nil {
				fmt.Fprintf(os.Stderr, "tokentray is already running; it could not show its window: %v\n", serr)
			}
		}
		return nil, errHandedOver
	}
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	return srv, nil
}

// lateHandler answers control requests once the core is built; before that
// it says the app is starting.
type lateHandler struct {
	core  chan *core // cap 1: set once
	hooks hooks
}

func newLateHandler(h hooks) *lateHandler { return &lateHandler{core: make(chan *core, 1), hooks: h} }

func (l *lateHandler) set(c *core) { l.core <- c }

func (l *lateHandler) Handle(ctx context.Context, req control.Request) control.Response {
	var c *core
	select {
	case c = <-l.core:
		l.core <- c
	default:
		if req.Op != control.OpShow && req.Op != control.OpQuit {
			return control.Failure(control.CodeFailure, errors.New("tokentray is starting; try again in a moment"))
		}
	}
	switch req.Op {
	case control.OpStatus:
		s := c.engine.Snapshot()
		if req.Account != "" {
			a, ok := s.Account(req.Account)
			if !ok {
				return control.Failure(control.CodeUsage, fmt.Errorf("no account named %q", req.Account))
			}
			s.Accounts = []engine.AccountStatus{a}
		}
		return control.Result(s)
	case control.OpRefresh:
		names := []string{req.Account}
		if req.All || req.Account == "" {
			names = names[:0]
			for _, a := range c.engine.Snapshot().Accounts {
				names = append(names, a.Name)
			}
		}
		var results []engine.Result
		var errs []error
		for _, n := range names {
			res, err := c.engine.RefreshNow(ctx, n)
			if err != nil {
				errs = append(errs, signInError(c, n, fmt.Errorf("%s: %w", n, err)))
				continue
			}
			results = append(results, res)
		}
		if err := firstCoded(errs); err != nil {
			resp := control.Failure(codeOf(err), err)
			if b, jerr := json.Marshal(results); jerr == nil {
				resp.Data = b
			}
			return resp
		}
		return control.Result(results)
	case control.OpShow:
		if l.hooks.show == nil {
			return control.Failure(control.CodeUsage, errors.New("tokentray runs headless: it has no window"))
		}
		if err := l.hooks.show(); err != nil {
			return control.Failure(control.CodeFailure, err)
		}
		return control.Result(nil)
	case control.OpQuit:
		if l.hooks.quit != nil {
			l.hooks.quit()
		}
		return control.Result(nil)
	}
	return control.Failure(control.CodeUsage, fmt.Errorf("unsupported op %q", req.Op))
}

// serveCore runs the engine and the control socket until ctx ends.
func serveCore(ctx context.Context, c *core, srv *control.Server, h *lateHandler) error {
	if h != nil {
		h.set(c)
	}
	if srv != nil {
		go func() {
			if err := srv.Serve(ctx); err != nil {
				c.log.Error("control socket stopped", "error", err)
			}
		}()
		defer srv.Close()
	}
	err := c.engine.Run(ctx)
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// dialRunning returns a client of the running instance, or nil.
func dialRunning() *control.Client {
	path, err := controlPath()
	if err != nil {
		return nil
	}
	c, err := control.Dial(path)
	if err != nil {
		return nil
	}
	return c
}

// refreshViaControl asks a running tokentray to refresh; done is false when
// none runs.
func refreshViaControl(cmd *cobra.Command, args []string, all, jsonOut bool) (done bool, err error) {
	c := dialRunning()
	if c == nil {
		return false, nil
	}
	account := ""
	if len(args) == 1 {
		account = args[0]
	}
	resp, err := c.Do(cmd.Context(), control.Request{Op: control.OpRefresh, Account: account, All: all || account == "", Timeout: control.MaxTimeout})
	if err != nil {
		return true, err
	}
	var results []engine.Result
	if len(resp.Data) > 0 {
		if err := json.Unmarshal(resp.Data, &results); err != nil {
			return true, fmt.Errorf("the running tokentray sent an answer this version cannot read: %w", err)
		}
	}
	if jsonOut {
		if err := writeJSON(cmd, results); err != nil {
			return true, err
		}
	} else {
		for _, r := range results {
			fmt.Fprintln(cmd.OutOrStdout(), describeResult(r))
		}
	}
	if !resp.OK {
		return true, &exitError{code: resp.Code, err: errors.New(resp.Error)}
	}
	return true, nil
}

// statusViaControl asks a running tokentray for its snapshot.
func statusViaControl(cmd *cobra.Command) (engine.Snapshot, bool) {
	c := dialRunning()
	if c == nil {
		return engine.Snapshot{}, false
	}
	raw, err := c.Status(cmd.Context(), "")
	if err != nil {
		return engine.Snapshot{}, false
	}
	var s engine.Snapshot
	if err := json.Unmarshal(raw, &s); err != nil {
		return engine.Snapshot{}, false
	}
	return s, true
}
