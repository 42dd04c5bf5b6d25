//go:build ignore

// Command preview shows the tokentray window with made-up accounts, for
// screenshots and eyeballing layout changes without an OAuth provider:
//
//	go run ./ui/preview/main.go
package main

import (
	"context"
	"errors"
	"time"

	"fyne.io/fyne/v2/app"

	"github.com/tokentray/tokentray/internal/config"
	"github.com/tokentray/tokentray/internal/engine"
	"github.com/tokentray/tokentray/ui"
)

// still is an engine that never changes and refuses every action.
type still struct{ s engine.Snapshot }

func (e still) Snapshot() engine.Snapshot { return e.s }
func (e still) Subscribe(ctx context.Context) <-chan engine.Snapshot {
	ch := make(chan engine.Snapshot, 1)
	ch <- e.s
	context.AfterFunc(ctx, func() { close(ch) })
	return ch
}
func (e still) RefreshNow(context.Context, string) (engine.Result, error) {
	return engine.Result{}, &engine.Refused{Reason: engine.RefusedBudget, Until: time.Now().Add(5 * time.Minute)}
}
func (e still) RefreshAll(context.Context) error      { return errors.New("preview: no engine") }
func (e still) SignOut(context.Context, string) error { return errors.New("preview: no engine") }

func main() {
	now := time.Now()
	var hist []engine.Event
	for i := 23; i >= 1; i-- {
		at := now.Add(-time.Duration(i) * time.Hour)
		kind := engine.EventOK
		if i == 7 {
			kind = engine.EventFailed
		}
		hist = append(hist, engine.Event{At: at, Kind: kind, Fresh: true, Expiry: at.Add(65 * time.Minute)})
	}
	work := engine.AccountStatus{
		Name: "work", Provider: "microsoft", State: engine.OK,
		SignedInAs:  engine.Identity{Name: "Ada Lovelace", Username: "ada@contoso.example"},
		LastSuccess: now.Add(-26 * time.Minute), Fresh: true, NextDue: now.Add(34 * time.Minute),
		AccessExpiry: now.Add(39 * time.Minute), Storage: engine.Storage{Kind: "keychain"}, History: hist,
	}
	home := work
	home.Name, home.Provider, home.State = "home", "oidc", engine.NeedsSignIn
	home.NextDue = time.Time{}
	home.LastError = &engine.ErrorInfo{Class: engine.ClassPermanent, Message: "invalid_grant: the refresh token was revoked", At: now.Add(-5 * time.Minute)}
	home.History = append(append([]engine.Event{}, hist[:20]...), engine.Event{At: now.Add(-5 * time.Minute), Kind: engine.EventFailed})

	a := app.NewWithID("io.github.tokentray.preview")
	u := ui.New(a, ui.Options{
		Engine:   still{engine.Snapshot{At: now, Accounts: []engine.AccountStatus{work, home}}},
		Settings: config.Defaults(),
		SignIn: func(ctx context.Context, name string, device bool, show func(code, url string)) error {
			show("ABCD-EFGH", "https://microsoft.com/devicelogin")
			<-ctx.Done()
			return ctx.Err()
		},
		AddAccount: func(config.Account) error { return errors.New("preview: accounts are not saved") },
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	u.Start(ctx)
	a.Run()
}
