package keeper

import (
	"context"
	"strings"

	"github.com/tokentray/tokentray/internal/control"
	"github.com/tokentray/tokentray/internal/engine"
	"github.com/tokentray/tokentray/internal/oauth"
	"github.com/tokentray/tokentray/internal/state"
	"github.com/tokentray/tokentray/internal/vault"
)

// Login signs account in interactively: a browser with PKCE, or the device
// code flow (o.OnDevice shows the code); with o.NoBrowser the URL goes to
// o.OnPrint. A client secret in o is stored first. The user asked: a
// keychain prompt may appear.
func (b *Backend) Login(ctx context.Context, account string, o control.LoginOptions) (state.Result, error) {
	ctx = vault.Interactive(ctx)
	name, err := b.pick(account)
	if err != nil {
		return state.Result{}, err
	}
	if o.ClientSecret != "" {
		if err := b.engine.SetClientSecret(ctx, name, o.ClientSecret); err != nil {
			return state.Result{}, coded(err)
		}
	}
	m := engine.SignInMethod{
		Device: o.Device,
		Show: func(dc oauth.DeviceCode) {
			if o.OnDevice != nil {
				o.OnDevice(control.DeviceCode{UserCode: dc.UserCode, VerificationURI: dc.VerificationURI, Message: dc.Message})
			}
		},
		Browser: oauth.BrowserOptions{NoBrowser: o.NoBrowser, Out: lineWriter(o.OnPrint), Open: b.o.OpenBrowser},
	}
	res, err := b.engine.SignIn(ctx, name, m)
	return res, coded(err)
}

// lineWriter hands what oauth prints (the sign-in URL with --no-browser)
// to onPrint, line by line.
type lineWriter func(string)

func (w lineWriter) Write(p []byte) (int, error) {
	if w != nil {
		for line := range strings.Lines(string(p)) {
			w(strings.TrimRight(line, "\n"))
		}
	}
	return len(p), nil
}

// Logout signs account out: revoke where the provider allows, then delete
// its secrets.
func (b *Backend) Logout(ctx context.Context, account string) error {
	ctx = vault.Interactive(ctx)
	name, err := b.pick(account)
	if err != nil {
		return err
	}
	return coded(b.engine.SignOut(ctx, name))
}

// Import adopts refreshToken as account's refresh token after one refresh
// proves the provider takes it.
func (b *Backend) Import(ctx context.Context, account, refreshToken string) (state.Result, error) {
	ctx = vault.Interactive(ctx)
	name, err := b.pick(account)
	if err != nil {
		return state.Result{}, err
	}
	if refreshToken == "" {
		return state.Result{}, control.Usagef("import: no refresh token given")
	}
	res, err := b.engine.Import(ctx, name, refreshToken)
	if err != nil {
		return res, importError(err)
	}
	return res, nil
}
