//go:build ignore

// Command preview shows the tokentray window with made-up accounts, for
// screenshots and eyeballing layout changes without an OAuth provider:
//
//	go run ./ui/window/preview/main.go
package main

import (
	"context"
	"errors"
	"time"

	"fyne.io/fyne/v2/app"

	"github.com/tokentray/tokentray/internal/config"
	"github.com/tokentray/tokentray/internal/state"
	"github.com/tokentray/tokentray/ui/window"
)

// still is a keeper that never changes and refuses every action.
type still struct{ s state.Snapshot }

var errPreview = errors.New("preview: no keeper")

func (k still) Subscribe(ctx context.Context) <-chan state.Snapshot {
	ch := make(chan state.Snapshot, 1)
	ch <- k.s
	context.AfterFunc(ctx, func() { close(ch) })
	return ch
}
func (k still) RefreshNow(context.Context, string) (state.Result, error) {
	return state.Result{}, &state.Refused{Reason: state.RefusedBudget, Until: time.Now().Add(5 * time.Minute)}
}
func (k still) RefreshAll(context.Context) error { return errPreview }
func (k still) SignIn(ctx context.Context, _ string, _ bool, show func(code, url string)) error {
	show("ABCD-EFGH", "https://microsoft.com/devicelogin")
	<-ctx.Done()
	return ctx.Err()
}
func (k still) SignOut(context.Context, string) error               { return errPreview }
func (k still) AddAccount(context.Context, config.Account) error    { return errPreview }
func (k still) RemoveAccount(context.Context, string) error         { return errPreview }
func (k still) SaveSettings(context.Context, config.Settings) error { return errPreview }
func (k still) Restart(context.Context) error                       { return errPreview }
func (k still) Quit(context.Context) error                          { return errPreview }
func (k still) StartDemo(context.Context) error                     { return errPreview }

func main() {
	now := time.Now()
	var hist []state.Event
	for i := 23; i >= 1; i-- {
		at := now.Add(-time.Duration(i) * time.Hour)
		kind := state.EventOK
		if i == 7 {
			kind = state.EventFailed
		}
		hist = append(hist, state.Event{At: at, Kind: kind, Fresh: i%5 != 0, Expiry: at.Add(65 * time.Minute)})
	}
	work := state.AccountStatus{
		Name: "work", Provider: "microsoft", State: state.OK,
		SignedInAs:  state.Identity{Name: "Ada Lovelace", Username: "ada@contoso.example"},
		LastSuccess: now.Add(-26 * time.Minute), Fresh: true, NextDue: now.Add(34 * time.Minute),
		AccessExpiry: now.Add(39 * time.Minute), Storage: state.Storage{Kind: "keychain"}, History: hist,
	}
	home := work
	home.Name, home.Provider, home.State = "home", "oidc", state.NeedsSignIn
	home.NextDue = time.Time{}
	home.LastError = &state.ErrorInfo{
		Class: state.ClassPermanent, Message: "sign in again: the provider ended this sign-in (AADSTS70043: refresh token expired under a conditional access sign-in frequency policy)",
		At: now.Add(-5 * time.Minute), Code: "invalid_grant", AADSTS: []int{70043}, HTTPStatus: 400,
		TraceID: "4c1f6a2e-93b1-4d7e-9a55-0e2b7c1d3f00", CorrelationID: "b7e0c9d4-2f61-4a8b-8c3e-5d9f1a6b2e11",
	}
	home.History = append(append([]state.Event{}, hist[:20]...), state.Event{At: now.Add(-5 * time.Minute), Kind: state.EventFailed})

	a := app.NewWithID("io.github.tokentray.preview")
	w := window.New(a, window.Options{
		Keeper: still{state.Snapshot{At: now, Accounts: []state.AccountStatus{work, home}}},
		Info:   window.Info{Version: "preview", Settings: config.Defaults(), FileSettings: config.Defaults(), ConfigPath: "preview.yaml"},
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w.Start(ctx)
	a.Run()
}
