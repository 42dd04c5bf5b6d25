// Package ui is tokentray's Fyne front end: the tray menu and icon, the
// status window, the add-account and settings forms, and desktop
// notifications. It renders engine snapshots and calls engine actions and
// Options callbacks; it holds no business logic and never creates the Fyne
// app (cmd does), so it is tested headless with fyne.io/fyne/v2/test.
package ui

import (
	"context"
	"errors"
	"log/slog"
	"reflect"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/widget"
	"fyne.io/systray"

	"github.com/tokentray/tokentray/assets"
	"github.com/tokentray/tokentray/internal/config"
	"github.com/tokentray/tokentray/internal/engine"
)

// Engine is what the UI needs from the engine (*engine.Engine satisfies it).
type Engine interface {
	Snapshot() engine.Snapshot
	Subscribe(ctx context.Context) <-chan engine.Snapshot
	RefreshNow(ctx context.Context, name string) (engine.Result, error)
	RefreshAll(ctx context.Context) error
	SignOut(ctx context.Context, name string) error
}

// Options configures the UI. Every callback may be nil; the UI then hides
// or disables what needs it. OnDemo, RemoveAccount and SignIn are called off
// the Fyne main goroutine and may block; OnRestart, OnQuit and AddAccount
// are called on it and should return quickly.
type Options struct {
	Engine     Engine          // nil: no accounts yet (first run)
	Settings   config.Settings // the settings this process runs with
	ConfigPath string          // where Save writes; "" disables saving
	Logger     *slog.Logger    // nil: slog.Default()
	NoTrayHost bool            // no StatusNotifierWatcher: always show the window, with a banner
	// StorageProblem, when set, is why the secret storage is unusable (the
	// start-up probe's answer); the window then shows it with the way out:
	// unlock the keychain, or choose the file store in Settings.
	StorageProblem string
	Now            func() time.Time
	Location       *time.Location // times are shown in it; nil: time.Local

	OnRestart func()       // re-executes the app ("Restart now")
	OnDemo    func() error // "Try the demo account"
	OnQuit    func()       // tray Quit / closing the window without a tray host; nil: app.Quit

	// AddAccount stores a new, validated account (in the config file);
	// the UI then offers to sign it in with SignIn.
	AddAccount func(config.Account) error
	// RemoveAccount deletes an account from the config file (and its
	// secrets); it applies after restart.
	RemoveAccount func(name string) error
	// SignIn signs name in interactively: in the browser, or with a device
	// code that it hands to show (called at most once, from any goroutine).
	// It returns when sign-in ends; ctx ends when the user cancels.
	SignIn func(ctx context.Context, name string, device bool, show func(code, url string)) error
}

// UI owns the window, the tray menu and icon, and the notifications.
type UI struct {
	app fyne.App
	o   Options
	log *slog.Logger
	now func() time.Time
	loc *time.Location

	win      fyne.Window
	tabs     *container.AppTabs
	accounts *container.TabItem
	header   *widget.Label
	list     *fyne.Container // account cards, or the empty state
	cards    map[string]*card
	order    []string
	settings *settingsForm

	snap      engine.Snapshot
	menu      []menuEntry
	tray      trayState
	trayShown bool
	tooltip   string
	notes     notifier

	tickEvery time.Duration  // countdown clock period (1 s)
	wg        sync.WaitGroup // goroutines started by actions and Start
	loopDone  chan struct{}  // closed when the snapshot loop ends
}

// New builds the UI on app; nothing is shown until Start.
func New(app fyne.App, o Options) *UI {
	u := &UI{app: app, o: o, log: o.Logger, now: o.Now, loc: o.Location, cards: map[string]*card{}}
	if u.log == nil {
		u.log = slog.Default()
	}
	if u.now == nil {
		u.now = time.Now
	}
	if u.loc == nil {
		u.loc = time.Local
	}
	u.notes = notifier{open: map[string]engine.State{}}
	u.tickEvery = time.Second
	return u
}

// Start builds the tray and the window, shows the window (unless the
// settings say start minimized and a tray host exists), and keeps both in
// step with engine snapshots and a 1 s clock until ctx ends. Call it on the
// main goroutine before app.Run.
func (u *UI) Start(ctx context.Context) {
	u.app.SetIcon(iconFor(trayOK))
	u.win = u.app.NewWindow("tokentray")
	u.win.SetContent(u.build(ctx))
	u.win.Resize(fyne.NewSize(560, 680))
	u.win.SetCloseIntercept(func() {
		if u.o.NoTrayHost {
			u.quit()
			return
		}
		u.win.Hide()
	})
	if d, ok := u.app.(desktop.App); ok {
		d.SetSystemTrayWindow(u.win)
	}
	s := engine.Snapshot{At: u.now()}
	if u.o.Engine != nil {
		s = u.o.Engine.Snapshot()
	}
	u.render(ctx, s)
	if !u.o.Settings.UI.StartMinimized || u.o.NoTrayHost || len(s.Accounts) == 0 {
		u.win.Show()
	}

	u.loopDone = make(chan struct{})
	if u.o.Engine != nil {
		sub := u.o.Engine.Subscribe(ctx)
		u.wg.Go(func() {
			defer close(u.loopDone)
			for s := range sub {
				fyne.Do(func() { u.render(ctx, s) })
			}
		})
	} else {
		close(u.loopDone)
	}
	u.wg.Go(func() {
		t := time.NewTicker(u.tickEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				fyne.Do(u.tick)
			}
		}
	})
}

// build makes the window content: the no-tray banner, the accounts tab and
// the settings tab.
func (u *UI) build(ctx context.Context) fyne.CanvasObject {
	u.header = widget.NewLabel("")
	u.list = container.NewVBox()
	u.settings = newSettingsForm(u)
	u.accounts = container.NewTabItem("Accounts", container.NewBorder(u.header, nil, nil, nil, container.NewVScroll(u.list)))
	u.tabs = container.NewAppTabs(u.accounts, container.NewTabItem("Settings", u.settings.content))
	var banners []fyne.CanvasObject
	if u.o.StorageProblem != "" {
		banners = append(banners, storageBanner(u.o.StorageProblem))
	}
	if u.o.NoTrayHost {
		banners = append(banners, noTrayBanner())
	}
	if len(banners) == 0 {
		return u.tabs
	}
	return container.NewBorder(container.NewVBox(banners...), nil, nil, nil, u.tabs)
}

// storageBanner says the secret storage is unusable and what to do. It
// never switches storage by itself: plaintext is the user's explicit choice.
func storageBanner(problem string) fyne.CanvasObject {
	l := widget.NewLabel("Storage unavailable: " + problem + ". Accounts cannot be refreshed until it works. " +
		"Unlock your keychain and restart tokentray, or choose the file store (a 0600 file) under Settings → Storage backend.")
	l.Wrapping = fyne.TextWrapWord
	l.Importance = widget.DangerImportance
	return l
}

// noTrayBanner explains how to get a tray icon.
func noTrayBanner() fyne.CanvasObject {
	l := widget.NewLabel("No system tray was found, so tokentray shows this window instead; closing it quits tokentray. " +
		"To get the tray icon on GNOME, install and enable the \"AppIndicator and KStatusNotifierItem Support\" extension, then restart tokentray.")
	l.Wrapping = fyne.TextWrapWord
	l.Importance = widget.WarningImportance
	return l
}

// render shows snapshot s: tray icon, menu, tooltip, cards, notifications.
// It runs on the Fyne main goroutine.
func (u *UI) render(ctx context.Context, s engine.Snapshot) {
	u.snap = s
	now := u.now()
	u.renderTray(ctx, s, now)
	u.renderAccounts(ctx, s, now)
	for _, n := range u.notes.update(s) {
		u.app.SendNotification(n)
	}
}

// tick advances the countdowns; it runs on the Fyne main goroutine.
func (u *UI) tick() {
	now := u.now()
	for _, a := range u.snap.Accounts {
		if c, ok := u.cards[a.Name]; ok {
			c.update(a, now)
		}
	}
}

// renderTray sets the tray icon, tooltip and menu when they changed.
func (u *UI) renderTray(ctx context.Context, s engine.Snapshot, now time.Time) {
	d, ok := u.app.(desktop.App)
	if !ok {
		return
	}
	if st := trayStateOf(s); !u.trayShown || st != u.tray {
		u.tray, u.trayShown = st, true
		d.SetSystemTrayIcon(iconFor(st))
	}
	// desktop.App has no tooltip in Fyne 2.7; the systray package Fyne
	// drives does, and it is safe to call before the tray runs.
	if tip := summary(s); tip != u.tooltip {
		u.tooltip = tip
		systray.SetTooltip(tip)
	}
	m := menuModel(s, now, u.loc)
	if reflect.DeepEqual(m, u.menu) {
		return
	}
	u.menu = m
	d.SetSystemTrayMenu(fyne.NewMenu("tokentray", u.menuItems(ctx, m)...))
}

// menuItems turns menu entries into Fyne items wired to actions.
func (u *UI) menuItems(ctx context.Context, es []menuEntry) []*fyne.MenuItem {
	items := make([]*fyne.MenuItem, 0, len(es))
	for _, e := range es {
		if e.Separator {
			items = append(items, fyne.NewMenuItemSeparator())
			continue
		}
		it := fyne.NewMenuItem(e.Label, u.action(ctx, e))
		it.Disabled = e.Disabled
		if e.Op == opQuit {
			it.IsQuit = true
		}
		if len(e.Children) > 0 {
			it.Action = nil
			it.ChildMenu = fyne.NewMenu("", u.menuItems(ctx, e.Children)...)
		}
		items = append(items, it)
	}
	return items
}

// action is what clicking entry e does.
func (u *UI) action(ctx context.Context, e menuEntry) func() {
	switch e.Op {
	case opRefreshAll:
		return func() { u.refreshAll(ctx) }
	case opRefresh:
		return func() { u.refreshOne(ctx, e.Account) }
	case opOpen:
		return u.showAccounts
	case opSettings:
		return u.showSettings
	case opSignIn:
		return func() { u.showAccounts(); u.showSignIn(ctx, e.Account) }
	case opQuit:
		return u.quit
	}
	return nil
}

func (u *UI) showAccounts() {
	if u.tabs != nil {
		u.tabs.Select(u.accounts)
	}
	if u.win != nil {
		u.win.Show()
		u.win.RequestFocus()
	}
}

func (u *UI) showSettings() {
	if u.tabs != nil {
		u.tabs.SelectIndex(1)
	}
	if u.win != nil {
		u.win.Show()
		u.win.RequestFocus()
	}
}

func (u *UI) quit() {
	if u.o.OnQuit != nil {
		u.o.OnQuit()
		return
	}
	u.app.Quit()
}

// refreshAll runs Engine.RefreshAll off the main goroutine and reports
// failures on the cards.
func (u *UI) refreshAll(ctx context.Context) {
	if u.o.Engine == nil {
		return
	}
	u.wg.Go(func() {
		err := u.o.Engine.RefreshAll(ctx)
		if err != nil {
			u.log.Warn("refresh all", "err", err)
		}
	})
}

// refreshOne runs Engine.RefreshNow for name and shows the outcome on its
// card.
func (u *UI) refreshOne(ctx context.Context, name string) {
	if u.o.Engine == nil {
		return
	}
	u.wg.Go(func() {
		res, err := u.o.Engine.RefreshNow(ctx, name)
		msg := refreshOutcome(res, err)
		fyne.Do(func() {
			if c, ok := u.cards[name]; ok {
				c.say(msg, err != nil)
			}
		})
	})
}

// refreshOutcome is the one-line result of a Refresh now.
func refreshOutcome(res engine.Result, err error) string {
	var r *engine.Refused
	switch {
	case errors.As(err, &r):
		return r.Error()
	case err != nil:
		return "Refresh failed: " + err.Error()
	case res.Skipped:
		return "No request needed: another tokentray process had just refreshed."
	case !res.Saved:
		return "Refreshed (" + freshText(res.Fresh) + "), but saving failed; the token is kept in memory."
	}
	return "Refreshed: " + freshText(res.Fresh) + "."
}

// iconFor is the tray icon of state st.
func iconFor(st trayState) fyne.Resource {
	switch st {
	case trayRefreshing:
		return trayRefreshingIcon
	case trayWarning:
		return trayWarningIcon
	case traySignIn:
		return traySignInIcon
	}
	return trayOKIcon
}

var (
	trayOKIcon         = fyne.NewStaticResource("tray-ok.png", assets.TrayOK)
	trayRefreshingIcon = fyne.NewStaticResource("tray-refreshing.png", assets.TrayRefreshing)
	trayWarningIcon    = fyne.NewStaticResource("tray-warning.png", assets.TrayWarning)
	traySignInIcon     = fyne.NewStaticResource("tray-signin.png", assets.TraySignIn)
)
