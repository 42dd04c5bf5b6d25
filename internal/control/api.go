package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/tokentray/tokentray/internal/config"
	"github.com/tokentray/tokentray/internal/state"
	"github.com/tokentray/tokentray/internal/wire"
)

// Info is the keeper's answer to OpInfo: what a window shows besides the
// accounts.
type Info struct {
	Version        string          `json:"version"`
	PID            int             `json:"pid"`
	Demo           bool            `json:"demo"`
	TrayHost       bool            `json:"tray_host"`                 // an icon is shown: closing the window leaves it
	StorageProblem string          `json:"storage_problem,omitempty"` // the start-up keychain probe's answer
	ConfigPath     string          `json:"config_path,omitempty"`     // "" in the demo: settings are read-only
	Settings       config.Settings `json:"settings"`                  // what the keeper runs with
	FileSettings   config.Settings `json:"file_settings"`             // what the file says now
	FileError      string          `json:"file_error,omitempty"`      // why the file could not be read
}

// DeviceCode is the Data of EventDevice: what the user enters where.
type DeviceCode struct {
	UserCode        string `json:"user_code"`
	VerificationURI string `json:"verification_uri"`
	Message         string `json:"message,omitempty"`
}

// Show is the Data of EventShow: the window should come forward on Tab
// (signing Account in for TabSignIn), or close, when the keeper quits.
type Show struct {
	Tab     string `json:"tab,omitempty"`
	Account string `json:"account,omitempty"`
	Close   bool   `json:"close,omitempty"`
}

// Typed calls. Each returns the keeper's failure as a *ResponseError (its
// Code is the exit code to use).

var _ Service = (*Client)(nil)

// Info returns the keeper's Info.
func (c *Client) Info(ctx context.Context) (Info, error) {
	var info Info
	return info, c.decode(ctx, wire.Request{Op: wire.OpInfo}, &info)
}

// Status returns the keeper's snapshot of every account, or of account.
func (c *Client) Status(ctx context.Context, account string) (state.Snapshot, error) {
	var s state.Snapshot
	return s, c.decode(ctx, wire.Request{Op: wire.OpStatus, Account: account}, &s)
}

// TokenOptions are what a token request asks for besides the account.
type TokenOptions struct {
	MinValid time.Duration
	Scopes   []string // a per-resource scope set; empty: the account's own
	Claims   string   // a claims challenge, base64 as the resource sent it
}

// Token returns an access token of account for o.Scopes (the main token
// when empty) valid for at least o.MinValid, served from the keeper's
// memory and refreshed first when needed; with o.Claims, after a forced
// refresh that carries the claims.
func (c *Client) Token(ctx context.Context, account string, o TokenOptions) (wire.Token, error) {
	var t wire.Token
	req := wire.Request{Op: wire.OpToken, Account: account, MinValid: o.MinValid, Scopes: o.Scopes, Claims: o.Claims}
	if _, ok := ctx.Deadline(); !ok {
		req.Timeout = wire.MaxTimeout
	}
	return t, c.decode(ctx, req, &t)
}

// Refresh forces a refresh of account ("" or all: every account) and
// returns the results of those that did not fail, also when others did.
// Without a ctx deadline the keeper gets MaxTimeout.
func (c *Client) Refresh(ctx context.Context, account string, all bool) ([]state.Result, error) {
	req := wire.Request{Op: wire.OpRefresh, Account: account, All: all || account == ""}
	if req.All {
		req.Account = ""
	}
	if _, ok := ctx.Deadline(); !ok {
		req.Timeout = wire.MaxTimeout
	}
	data, err := c.call(ctx, req)
	var rs []state.Result
	if len(data) > 0 {
		if jerr := json.Unmarshal(data, &rs); jerr != nil {
			return nil, errors.Join(err, fmt.Errorf("control: refresh: malformed data: %s", jsonProblem(jerr)))
		}
	}
	return rs, err
}

// LoginOptions are the choices of an interactive sign-in through the keeper.
type LoginOptions struct {
	Device       bool
	NoBrowser    bool   // the keeper sends the URL as a print event instead of opening a browser
	ClientSecret string // confidential clients
	// OnDevice receives the device code to show; OnPrint lines to print.
	OnDevice func(DeviceCode)
	OnPrint  func(string)
}

// Login signs account in through the keeper and returns the result.
func (c *Client) Login(ctx context.Context, account string, o LoginOptions) (state.Result, error) {
	req := wire.Request{Op: wire.OpLogin, Account: account, Device: o.Device, NoBrowser: o.NoBrowser, Secret: o.ClientSecret}
	if _, ok := ctx.Deadline(); !ok {
		req.Timeout = wire.MaxLoginTimeout
	}
	resp, err := c.Stream(ctx, req, func(ev string, data json.RawMessage) error {
		switch ev {
		case wire.EventDevice:
			var dc DeviceCode
			if err := json.Unmarshal(data, &dc); err != nil {
				return fmt.Errorf("control: login: malformed device code: %s", jsonProblem(err))
			}
			if o.OnDevice != nil {
				o.OnDevice(dc)
			}
		case wire.EventPrint:
			var s string
			if err := json.Unmarshal(data, &s); err != nil {
				return fmt.Errorf("control: login: malformed print event: %s", jsonProblem(err))
			}
			if o.OnPrint != nil {
				o.OnPrint(s)
			}
		}
		return nil
	})
	var res state.Result
	if err != nil {
		return res, err
	}
	if err := resp.Err(); err != nil {
		return res, err
	}
	if len(resp.Data) > 0 {
		if err := json.Unmarshal(resp.Data, &res); err != nil {
			return res, fmt.Errorf("control: login: malformed data: %s", jsonProblem(err))
		}
	}
	return res, nil
}

// Logout signs account out.
func (c *Client) Logout(ctx context.Context, account string) error {
	_, err := c.call(ctx, wire.Request{Op: wire.OpLogout, Account: account, Timeout: wire.MaxTimeout})
	return err
}

// Import adopts refreshToken as account's refresh token.
func (c *Client) Import(ctx context.Context, account, refreshToken string) (state.Result, error) {
	var res state.Result
	return res, c.decode(ctx, wire.Request{Op: wire.OpImport, Account: account, Secret: refreshToken, Timeout: wire.MaxTimeout}, &res)
}

// AddAccount adds a to the settings file and the running engine;
// clientSecret ("" for public clients) goes to the vault.
func (c *Client) AddAccount(ctx context.Context, a config.Account, clientSecret string) error {
	b, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("control: encode account: %w", err)
	}
	_, err = c.call(ctx, wire.Request{Op: wire.OpAccountAdd, Account: a.Name, Body: b, Secret: clientSecret, Timeout: wire.MaxTimeout})
	return err
}

// RemoveAccount signs account out, forgets it and removes it from the file.
func (c *Client) RemoveAccount(ctx context.Context, account string) error {
	_, err := c.call(ctx, wire.Request{Op: wire.OpAccountRemove, Account: account, Timeout: wire.MaxTimeout})
	return err
}

// SaveSettings writes s to the keeper's settings file (applied on restart).
func (c *Client) SaveSettings(ctx context.Context, s config.Settings) error {
	b, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("control: encode settings: %w", err)
	}
	_, err = c.call(ctx, wire.Request{Op: wire.OpSettingsSave, Body: b})
	return err
}

// Restart asks the keeper to restart itself (into the demo with demo set).
func (c *Client) Restart(ctx context.Context, demo bool) error {
	_, err := c.call(ctx, wire.Request{Op: wire.OpRestart, Demo: demo})
	return err
}

// Subscribe streams the keeper's snapshots to onSnapshot (the current one
// first) and, for a window, show requests to onShow, until ctx ends (nil)
// or the connection does (an error: the keeper quit, restarted or died).
func (c *Client) Subscribe(ctx context.Context, window bool, onSnapshot func(state.Snapshot), onShow func(Show)) error {
	resp, err := c.Stream(ctx, wire.Request{Op: wire.OpSubscribe, Window: window}, func(ev string, data json.RawMessage) error {
		switch ev {
		case wire.EventSnapshot:
			var s state.Snapshot
			if err := json.Unmarshal(data, &s); err != nil {
				return fmt.Errorf("control: subscribe: malformed snapshot: %s", jsonProblem(err))
			}
			if onSnapshot != nil {
				onSnapshot(s)
			}
		case wire.EventShow:
			var sh Show
			if err := json.Unmarshal(data, &sh); err != nil {
				return fmt.Errorf("control: subscribe: malformed show: %s", jsonProblem(err))
			}
			if onShow != nil {
				onShow(sh)
			}
		}
		return nil
	})
	if ctx.Err() != nil {
		return nil
	}
	if err != nil {
		return err
	}
	if err := resp.Err(); err != nil {
		return err
	}
	return errors.New("control: the keeper ended the subscription")
}

// decode runs req and decodes a successful answer's Data into v.
func (c *Client) decode(ctx context.Context, req wire.Request, v any) error {
	data, err := c.call(ctx, req)
	if err != nil {
		return err
	}
	if len(data) == 0 {
		return nil
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("control: %s: malformed data: %s", req.Op, jsonProblem(err))
	}
	return nil
}
