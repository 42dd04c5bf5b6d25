package ui

import (
	"log/slog"
	"reflect"
	"runtime"
	"slices"
	"sync"
	"time"

	"fyne.io/systray"
	"github.com/tokentray/tokentray/internal/state"
)

// TrayActions are what the tray menu does. Each is called on its own
// goroutine; a nil action hides its entry.
type TrayActions struct {
	RefreshAll func()               // "Refresh now"
	Refresh    func(account string) // "Refresh one account" → account
	Open       func()               // "Open tokentray"
	Settings   func()               // "Settings…"
	SignIn     func(account string) // "Sign in again…"
	Quit       func()               // "Quit"
}

// Tray is the keeper's tray icon, tooltip and menu. One struct owns all tray
// state; the menu is rebuilt from each snapshot (only when the menu it
// shows changes), the icon set only when the tray state changes.
type Tray struct {
	actions TrayActions
	log     *slog.Logger
	host    trayHost
	now     func() time.Time
	loc     *time.Location

	mu       sync.Mutex
	ready    bool
	closed   bool
	snap     state.Snapshot
	menu     []menuEntry // the plan on screen
	built    bool        // menu was built at least once
	icon     TrayState
	iconSet  bool
	tooltip  string
	stop     chan struct{} // closed to end the current menu's click loop
	loopDone chan struct{} // closed when that loop has returned
}

// NewTray returns a tray with actions a; nothing is shown before OnReady.
func NewTray(a TrayActions, log *slog.Logger) *Tray {
	if log == nil {
		log = slog.Default()
	}
	return &Tray{actions: a, log: log, host: &systrayHost{}, now: time.Now, loc: time.Local}
}

// OnReady shows the tray: title, icon, tooltip and the menu of the latest
// snapshot (an empty one if Render was not called yet). Pass it to
// systray.Run as onReady.
func (t *Tray) OnReady() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ready || t.closed {
		return
	}
	t.ready = true
	if runtime.GOOS != "darwin" { // on macOS the title is text next to the icon
		t.host.SetTitle("tokentray")
	}
	t.applyLocked()
}

// Render shows snapshot s. It may be called from any goroutine, also before
// OnReady (the latest snapshot is shown when the tray is ready).
func (t *Tray) Render(s state.Snapshot) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.snap = s
	if t.ready && !t.closed {
		t.applyLocked()
	}
}

// Close stops listening for menu clicks and ignores later snapshots. Call it
// from systray's onExit. Actions already started keep running.
func (t *Tray) Close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closed = true
	t.stopLoopLocked()
}

// applyLocked brings icon, tooltip and menu in line with t.snap.
func (t *Tray) applyLocked() {
	if st := TrayStateOf(t.snap); !t.iconSet || st != t.icon {
		t.icon, t.iconSet = st, true
		t.host.SetIcon(iconBytes(st, runtime.GOOS))
	}
	if tip := Summary(t.snap) + radarTip(t.snap, t.loc); tip != t.tooltip {
		t.tooltip = tip
		t.host.SetTooltip(tip)
	}
	p := plan(menuModel(t.snap, t.now(), t.loc), t.actions)
	if t.built && slices.EqualFunc(p, t.menu, entriesEqual) {
		return
	}
	// The common change (a status line's text, an entry greyed out) is
	// made in place: fyne.io/systray's ResetMenu closes the old items'
	// click channels while a click being delivered may still send on one
	// (a panic that would end the keeper), so the menu is rebuilt only
	// when its shape changes (accounts or entries come or go).
	if t.built && sameShape(p, t.menu) {
		t.menu = p
		t.host.UpdateMenu(p)
		return
	}
	t.stopLoopLocked()
	t.menu, t.built = p, true
	clicks := t.host.SetMenu(p)
	t.startLoopLocked(clicks)
}

func entriesEqual(a, b menuEntry) bool { return reflect.DeepEqual(a, b) }

// sameShape reports whether menus a and b differ at most in the labels of
// entries without an action and in which entries are disabled: then the
// items on screen can be updated in place and every click channel still
// means the same action.
func sameShape(a, b []menuEntry) bool {
	return slices.EqualFunc(a, b, func(x, y menuEntry) bool {
		if x.Op != y.Op || x.Account != y.Account || x.Separator != y.Separator || (x.Op != opNone && x.Label != y.Label) {
			return false
		}
		return sameShape(x.Children, y.Children)
	})
}

// stopLoopLocked ends the click loop of the menu on screen and waits for it.
func (t *Tray) stopLoopLocked() {
	if t.stop == nil {
		return
	}
	close(t.stop)
	<-t.loopDone
	t.stop, t.loopDone = nil, nil
}

// startLoopLocked runs one goroutine that turns clicks on the current menu
// into actions. It ends when stopLoopLocked closes its stop channel or when
// the menu's channels close (systray.ResetMenu closes them).
func (t *Tray) startLoopLocked(clicks []click) {
	stop, done := make(chan struct{}), make(chan struct{})
	t.stop, t.loopDone = stop, done
	cases := make([]reflect.SelectCase, 0, len(clicks)+1)
	cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(stop)})
	for _, c := range clicks {
		cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(c.ch)})
	}
	a := t.actions
	go func() {
		defer close(done)
		for {
			i, _, ok := reflect.Select(cases)
			if i == 0 || !ok {
				return
			}
			select {
			case <-stop: // stopped while the click came in: the menu is gone
				return
			default:
			}
			if fn := actionFor(clicks[i-1].entry, a); fn != nil {
				go fn()
			}
		}
	}()
}

// click is the click channel of one menu entry with an action.
type click struct {
	ch    <-chan struct{}
	entry menuEntry
}

// plan is the menu model as the tray shows it: entries whose action is nil
// are dropped, submenus left empty too, and separators never lead, trail or
// double.
func plan(m []menuEntry, a TrayActions) []menuEntry {
	var out []menuEntry
	for _, e := range m {
		switch {
		case e.Separator:
			if len(out) == 0 || out[len(out)-1].Separator {
				continue
			}
		case len(e.Children) > 0:
			e.Children = plan(e.Children, a)
			if len(e.Children) == 0 {
				continue
			}
		case e.Op != opNone && actionFor(e, a) == nil:
			continue
		}
		out = append(out, e)
	}
	if n := len(out); n > 0 && out[n-1].Separator {
		out = out[:n-1]
	}
	return out
}

// actionFor is what clicking e does, nil if nothing.
func actionFor(e menuEntry, a TrayActions) func() {
	bind := func(f func(string)) func() {
		if f == nil {
			return nil
		}
		return func() { f(e.Account) }
	}
	switch e.Op {
	case opRefreshAll:
		return a.RefreshAll
	case opRefresh:
		return bind(a.Refresh)
	case opOpen:
		return a.Open
	case opSettings:
		return a.Settings
	case opSignIn:
		return bind(a.SignIn)
	case opQuit:
		return a.Quit
	}
	return nil
}

// trayHost is the tray the Tray drives: fyne.io/systray, or a fake in tests.
type trayHost interface {
	SetTitle(string)
	SetIcon([]byte)
	SetTooltip(string)
	// SetMenu replaces the menu with p and returns the click channel of
	// every entry with an action.
	SetMenu(p []menuEntry) []click
	// UpdateMenu shows p, which has the shape of the menu on screen
	// (sameShape), by changing labels and enabled states in place.
	UpdateMenu(p []menuEntry)
}

// systrayHost is fyne.io/systray. items are the menu's items in the order
// SetMenu added them (separators excluded), for UpdateMenu.
type systrayHost struct {
	items []*systray.MenuItem
}

func (*systrayHost) SetTitle(s string)   { systray.SetTitle(s) }
func (*systrayHost) SetIcon(b []byte)    { systray.SetIcon(b) }
func (*systrayHost) SetTooltip(s string) { systray.SetTooltip(s) }

func (h *systrayHost) UpdateMenu(p []menuEntry) {
	i := 0
	var walk func(es []menuEntry)
	walk = func(es []menuEntry) {
		for _, e := range es {
			if e.Separator {
				continue
			}
			if i >= len(h.items) {
				return
			}
			it := h.items[i]
			i++
			it.SetTitle(e.Label)
			if e.Disabled {
				it.Disable()
			} else {
				it.Enable()
			}
			walk(e.Children)
		}
	}
	walk(p)
}

func (h *systrayHost) SetMenu(p []menuEntry) []click {
	systray.ResetMenu()
	h.items = h.items[:0]
	var clicks []click
	var add func(parent *systray.MenuItem, es []menuEntry)
	add = func(parent *systray.MenuItem, es []menuEntry) {
		for _, e := range es {
			if e.Separator {
				if parent == nil {
					systray.AddSeparator()
				} else {
					parent.AddSeparator()
				}
				continue
			}
			var it *systray.MenuItem
			if parent == nil {
				it = systray.AddMenuItem(e.Label, "")
			} else {
				it = parent.AddSubMenuItem(e.Label, "")
			}
			h.items = append(h.items, it)
			if e.Disabled {
				it.Disable()
			}
			if len(e.Children) > 0 {
				add(it, e.Children)
				continue
			}
			if e.Op != opNone {
				clicks = append(clicks, click{ch: it.ClickedCh, entry: e})
			}
		}
	}
	add(nil, p)
	return clicks
}
