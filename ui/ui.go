// Package ui is tokentray's Fyne front end: the tray menu, the status window
// and the settings form. It renders engine snapshots and calls engine and
// config actions; it holds no business logic.
package ui

import (
	"context"
	"log/slog"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"

	"github.com/tokentray/tokentray/internal/config"
	"github.com/tokentray/tokentray/internal/engine"
)

// Engine is what the UI needs from the engine.
type Engine interface {
	Snapshot() engine.Snapshot
	Subscribe(ctx context.Context) <-chan engine.Snapshot
	RefreshNow(ctx context.Context, name string) (engine.Result, error)
	RefreshAll(ctx context.Context) error
}

// Options configures the UI.
type Options struct {
	Engine     Engine          // nil: no accounts yet (first run)
	Settings   config.Settings // the settings this process runs with
	ConfigPath string
	Logger     *slog.Logger
	OnRestart  func()       // re-executes the app ("Restart now")
	OnDemo     func() error // "Try the demo account"
	OnQuit     func()
}

// UI owns the window and the tray menu.
type UI struct {
	app fyne.App
	o   Options
	win fyne.Window
}

// New builds the UI on app; nothing is shown until Start.
func New(app fyne.App, o Options) *UI { return &UI{app: app, o: o} }

// Start shows the window and keeps it in step with engine snapshots until
// ctx ends.
func (u *UI) Start(ctx context.Context) {
	u.win = u.app.NewWindow("tokentray")
	u.win.SetContent(widget.NewLabel("tokentray"))
	u.win.Show()
}
