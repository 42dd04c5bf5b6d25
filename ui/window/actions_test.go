package ui

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/tokentray/tokentray/internal/config"
	"github.com/tokentray/tokentray/internal/engine"
)

// trayRecorder is a test app with a system tray: it keeps every menu, icon
// and notification the UI hands it.
type trayRecorder struct {
	fyne.App
	mu    sync.Mutex
	menus []*fyne.Menu
	icons []fyne.Resource
	notes []string
	win   fyne.Window
}

func (r *trayRecorder) SetSystemTrayMenu(m *fyne.Menu) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.menus = append(r.menus, m)
}

func (r *trayRecorder) SetSystemTrayIcon(icon fyne.Resource) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.icons = append(r.icons, icon)
}

func (r *trayRecorder) SetSystemTrayWindow(w fyne.Window) { r.win = w }

func (r *trayRecorder) NewWindow(title string) fyne.Window {
	return &shownWindow{Window: r.App.NewWindow(title)}
}

func (r *trayRecorder) SendNotification(n *fyne.Notification) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.notes = append(r.notes, n.Content)
}

func (r *trayRecorder) menuLabels() []string {
	m := r.menus[len(r.menus)-1]
	var out []string
	for _, it := range m.Items {
		if it.IsSeparator {
			out = append(out, "---")
			continue
		}
		out = append(out, it.Label)
	}
	return out
}

func (r *trayRecorder) item(t *testing.T, label string) *fyne.MenuItem {
	t.Helper()
	for _, it := range r.menus[len(r.menus)-1].Items {
		if it.Label == label {
			return it
		}
	}
	t.Fatalf("no tray item %q in %q", label, r.menuLabels())
	return nil
}

// startUI runs Start on a tray recorder; stop cancels it and waits for every
// goroutine it started.
func startUI(t *testing.T, o Options) (u *UI, rec *trayRecorder, stop func()) {
	t.Helper()
	rec = &trayRecorder{App: test.NewTempApp(t)}
	o.Now = func() time.Time { return clock }
	o.Location = time.UTC
	if o.Settings.Refresh.IntervalHours == 0 {
		o.Settings = config.Defaults()
	}
	u = New(rec, o)
	u.tickEvery = time.Hour // the countdown is tested through tick
	ctx, cancel := context.WithCancel(t.Context())
	u.Start(ctx)
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		<-u.loopDone
		u.wg.Wait()
	}
	t.Cleanup(stop)
	return u, rec, stop
}

func TestStartTrayFollowsSnapshots(t *testing.T) {
	eng := &scriptedEngine{snap: snap(okAccount("work")), subs: make(chan engine.Snapshot)}
	quit := 0
	u, rec, stop := startUI(t, Options{Engine: eng, OnQuit: func() { quit++ }})

	want := []string{"work — refreshed 12:04, next 13:04", "---", "Refresh now", "---", "Open tokentray", "Settings…", "---", "Quit"}
	if diff := cmp.Diff(want, rec.menuLabels()); diff != "" {
		t.Errorf("tray menu at start (-want +got):\n%s", diff)
	}
	if rec.win != u.win {
		t.Errorf("SetSystemTrayWindow was not given the main window")
	}
	rec.item(t, "Refresh now").Action()

	next := snap(needsSignInAccount("work"))
	eng.subs <- next
	eng.subs <- next // the loop has taken the first one once this is received
	stop()

	if diff := cmp.Diff([]string{"*"}, eng.refreshed); diff != "" {
		t.Errorf("Refresh now called (-want +got):\n%s", diff)
	}
	want = []string{"work — needs sign-in", "---", "Refresh now", "Sign in again…", "---", "Open tokentray", "Settings…", "---", "Quit"}
	if diff := cmp.Diff(want, rec.menuLabels()); diff != "" {
		t.Errorf("tray menu after needs sign-in (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]fyne.Resource{trayOKIcon, traySignInIcon}, rec.icons); diff != "" {
		t.Errorf("tray icons (-want +got):\n%s", diff)
	}
	if len(rec.notes) != 1 {
		t.Errorf("notifications = %q; want exactly one for the needs-sign-in episode", rec.notes)
	}
	if !rec.item(t, "Refresh now").Disabled {
		t.Errorf("Refresh now is enabled while the only account needs sign-in")
	}
	if q := rec.item(t, "Quit"); !q.IsQuit {
		t.Errorf("Quit is not marked IsQuit; Fyne would add a second Quit")
	} else {
		q.Action()
	}
	if quit != 1 {
		t.Errorf("Quit called OnQuit %d times; want 1", quit)
	}
}

func TestStartMinimizedAndNoTray(t *testing.T) {
	for _, tc := range []struct {
		name      string
		minimized bool
		noTray    bool
		accounts  []engine.AccountStatus
		shown     bool
	}{
		{"normal", false, false, []engine.AccountStatus{okAccount("work")}, true},
		{"minimized", true, false, []engine.AccountStatus{okAccount("work")}, false},
		{"minimized without tray host", true, true, []engine.AccountStatus{okAccount("work")}, true},
		{"minimized first run", true, false, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := config.Defaults()
			s.UI.StartMinimized = tc.minimized
			eng := &scriptedEngine{snap: snap(tc.accounts...)}
			u, _, _ := startUI(t, Options{Engine: eng, Settings: s, NoTrayHost: tc.noTray})
			if got := u.win.(*shownWindow).shown; got != tc.shown {
				t.Errorf("window shown = %v; want %v", got, tc.shown)
			}
		})
	}
}

// shownWindow is a test window that remembers whether it is shown.
type shownWindow struct {
	fyne.Window
	shown bool
}

func (w *shownWindow) Show() { w.shown = true; w.Window.Show() }
func (w *shownWindow) Hide() { w.shown = false; w.Window.Hide() }

func TestRefreshButtonOutcome(t *testing.T) {
	refused := &engine.Refused{Reason: engine.RefusedRetryAfter, Until: at("12:45")}
	for _, tc := range []struct {
		name string
		res  engine.Result
		err  error
		want string
		bad  bool
	}{
		{"fresh", engine.Result{Fresh: true, Saved: true}, nil, "Refreshed: new token from provider.", false},
		{"same", engine.Result{Saved: true}, nil, "Refreshed: provider returned the same token.", false},
		{"skipped", engine.Result{Skipped: true, Saved: true}, nil, "No request needed: another tokentray process had just refreshed.", false},
		{"not saved", engine.Result{Fresh: true}, nil, "Refreshed (new token from provider), but saving failed; the token is kept in memory.", false},
		{"refused", engine.Result{}, fmt.Errorf("refresh account %q: %w", "work", refused), refused.Error(), true},
		{"failed", engine.Result{}, errProviderDown, "Refresh failed: provider down", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eng := &scriptedEngine{snap: snap(okAccount("work")), result: tc.res, err: tc.err}
			u, _ := newTestUI(t, Options{Engine: eng})
			u.render(t.Context(), eng.snap)
			c := u.cards["work"]
			test.Tap(c.refresh)
			u.wg.Wait()
			if diff := cmp.Diff([]string{"work"}, eng.refreshed); diff != "" {
				t.Errorf("RefreshNow calls (-want +got):\n%s", diff)
			}
			if !c.message.Visible() || c.message.Text != tc.want {
				t.Errorf("card says %q (visible %v); want %q", c.message.Text, c.message.Visible(), tc.want)
			}
			if got := c.message.Importance == widget.DangerImportance; got != tc.bad {
				t.Errorf("message shown as error = %v; want %v", got, tc.bad)
			}
		})
	}
}

func TestSignOutAsksFirst(t *testing.T) {
	eng := &scriptedEngine{snap: snap(okAccount("work"))}
	u, w := newTestUI(t, Options{Engine: eng})
	u.render(t.Context(), eng.snap)
	test.Tap(u.cards["work"].signOut)
	if len(eng.signedOut) != 0 {
		t.Fatalf("signed out before the user confirmed")
	}
	yes := findButton(t, w.Canvas().Overlays().Top(), "Yes")
	test.Tap(yes)
	u.wg.Wait()
	if diff := cmp.Diff([]string{"work"}, eng.signedOut); diff != "" {
		t.Errorf("SignOut calls (-want +got):\n%s", diff)
	}
	if got := u.cards["work"].message.Text; got != "Signed out." {
		t.Errorf("card says %q; want %q", got, "Signed out.")
	}
}

func findButton(t *testing.T, o fyne.CanvasObject, label string) *widget.Button {
	t.Helper()
	if o == nil {
		t.Fatalf("nothing to search for button %q", label)
	}
	for _, obj := range test.LaidOutObjects(o) {
		if b, ok := obj.(*widget.Button); ok && b.Text == label {
			return b
		}
	}
	t.Fatalf("no button %q", label)
	return nil
}

func TestDemoButton(t *testing.T) {
	called := 0
	u, w := newTestUI(t, Options{OnDemo: func() error { called++; return errProviderDown }})
	u.render(t.Context(), snap())
	test.Tap(findButton(t, w.Content(), "Try the demo account"))
	u.wg.Wait()
	if called != 1 {
		t.Errorf("OnDemo called %d times; want 1", called)
	}
	found := false
	for _, obj := range test.LaidOutObjects(w.Content()) {
		if l, ok := obj.(*widget.Label); ok && l.Text == "The demo did not start: provider down" && l.Visible() {
			found = true
		}
	}
	if !found {
		t.Errorf("a failed demo start shows no message")
	}
}

func TestNotifierOncePerEpisode(t *testing.T) {
	var n notifier
	n.open = map[string]engine.State{}
	steps := []struct {
		snap engine.Snapshot
		want int
	}{
		{snap(okAccount("work")), 0},
		{snap(needsSignInAccount("work")), 1},
		{snap(needsSignInAccount("work")), 0},
		{snap(refreshingAccount("work")), 0}, // a try inside the episode
		{snap(needsSignInAccount("work")), 0},
		{snap(okAccount("work")), 0}, // signed in again: episode over
		{snap(needsSignInAccount("work")), 1},
		{snap(), 0}, // removed
		{snap(backingOffAccount("work")), 0},
		{snap(func() engine.AccountStatus { a := backingOffAccount("work"); a.State = engine.Failing; return a }()), 1},
		{snap(func() engine.AccountStatus { a := backingOffAccount("work"); a.State = engine.Failing; return a }()), 0},
		{snap(needsSignInAccount("work"), needsSignInAccount("home")), 2},
	}
	for i, s := range steps {
		if got := n.update(s.snap); len(got) != s.want {
			t.Errorf("step %d: %d notifications; want %d", i, len(got), s.want)
		}
	}
}

func TestTimelineSpans(t *testing.T) {
	a := okAccount("work")
	a.History = []engine.Event{
		{At: clock.Add(-30 * time.Hour), Kind: engine.EventOK, Expiry: clock.Add(-29 * time.Hour)}, // gone
		{At: clock.Add(-24*time.Hour - 30*time.Minute), Kind: engine.EventOK, Expiry: clock.Add(-23 * time.Hour)},
		{At: clock.Add(-12 * time.Hour), Kind: engine.EventFailed},
		{At: clock.Add(-6 * time.Hour), Kind: engine.EventOK, Expiry: clock.Add(time.Hour)},
	}
	got := timelineSpans(a, clock)
	want := []span{
		{from: 0, to: 1, top: 0, level: 1, color: colorTrack},
		{from: 0, to: 1.0 / 24, top: 0.5, level: 0.5, color: colorValid},
		{from: 0.75, to: 1, top: 0.5, level: 0.5, color: colorValid},
		{from: 0.5, to: 0.5, top: 0, level: 1, color: colorFailed},
		{from: 0.75, to: 0.75, top: 0, level: 1, color: colorOK},
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(span{}), cmpopts.EquateApprox(0, 1e-6)); diff != "" {
		t.Errorf("timelineSpans (-want +got):\n%s", diff)
	}
}

func TestButtonsOpenWindows(t *testing.T) {
	signIn := func(context.Context, string, bool, func(string, string)) error { return nil }
	u, w := newTestUI(t, Options{
		Engine:     &scriptedEngine{snap: snap(okAccount("work"))},
		AddAccount: func(config.Account) error { return nil },
		SignIn:     signIn,
	})
	u.render(t.Context(), snap(okAccount("work")))
	titles := func() []string {
		var out []string
		for _, win := range fyne.CurrentApp().Driver().AllWindows() {
			if win != w && win.Title() != "" {
				out = append(out, win.Title())
			}
		}
		return out
	}
	test.Tap(findButton(t, w.Content(), "Add account"))
	test.Tap(u.cards["work"].signIn)
	want := []string{"tokentray — Add account", "tokentray — Sign in work"}
	if diff := cmp.Diff(want, titles()); diff != "" {
		t.Errorf("windows opened (-want +got):\n%s", diff)
	}
}
