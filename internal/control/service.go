package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/tokentray/tokentray/internal/accesslog"
	"github.com/tokentray/tokentray/internal/config"
	"github.com/tokentray/tokentray/internal/state"
	"github.com/tokentray/tokentray/internal/wire"
)

// Service is what the keeper does for its clients, as every client sees
// it: the CLI, the adapters and the window talk to this one interface.
// *Client implements it over the socket; the keeper's own implementation
// (internal/keeper) runs behind the server, or in-process when no keeper
// runs. A failure carries its exit code (Code).
type Service interface {
	// Info returns the keeper's facts (version, settings, storage).
	Info(ctx context.Context) (Info, error)
	// Status returns the snapshot of every account ("") or of one.
	Status(ctx context.Context, account string) (state.Snapshot, error)
	// Subscribe streams snapshots (the current one first) and, for a
	// window, show requests, until ctx ends (nil) or the service stops.
	Subscribe(ctx context.Context, window bool, onSnapshot func(state.Snapshot), onShow func(Show)) error
	// Token returns an access token of account ("": the only one).
	Token(ctx context.Context, account string, o TokenOptions) (wire.Token, error)
	// Refresh forces a refresh of account, or of every account with all
	// (or account ""), and returns the results of those that did not
	// fail, also when others did.
	Refresh(ctx context.Context, account string, all bool) ([]state.Result, error)
	// Login signs account in interactively.
	Login(ctx context.Context, account string, o LoginOptions) (state.Result, error)
	// Logout signs account out: revoke where possible, delete its secrets.
	Logout(ctx context.Context, account string) error
	// Import adopts refreshToken as account's refresh token.
	Import(ctx context.Context, account, refreshToken string) (state.Result, error)
	// AddAccount adds a to the settings file and the running engine;
	// clientSecret ("" for public clients) goes to the vault.
	AddAccount(ctx context.Context, a config.Account, clientSecret string) error
	// RemoveAccount signs account out, forgets it and removes it from the
	// settings file.
	RemoveAccount(ctx context.Context, account string) error
	// SaveSettings writes s to the settings file (applied on restart).
	SaveSettings(ctx context.Context, s config.Settings) error
	// AccessLog returns up to limit tokens handed out (0: all kept), newest
	// first, of account ("" for every account).
	AccessLog(ctx context.Context, account string, limit int) ([]accesslog.Entry, error)
	// AzureSDKEnv returns what a shell exports for the Azure SDKs to get
	// account's tokens from the keeper's managed-identity endpoint.
	AzureSDKEnv(ctx context.Context, account string) (AzureSDKEnv, error)
}

// Front is what only a running keeper's front end can do: its window,
// its life. A nil function is not offered (headless, in-process).
type Front struct {
	Show    func(Show) error // open the window or bring it forward
	Quit    func()           // stop the keeper
	Restart func(demo bool)  // re-execute the keeper (into the demo with demo)
}

// Coded is implemented by errors that carry an exit code.
type Coded interface {
	error
	ExitCode() int
}

// CodeOf returns the exit code err carries (CodeFailure when none).
func CodeOf(err error) int {
	if err == nil {
		return wire.CodeOK
	}
	var c Coded
	if errors.As(err, &c) {
		return c.ExitCode()
	}
	return wire.CodeFailure
}

// NewHandler answers every op of the protocol with svc (and front for the
// front end's ops): the server side of Service.
func NewHandler(svc Service, front Front) Handler { return handler{svc, front} }

type handler struct {
	svc   Service
	front Front
}

func failure(err error) wire.Response { return wire.Failure(CodeOf(err), err) }

func reply(v any, err error) wire.Response {
	if err != nil {
		return failure(err)
	}
	return wire.Result(v)
}

// Handle answers one request.
func (h handler) Handle(ctx context.Context, req wire.Request) wire.Response {
	ctx = withClient(ctx, req.Client)
	switch req.Op {
	case wire.OpShow:
		if h.front.Show == nil {
			return wire.Failure(wire.CodeUsage, errors.New("tokentray runs headless: it has no window (start it without --headless, or use tokentray status)"))
		}
		return reply(nil, h.front.Show(Show{Tab: req.Tab, Account: req.Account}))
	case wire.OpQuit:
		if h.front.Quit != nil {
			h.front.Quit()
		}
		return wire.Result(nil)
	case wire.OpRestart:
		if h.front.Restart == nil {
			return wire.Failure(wire.CodeUsage, errors.New("this keeper cannot restart itself; stop it and start it again"))
		}
		h.front.Restart(req.Demo)
		return wire.Result(nil)
	case wire.OpInfo:
		return reply(h.svc.Info(ctx))
	case wire.OpStatus:
		return reply(h.svc.Status(ctx, req.Account))
	case wire.OpToken:
		return reply(h.svc.Token(ctx, req.Account, TokenOptions{MinValid: req.MinValid, Scopes: req.Scopes, Claims: req.Claims}))
	case wire.OpRefresh:
		results, err := h.svc.Refresh(ctx, req.Account, req.All)
		resp := reply(results, err)
		if err != nil && results != nil {
			if b, jerr := json.Marshal(results); jerr == nil {
				resp.Data = b
			}
		}
		return resp
	case wire.OpLogout:
		return reply(nil, h.svc.Logout(ctx, req.Account))
	case wire.OpImport:
		if req.Secret == "" {
			return wire.Failure(wire.CodeUsage, errors.New("import: no refresh token in the request"))
		}
		return reply(h.svc.Import(ctx, req.Account, req.Secret))
	case wire.OpAccountAdd:
		var a config.Account
		if err := json.Unmarshal(req.Body, &a); err != nil {
			return wire.Failure(wire.CodeUsage, fmt.Errorf("account_add: the body is not an account: %w", err))
		}
		return reply(nil, h.svc.AddAccount(ctx, a, req.Secret))
	case wire.OpAccountRemove:
		return reply(nil, h.svc.RemoveAccount(ctx, req.Account))
	case wire.OpSettingsSave:
		var s config.Settings
		if err := json.Unmarshal(req.Body, &s); err != nil {
			return wire.Failure(wire.CodeUsage, fmt.Errorf("settings_save: the body is not settings: %w", err))
		}
		return reply(nil, h.svc.SaveSettings(ctx, s))
	case wire.OpAccessLog:
		return reply(h.svc.AccessLog(ctx, req.Account, req.Limit))
	case wire.OpAzureSDKEnv:
		return reply(h.svc.AzureSDKEnv(ctx, req.Account))
	}
	return wire.Failure(wire.CodeUsage, fmt.Errorf("unsupported op %q", req.Op))
}

// HandleStream answers the streaming ops.
func (h handler) HandleStream(ctx context.Context, req wire.Request, s *Stream) wire.Response {
	ctx = withClient(ctx, req.Client)
	switch req.Op {
	case wire.OpSubscribe:
		// A client that stops reading ends its subscription.
		ctx, cancel := context.WithCancelCause(ctx)
		defer cancel(nil)
		err := h.svc.Subscribe(ctx, req.Window, func(snap state.Snapshot) {
			if err := s.Send(wire.EventSnapshot, snap); err != nil {
				cancel(err)
			}
		}, func(sh Show) { s.Send(wire.EventShow, sh) })
		if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
			return wire.Failure(wire.CodeFailure, cause)
		}
		return reply(nil, err)
	case wire.OpLogin:
		res, err := h.svc.Login(ctx, req.Account, LoginOptions{Device: req.Device, NoBrowser: req.NoBrowser, ClientSecret: req.Secret,
			OnDevice: func(dc DeviceCode) { s.Send(wire.EventDevice, dc) },
			OnPrint:  func(line string) { s.Send(wire.EventPrint, strings.TrimRight(line, "\n")) },
		})
		return reply(res, err)
	}
	return wire.Failure(wire.CodeUsage, fmt.Errorf("unsupported op %q", req.Op))
}

type clientKey struct{}

// withClient returns ctx carrying the client's self-description
// (Request.Client: its tokentray version).
func withClient(ctx context.Context, client string) context.Context {
	return context.WithValue(ctx, clientKey{}, client)
}

// ClientFrom returns what the client of the request whose handler got ctx
// says it is ("" when unknown).
func ClientFrom(ctx context.Context) string {
	s, _ := ctx.Value(clientKey{}).(string)
	return s
}

// CodedError is an error with the exit code it means (CodeUsage,
// CodeNeedsSignIn, ...): the CLI exits with it and the server sends it.
type CodedError struct {
	Code int
	Err  error
}

func (e *CodedError) Error() string { return e.Err.Error() }
func (e *CodedError) Unwrap() error { return e.Err }

// ExitCode is the code the error means.
func (e *CodedError) ExitCode() int { return e.Code }

// Usagef is a refusal of a bad request or bad flags (CodeUsage), its
// message formatted as by fmt.Errorf.
func Usagef(format string, args ...any) error {
	return &CodedError{Code: wire.CodeUsage, Err: fmt.Errorf(format, args...)}
}
