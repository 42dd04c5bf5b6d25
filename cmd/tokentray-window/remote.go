package main

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/tokentray/tokentray/internal/config"
	"github.com/tokentray/tokentray/internal/control"
	"github.com/tokentray/tokentray/internal/state"
	"github.com/tokentray/tokentray/internal/wire"
	"github.com/tokentray/tokentray/ui/window"
)

// remote is the running keeper as the window sees it: window.Keeper over
// the control socket. It dials anew for every call, so a restarted keeper
// is reached without any reconnect logic here.
type remote struct {
	socket string
	onShow func(control.Show) // show requests from the keeper ("Open tokentray" in the tray)

	mu     sync.Mutex
	client *control.Client
}

func (r *remote) dial() (*control.Client, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.client != nil {
		return r.client, nil
	}
	c, err := control.Dial(r.socket)
	if err != nil {
		return nil, err
	}
	r.client = c
	return c, nil
}

// forget drops the client after a transport error, so the next call does
// the handshake again (a restarted keeper may be another version).
func (r *remote) forget(err error) error {
	var re *wire.ResponseError
	if err != nil && !errors.As(err, &re) {
		r.mu.Lock()
		r.client = nil
		r.mu.Unlock()
	}
	return err
}

func (r *remote) do(fn func(c *control.Client) error) error {
	c, err := r.dial()
	if err != nil {
		return err
	}
	return r.forget(fn(c))
}

// Subscribe streams the keeper's snapshots; the channel closes when the
// connection ends. It holds the window's subscription, so show requests
// from the keeper arrive here too.
func (r *remote) Subscribe(ctx context.Context) <-chan state.Snapshot {
	ch := make(chan state.Snapshot, 1)
	go func() {
		defer close(ch)
		r.do(func(c *control.Client) error {
			return c.Subscribe(ctx, true, func(s state.Snapshot) {
				select { // keep only the newest
				case <-ch:
				default:
				}
				select {
				case ch <- s:
				case <-ctx.Done():
				}
			}, r.onShow)
		})
	}()
	return ch
}

func (r *remote) RefreshNow(ctx context.Context, account string) (state.Result, error) {
	var res state.Result
	err := r.do(func(c *control.Client) error {
		rs, err := c.Refresh(ctx, account, false)
		if len(rs) > 0 {
			res = rs[0]
		}
		return err
	})
	return res, err
}

func (r *remote) RefreshAll(ctx context.Context) error {
	return r.do(func(c *control.Client) error {
		_, err := c.Refresh(ctx, "", true)
		return err
	})
}

func (r *remote) SignIn(ctx context.Context, account string, device bool, show func(code, url string)) error {
	return r.do(func(c *control.Client) error {
		_, err := c.Login(ctx, account, control.LoginOptions{Device: device,
			OnDevice: func(dc control.DeviceCode) { show(dc.UserCode, dc.VerificationURI) }})
		return err
	})
}

func (r *remote) SignOut(ctx context.Context, account string) error {
	return r.do(func(c *control.Client) error { return c.Logout(ctx, account) })
}

func (r *remote) AddAccount(ctx context.Context, a config.Account) error {
	return r.do(func(c *control.Client) error { return c.AddAccount(ctx, a, "") })
}

func (r *remote) RemoveAccount(ctx context.Context, account string) error {
	return r.do(func(c *control.Client) error { return c.RemoveAccount(ctx, account) })
}

func (r *remote) SaveSettings(ctx context.Context, s config.Settings) error {
	return r.do(func(c *control.Client) error { return c.SaveSettings(ctx, s) })
}

func (r *remote) Restart(ctx context.Context) error {
	return r.do(func(c *control.Client) error { return c.Restart(ctx, false) })
}

func (r *remote) Quit(ctx context.Context) error {
	return r.do(func(c *control.Client) error { return c.Quit(ctx) })
}

func (r *remote) StartDemo(ctx context.Context) error {
	return r.do(func(c *control.Client) error { return c.Restart(ctx, true) })
}

// Info asks the keeper for its facts (after a reconnect: maybe another one).
func (r *remote) Info(ctx context.Context) (window.Info, error) {
	var in control.Info
	err := r.do(func(c *control.Client) error {
		var err error
		in, err = c.Info(ctx)
		return err
	})
	return windowInfo(in, err == nil), err
}

// windowInfo is what the window needs of the keeper's Info; reachable says
// whether the keeper answered (a banner about a missing tray host is only
// shown for a keeper that said so).
func windowInfo(in control.Info, reachable bool) window.Info {
	return window.Info{
		Version:        in.Version,
		Settings:       in.Settings,
		FileSettings:   in.FileSettings,
		ConfigPath:     in.ConfigPath,
		NoTrayHost:     reachable && !in.TrayHost,
		StorageProblem: in.StorageProblem,
		Demo:           in.Demo,
	}
}

// info asks the keeper for its facts, waiting up to wait for a keeper that
// is still starting.
func (r *remote) info(ctx context.Context, wait time.Duration) (control.Info, error) {
	deadline := time.Now().Add(wait)
	for {
		var in control.Info
		err := r.do(func(c *control.Client) error {
			var err error
			in, err = c.Info(ctx)
			return err
		})
		if err == nil || time.Now().After(deadline) || ctx.Err() != nil {
			return in, err
		}
		t := time.NewTimer(100 * time.Millisecond)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
	}
}
