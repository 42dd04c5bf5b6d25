package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/tokentray/tokentray/internal/accesslog"
	"github.com/tokentray/tokentray/internal/config"
	"github.com/tokentray/tokentray/internal/control"
	"github.com/tokentray/tokentray/internal/engine"
	"github.com/tokentray/tokentray/internal/oauth"
	"github.com/tokentray/tokentray/internal/state"
	"github.com/tokentray/tokentray/internal/vault"
)

// keeperHooks are what the control socket can ask of the keeper's front end.
type keeperHooks struct {
	show    func(control.Show) error // open the window or bring it forward; nil when headless
	quit    func()                   // stop the keeper
	restart func(demo bool)          // re-execute the keeper (into the demo when demo is set); nil: not offered
}

// keeper answers the control socket: every op a window or CLI can ask. It
// is the only writer of tokens, state and accounts while it runs.
type keeper struct {
	c        *core          // set before the server serves (set)
	access   *accesslog.Log // tokens handed out (access.go); set with c
	hooks    keeperHooks
	demo     bool
	trayHost bool

	mu      sync.Mutex
	windows map[*control.Stream]struct{} // subscribers that are windows
}

func newKeeper(h keeperHooks, demo, trayHost bool) *keeper {
	return &keeper{hooks: h, demo: demo, trayHost: trayHost, windows: map[*control.Stream]struct{}{}}
}

// set gives the keeper its core. serveCore calls it before the control
// server serves, so every request sees the core.
func (k *keeper) set(c *core) { k.c, k.access = c, openAccessLog(c) }

// Handle answers one request.
func (k *keeper) Handle(ctx context.Context, req control.Request) control.Response {
	switch req.Op {
	case control.OpShow:
		if k.hooks.show == nil {
			return control.Failure(control.CodeUsage, errors.New("tokentray runs headless: it has no window (start it without --headless, or use tokentray status)"))
		}
		if err := k.hooks.show(control.Show{Tab: req.Tab, Account: req.Account}); err != nil {
			return control.Failure(control.CodeFailure, err)
		}
		return control.Result(nil)
	case control.OpQuit:
		if k.hooks.quit != nil {
			k.hooks.quit()
		}
		return control.Result(nil)
	}
	c := k.c
	ctx = userAction(ctx, req.Op)
	switch req.Op {
	case control.OpAccountAdd, control.OpAccountRemove, control.OpSettingsSave:
		if k.demo {
			return control.Failure(control.CodeUsage, errors.New("the demo changes no settings or accounts; quit it and start tokentray to use your own"))
		}
	}
	switch req.Op {
	case control.OpInfo:
		return control.Result(k.info(c))
	case control.OpStatus:
		s := c.engine.Snapshot()
		if req.Account != "" {
			a, ok := s.Account(req.Account)
			if !ok {
				return failure(unknownAccount(s, req.Account))
			}
			s.Accounts = []state.AccountStatus{a}
		}
		return control.Result(s)
	case control.OpToken:
		name, err := pickLive(c.engine.Snapshot(), req.Account)
		if err != nil {
			return failure(err)
		}
		tok, err := tokenFor(ctx, c, name, control.TokenOptions{MinValid: req.MinValid, Scopes: req.Scopes, Claims: req.Claims})
		if err != nil {
			return failure(err)
		}
		k.recordToken(ctx, name, req)
		return control.Result(tok)
	case control.OpRefresh:
		var names []string
		if !req.All && req.Account != "" {
			names = []string{req.Account}
		}
		results, err := refreshMany(ctx, c, names, nil)
		if err != nil {
			resp := failure(err)
			if b, jerr := json.Marshal(results); jerr == nil {
				resp.Data = b
			}
			return resp
		}
		return control.Result(results)
	case control.OpLogout:
		name, err := pickLive(c.engine.Snapshot(), req.Account)
		if err != nil {
			return failure(err)
		}
		if err := c.engine.SignOut(ctx, name); err != nil {
			return failure(err)
		}
		return control.Result(nil)
	case control.OpImport:
		name, err := pickLive(c.engine.Snapshot(), req.Account)
		if err != nil {
			return failure(err)
		}
		if req.Secret == "" {
			return control.Failure(control.CodeUsage, errors.New("import: no refresh token in the request"))
		}
		res, err := c.engine.Import(ctx, name, req.Secret)
		if err != nil {
			return failure(importError(err))
		}
		return control.Result(res)
	case control.OpAccountAdd:
		var a config.Account
		if err := json.Unmarshal(req.Body, &a); err != nil {
			return control.Failure(control.CodeUsage, fmt.Errorf("account_add: the body is not an account: %w", err))
		}
		if err := addAccount(ctx, c, a, req.Secret); err != nil {
			return failure(err)
		}
		return control.Result(nil)
	case control.OpAccountRemove:
		if err := removeAccount(ctx, c, req.Account); err != nil {
			return failure(err)
		}
		return control.Result(nil)
	case control.OpSettingsSave:
		var s config.Settings
		if err := json.Unmarshal(req.Body, &s); err != nil {
			return control.Failure(control.CodeUsage, fmt.Errorf("settings_save: the body is not settings: %w", err))
		}
		if err := saveSettings(c, s); err != nil {
			return failure(err)
		}
		return control.Result(nil)
	case control.OpAccessLog:
		return k.accessLog(req)
	case control.OpRestart:
		if k.hooks.restart == nil {
			return control.Failure(control.CodeUsage, errors.New("this keeper cannot restart itself; stop it and start it again"))
		}
		k.hooks.restart(req.Demo)
		return control.Result(nil)
	}
	return control.Failure(control.CodeUsage, fmt.Errorf("unsupported op %q", req.Op))
}

// HandleStream answers the streaming ops.
func (k *keeper) HandleStream(ctx context.Context, req control.Request, s *control.Stream) control.Response {
	c := k.c
	ctx = userAction(ctx, req.Op)
	switch req.Op {
	case control.OpSubscribe:
		if req.Window {
			k.mu.Lock()
			k.windows[s] = struct{}{}
			k.mu.Unlock()
			c.log.Info("window connected")
			defer func() {
				k.mu.Lock()
				delete(k.windows, s)
				k.mu.Unlock()
				c.log.Info("window disconnected")
			}()
		}
		for snap := range c.engine.Subscribe(ctx) {
			if err := s.Send(control.EventSnapshot, snap); err != nil {
				return control.Failure(control.CodeFailure, err)
			}
		}
		return control.Result(nil)
	case control.OpLogin:
		name, err := pickLive(c.engine.Snapshot(), req.Account)
		if err != nil {
			return failure(err)
		}
		if req.Secret != "" {
			if err := c.engine.SetClientSecret(ctx, name, req.Secret); err != nil {
				return failure(err)
			}
		}
		m := engine.SignInMethod{
			Device: req.Device,
			Show: func(dc oauth.DeviceCode) {
				s.Send(control.EventDevice, control.DeviceCode{UserCode: dc.UserCode, VerificationURI: dc.VerificationURI, Message: dc.Message})
			},
			Browser: oauth.BrowserOptions{NoBrowser: req.NoBrowser, Out: printer{s}},
		}
		if k.demo {
			m.Browser.Open = demoBrowser
		}
		res, err := c.engine.SignIn(ctx, name, m)
		if err != nil {
			return failure(err)
		}
		return control.Result(res)
	}
	return control.Failure(control.CodeUsage, fmt.Errorf("unsupported op %q", req.Op))
}

// showInWindow sends a show request to the newest open window and reports
// whether there was one.
func (k *keeper) showInWindow(sh control.Show) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	for s := range k.windows {
		if s.Send(control.EventShow, sh) == nil {
			return true
		}
	}
	return false
}

// hasWindow reports whether a window is subscribed.
func (k *keeper) hasWindow() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.windows) > 0
}

// closeWindows asks every open window to close (the keeper quits).
func (k *keeper) closeWindows() {
	k.mu.Lock()
	defer k.mu.Unlock()
	for s := range k.windows {
		s.Send(control.EventShow, control.Show{Close: true})
	}
}

// info is what a window shows besides the accounts.
func (k *keeper) info(c *core) control.Info {
	in := control.Info{Version: version, PID: os.Getpid(), Demo: k.demo, TrayHost: k.trayHost, Settings: c.settings}
	if c.probe.Err != nil {
		in.StorageProblem = c.probe.Err.Error()
	}
	if !k.demo {
		in.ConfigPath = c.path
		fs, err := config.ReadFile(c.path)
		if err != nil {
			in.FileError = err.Error()
			fs = c.settings
		}
		in.FileSettings = fs
	} else {
		in.FileSettings = c.settings
	}
	return in
}

// printer streams what oauth prints (the sign-in URL with --no-browser)
// to the client, which prints it.
type printer struct{ s *control.Stream }

func (p printer) Write(b []byte) (int, error) {
	if err := p.s.Send(control.EventPrint, strings.TrimRight(string(b), "\n")); err != nil {
		return 0, err
	}
	return len(b), nil
}

var _ io.Writer = printer{}

// userAction marks the ops a user asks for (sign-in, refresh now, sign-out,
// import, account changes) as interactive: they may raise a keychain unlock
// prompt. Token requests (scripts) and everything the keeper does by itself
// never do.
func userAction(ctx context.Context, op string) context.Context {
	switch op {
	case control.OpLogin, control.OpRefresh, control.OpLogout, control.OpImport, control.OpAccountAdd, control.OpAccountRemove:
		return vault.Interactive(ctx)
	}
	return ctx
}

// failure is the control response for err, with its exit code.
func failure(err error) control.Response { return control.Failure(codeOf(err), err) }

// pickLive returns the account named name among the keeper's accounts, or
// its only account when name is "".
func pickLive(s state.Snapshot, name string) (string, error) {
	if name != "" {
		if _, ok := s.Account(name); !ok {
			return "", unknownAccount(s, name)
		}
		return name, nil
	}
	switch len(s.Accounts) {
	case 0:
		return "", usageErr("no account is configured; add one with: tokentray account add NAME --provider microsoft --client-id ID")
	case 1:
		return s.Accounts[0].Name, nil
	}
	return "", usageErr("several accounts are configured (%s); name one", snapshotNames(s))
}

func unknownAccount(s state.Snapshot, name string) error {
	return usageErr("no account named %q; configured accounts: %s", name, snapshotNames(s))
}

func snapshotNames(s state.Snapshot) string {
	var n []string
	for _, a := range s.Accounts {
		n = append(n, a.Name)
	}
	if len(n) == 0 {
		return "(none configured)"
	}
	return strings.Join(n, ", ")
}

// refreshMany forces a refresh of names (nil: every account) and returns
// the results of those that did not fail, and the failures joined with the
// most specific exit code. onResult, if set, sees each outcome in order.
func refreshMany(ctx context.Context, c *core, names []string, onResult func(name string, res state.Result, err error)) ([]state.Result, error) {
	if names == nil {
		for _, a := range c.engine.Snapshot().Accounts {
			names = append(names, a.Name)
		}
	}
	var results []state.Result
	var errs []error
	for _, n := range names {
		res, err := c.engine.RefreshNow(ctx, n)
		if onResult != nil {
			onResult(n, res, err)
		}
		if err != nil {
			errs = append(errs, signInError(n, fmt.Errorf("%s: %w", n, err)))
			continue
		}
		results = append(results, res)
	}
	return results, firstCoded(errs)
}

// importError words a refused import.
func importError(err error) error {
	var oe *oauth.Error
	if errors.As(err, &oe) && oe.Class == oauth.Permanent {
		return &exitError{code: exitNeedsSignIn, err: fmt.Errorf("the provider refused this refresh token: %s", oe.UserMessage())}
	}
	return err
}

// saveSettings writes s to the settings file, keeping the file's accounts
// (they change through account add/remove, never through a settings save).
func saveSettings(c *core, s config.Settings) error {
	return config.Update(c.path, func(onDisk *config.Settings) error {
		s.Accounts = onDisk.Accounts
		*onDisk = s
		return nil
	})
}
