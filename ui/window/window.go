// Package window is tokentray's status window: the accounts with their
// state, the add-account and sign-in dialogs, and the settings. It is a pure
// client of the running keeper: it renders the keeper's snapshots and calls
// Keeper for every action; it never creates the Fyne app (the window
// program does), so it is tested headless with fyne.io/fyne/v2/test.
package window

import (
	"context"
	"log/slog"
	"reflect"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/tokentray/tokentray/internal/config"
	"github.com/tokentray/tokentray/internal/state"
	"github.com/tokentray/tokentray/ui"
)

// Keeper is the running tokentray the window is a client of.
type Keeper interface {
	// Subscribe streams snapshots, the current one first; the channel closes
	// when the connection to the keeper ends (keeper quit, restarted or died).
	Subscribe(ctx context.Context) <-chan state.Snapshot
	RefreshNow(ctx context.Context, account string) (state.Result, error)
	RefreshAll(ctx context.Context) error
	// SignIn signs account in interactively: in the browser, or with a
	// device code it hands to show (at most once, from any goroutine). It
	// returns when sign-in ends; ctx ends when the user cancels.
	SignIn(ctx context.Context, account string, device bool, show func(code, url string)) error
	SignOut(ctx context.Context, account string) error
	AddAccount(ctx context.Context, a config.Account) error    // live: no restart
	RemoveAccount(ctx context.Context, account string) error   // live: signs out, deletes secrets, removes from the file
	SaveSettings(ctx context.Context, s config.Settings) error // writes the file only; applies on restart
	Restart(ctx context.Context) error                         // restarts the keeper; the window reconnects
	Quit(ctx context.Context) error
	StartDemo(ctx context.Context) error // "Try the demo account"
	// Info asks the keeper for its facts again: after a reconnect the keeper
	// may be another one (restarted with saved settings, or the demo).
	Info(ctx context.Context) (Info, error)
	// RecentUse returns up to limit tokens the keeper handed out, newest
	// first (the Recent use tab, recent.go).
	RecentUse(ctx context.Context, limit int) ([]Use, error)
}

// Info is what the keeper's handshake says about it.
type Info struct {
	Version        string
	Settings       config.Settings // the settings the keeper runs with
	FileSettings   config.Settings // what the file says now (for "pending changes")
	ConfigPath     string          // "" in the demo: settings read-only
	NoTrayHost     bool            // the keeper has no tray icon
	StorageProblem string          // the keeper's start-up keychain probe found the storage unusable
	Demo           bool
}

// Options configures a Window.
type Options struct {
	Keeper      Keeper
	Info        Info
	StartKeeper func() error // "Start tokentray" when the keeper is not running; nil hides it
	Logger      *slog.Logger // nil: slog.Default()
	Now         func() time.Time
	Location    *time.Location // times are shown in it; nil: time.Local
}

// Tab is a tab of the window.
type Tab int

// The window's tabs.
const (
	TabAccounts Tab = iota
	TabSettings
	TabRecentUse
)

// windowSize is the window's size when it opens.
var windowSize = fyne.NewSize(560, 680)

// Reconnect backoff after the connection to the keeper ends.
const (
	retryMin = 500 * time.Millisecond
	retryMax = 5 * time.Second
)

// Window is the status window.
type Window struct {
	app fyne.App
	o   Options
	log *slog.Logger
	now func() time.Time
	loc *time.Location

	win        fyne.Window
	tabs       *container.AppTabs
	accounts   *container.TabItem
	list       *fyne.Container // account cards, or the empty state
	cards      map[string]*card
	order      []string
	settings   *settingsForm
	recent     *recentUse // the Recent use tab
	notRunning *notRunningBanner
	addDialog  *accountForm    // the add-account dialog last opened (tests)
	top        *fyne.Container // the banners

	snap      state.Snapshot
	connected bool

	do                 func(func())   // runs on the Fyne goroutine: fyne.Do (tests serialise it)
	tickEvery          time.Duration  // countdown clock period (1 s)
	retryMin, retryMax time.Duration  // reconnect backoff
	wg                 sync.WaitGroup // goroutines started by actions and Start
}

// New builds a window on app; nothing is shown until Start.
func New(app fyne.App, o Options) *Window {
	w := &Window{app: app, o: o, log: o.Logger, now: o.Now, loc: o.Location, cards: map[string]*card{}}
	if w.log == nil {
		w.log = slog.Default()
	}
	if w.now == nil {
		w.now = time.Now
	}
	if w.loc == nil {
		w.loc = time.Local
	}
	w.do, w.tickEvery, w.retryMin, w.retryMax = fyne.Do, time.Second, retryMin, retryMax
	return w
}

// Start builds and shows the window and follows the keeper's snapshots until
// ctx ends. When the connection ends it shows that tokentray is not running
// and re-subscribes with a bounded backoff, so a restarted keeper reconnects
// by itself. Closing the window quits the app; the keeper keeps running.
// Call it on the main goroutine before app.Run.
func (w *Window) Start(ctx context.Context) {
	w.app.SetIcon(fyne.NewStaticResource("tray-ok.png", ui.TrayOK.Icon()))
	w.win = w.app.NewWindow("tokentray")
	w.win.SetContent(w.build(ctx))
	w.win.Resize(windowSize)
	w.win.SetCloseIntercept(w.app.Quit)
	w.win.SetMaster()
	w.render(ctx, state.Snapshot{At: w.now()})
	w.setConnected(false, "Connecting to tokentray…")
	w.win.Show()

	lost := false // touched by follow's goroutine only
	w.wg.Go(func() {
		follow(ctx, w.o.Keeper, w.retryMin, w.retryMax,
			func(s state.Snapshot) {
				if lost { // reconnected: maybe to another keeper
					lost = false
					if in, err := w.o.Keeper.Info(ctx); err == nil {
						w.do(func() { w.applyInfo(ctx, in) })
					}
				}
				w.do(func() { w.setConnected(true, ""); w.render(ctx, s) })
			},
			func() {
				lost = true
				w.do(func() { w.setConnected(false, "tokentray is not running.") })
			})
	})
	w.wg.Go(func() {
		t := time.NewTicker(w.tickEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				w.do(w.tick)
			}
		}
	})
}

// follow subscribes to k until ctx ends, calling onSnap for each snapshot and
// onLost each time a connection ends (or a subscription brought nothing).
// Between attempts it waits min, doubling up to max while the keeper stays
// away, and back to min once snapshots flowed.
func follow(ctx context.Context, k Keeper, minWait, maxWait time.Duration, onSnap func(state.Snapshot), onLost func()) {
	wait := minWait
	for {
		got := false
		for s := range k.Subscribe(ctx) {
			got = true
			onSnap(s)
		}
		if ctx.Err() != nil {
			return
		}
		onLost()
		if got {
			wait = minWait
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		wait = min(2*wait, maxWait)
	}
}

// Show brings the window forward on tab; safe from any goroutine.
func (w *Window) Show(tab Tab) {
	w.do(func() {
		if w.tabs != nil {
			w.tabs.SelectIndex(int(tab))
		}
		if w.win != nil {
			w.win.Show()
			w.win.RequestFocus()
		}
	})
}

// ShowSignIn brings the window forward and opens the sign-in dialog of
// account; safe from any goroutine.
func (w *Window) ShowSignIn(account string) {
	w.Show(TabAccounts)
	w.do(func() { w.showSignIn(context.Background(), account) })
}

// build makes the window content: banners, the accounts tab and the
// settings tab.
func (w *Window) build(ctx context.Context) fyne.CanvasObject {
	w.list = container.NewVBox()
	w.settings = newSettingsForm(ctx, w)
	w.accounts = container.NewTabItem("Accounts", container.NewVScroll(w.list))
	w.recent = newRecentUse(ctx, w)
	w.tabs = container.NewAppTabs(w.accounts, container.NewTabItem("Settings", w.settings.content), container.NewTabItem("Recent use", w.recent.content))
	w.tabs.OnSelected = func(ti *container.TabItem) {
		if ti.Content == w.recent.content {
			w.recent.load(ctx)
		}
	}
	w.notRunning = newNotRunningBanner(w)
	w.top = container.NewVBox(w.banners(ctx)...)
	w.syncTop()
	return container.NewBorder(w.top, nil, nil, nil, w.tabs)
}

// banners are the not-running banner and those Info asks for.
func (w *Window) banners(ctx context.Context) []fyne.CanvasObject {
	banners := []fyne.CanvasObject{w.notRunning.box}
	if w.o.Info.StorageProblem != "" {
		banners = append(banners, storageBanner(w.o.Info.StorageProblem))
	}
	if w.o.Info.NoTrayHost {
		banners = append(banners, w.noTrayBanner(ctx))
	}
	return banners
}

// applyInfo takes the facts of the keeper the window reconnected to: after
// "Restart now" it runs with the saved settings (no pending changes any
// more), after "Try the demo account" it is the demo (settings read-only).
// It runs on the Fyne goroutine.
func (w *Window) applyInfo(ctx context.Context, in Info) {
	if reflect.DeepEqual(in, w.o.Info) {
		return
	}
	w.o.Info = in
	w.settings = newSettingsForm(ctx, w)
	w.tabs.Items[1].Content = w.settings.content
	w.tabs.Refresh()
	w.top.Objects = w.banners(ctx)
	w.syncTop()
	w.top.Refresh()
}

// syncTop hides the banner area when no banner shows, so it takes no room.
func (w *Window) syncTop() {
	for _, o := range w.top.Objects {
		if o.Visible() {
			w.top.Show()
			return
		}
	}
	w.top.Hide()
}

// setConnected shows or hides the not-running banner and enables the
// actions that need the keeper.
func (w *Window) setConnected(on bool, msg string) {
	changed := w.connected != on
	w.connected = on
	w.notRunning.show(!on, msg)
	w.syncTop()
	if changed {
		for _, a := range w.snap.Accounts {
			if c, ok := w.cards[a.Name]; ok {
				c.update(a, w.now())
			}
		}
	}
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

// noTrayBanner explains that tokentray runs on without a tray icon, how to
// get one, and offers to quit it.
func (w *Window) noTrayBanner(ctx context.Context) fyne.CanvasObject {
	l := widget.NewLabel("No system tray was found, so tokentray has no icon. Closing this window does not stop it: " +
		"it keeps your tokens fresh in the background. To get the tray icon on GNOME, install and enable the " +
		"\"AppIndicator and KStatusNotifierItem Support\" extension, then restart tokentray.")
	l.Wrapping = fyne.TextWrapWord
	l.Importance = widget.WarningImportance
	quit := widget.NewButton("Quit tokentray", func() {
		w.wg.Go(func() {
			if err := w.o.Keeper.Quit(ctx); err != nil {
				w.log.Warn("quit the keeper", "err", err)
			}
		})
	})
	return container.NewBorder(nil, nil, nil, container.NewVBox(quit), l)
}

// notRunningBanner says the keeper is not running and offers to start it.
type notRunningBanner struct {
	box   *fyne.Container
	text  *widget.Label
	start *widget.Button
	err   *widget.Label
}

func newNotRunningBanner(w *Window) *notRunningBanner {
	b := &notRunningBanner{}
	b.text = widget.NewLabel("")
	b.text.Importance = widget.WarningImportance
	b.text.Wrapping = fyne.TextWrapWord
	b.err = widget.NewLabel("")
	b.err.Importance = widget.DangerImportance
	b.err.Wrapping = fyne.TextWrapWord
	b.err.Hide()
	b.start = widget.NewButton("Start tokentray", nil)
	b.start.Importance = widget.HighImportance
	b.start.OnTapped = func() {
		b.start.Disable()
		w.wg.Go(func() {
			err := w.o.StartKeeper()
			w.do(func() {
				b.start.Enable()
				if err != nil {
					showText(b.err, "tokentray did not start: "+err.Error(), true)
				}
			})
		})
	}
	if w.o.StartKeeper == nil {
		b.start.Hide()
	}
	b.box = container.NewVBox(container.NewBorder(nil, nil, nil, container.NewVBox(b.start), b.text), b.err)
	b.box.Hide()
	return b
}

func (b *notRunningBanner) show(on bool, msg string) {
	if !on {
		b.box.Hide()
		showText(b.err, "", false)
		return
	}
	if msg != "" && b.text.Text != msg {
		b.text.SetText(msg)
	}
	b.box.Show()
}

// render shows snapshot s; it runs on the Fyne main goroutine.
func (w *Window) render(ctx context.Context, s state.Snapshot) {
	w.snap = s
	w.renderAccounts(ctx, s, w.now())
}

// tick advances the countdowns; it runs on the Fyne main goroutine.
func (w *Window) tick() {
	now := w.now()
	for _, a := range w.snap.Accounts {
		if c, ok := w.cards[a.Name]; ok {
			c.update(a, now)
		}
	}
}

// refreshOne runs Keeper.RefreshNow for name and shows the outcome on its
// card.
func (w *Window) refreshOne(ctx context.Context, name string) {
	w.wg.Go(func() {
		res, err := w.o.Keeper.RefreshNow(ctx, name)
		msg := ui.RefreshOutcome(res, err)
		w.do(func() {
			if c, ok := w.cards[name]; ok {
				c.say(msg, err != nil)
			}
		})
	})
}
