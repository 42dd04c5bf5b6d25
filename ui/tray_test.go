package ui

import (
	"bytes"
	"encoding/binary"
	"image/png"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tokentray/tokentray/assets"
	"github.com/tokentray/tokentray/internal/state"
)

// recordingHost is a tray host that keeps everything the Tray hands it and
// lets the test click entries. Like systray.ResetMenu, replacing the menu
// closes the old entries' click channels.
type recordingHost struct {
	titles   []string
	icons    [][]byte
	tooltips []string
	menus    [][]menuEntry
	updates  int                      // how many of menus were in-place updates
	chans    map[string]chan struct{} // label path ("Refresh one account/home") → click channel
}

func (h *recordingHost) SetTitle(s string)   { h.titles = append(h.titles, s) }
func (h *recordingHost) SetIcon(b []byte)    { h.icons = append(h.icons, b) }
func (h *recordingHost) SetTooltip(s string) { h.tooltips = append(h.tooltips, s) }

func (h *recordingHost) SetMenu(p []menuEntry) []click {
	for _, ch := range h.chans {
		close(ch)
	}
	h.chans = map[string]chan struct{}{}
	h.menus = append(h.menus, p)
	var clicks []click
	var add func(prefix string, es []menuEntry)
	add = func(prefix string, es []menuEntry) {
		for _, e := range es {
			if len(e.Children) > 0 {
				add(prefix+e.Label+"/", e.Children)
				continue
			}
			if e.Op != opNone && !e.Separator {
				ch := make(chan struct{})
				h.chans[prefix+e.Label] = ch
				clicks = append(clicks, click{ch: ch, entry: e})
			}
		}
	}
	add("", p)
	return clicks
}

// UpdateMenu records p like SetMenu; the click channels stay (actionable
// entries keep their labels in a same-shape update).
func (h *recordingHost) UpdateMenu(p []menuEntry) { h.menus = append(h.menus, p); h.updates++ }

// click delivers a click the way systray does: only if someone listens.
func (h *recordingHost) click(t *testing.T, path string) {
	t.Helper()
	ch, ok := h.chans[path]
	if !ok {
		t.Fatalf("no clickable tray entry %q", path)
	}
	select {
	case ch <- struct{}{}:
	case <-time.After(time.Second):
		t.Fatalf("nobody listens to tray entry %q", path)
	}
}

func labels(es []menuEntry) []string {
	var out []string
	for _, e := range es {
		if e.Separator {
			out = append(out, "---")
			continue
		}
		out = append(out, e.Label)
	}
	return out
}

// calls records the actions a tray ran.
type calls struct {
	mu  sync.Mutex
	got []string
}

func (c *calls) add(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.got = append(c.got, s)
}

func (c *calls) list() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.got)
}

func (c *calls) actions() TrayActions {
	return TrayActions{
		RefreshAll: func() { c.add("refresh all") },
		Refresh:    func(n string) { c.add("refresh " + n) },
		Open:       func() { c.add("open") },
		Settings:   func() { c.add("settings") },
		SignIn:     func(n string) { c.add("sign in " + n) },
		Quit:       func() { c.add("quit") },
	}
}

func newTestTray(a TrayActions) (*Tray, *recordingHost) {
	tr := NewTray(a, nil)
	h := &recordingHost{}
	tr.host = h
	tr.now = func() time.Time { return clock }
	tr.loc = time.UTC
	return tr, h
}

func TestPlan(t *testing.T) {
	var c calls
	all := c.actions()
	noSettings := all
	noSettings.Settings = nil
	onlyQuit := TrayActions{Quit: all.Quit}
	noOne := all
	noOne.Refresh, noOne.SignIn = nil, nil

	two := snap(needsSignInAccount("work"), needsSignInAccount("home"), okAccount("lab"))
	for _, tc := range []struct {
		name string
		snap state.Snapshot
		a    TrayActions
		want []string
	}{
		{"all actions", snap(okAccount("work")), all,
			[]string{"work — refreshed 12:04, next 13:04", "---", "Refresh now", "---", "Open tokentray", "Settings…", "---", "Quit"}},
		{"no settings", snap(okAccount("work")), noSettings,
			[]string{"work — refreshed 12:04, next 13:04", "---", "Refresh now", "---", "Open tokentray", "---", "Quit"}},
		{"only quit: no doubled separators", snap(okAccount("work")), onlyQuit,
			[]string{"work — refreshed 12:04, next 13:04", "---", "Quit"}},
		{"no per-account actions: submenus go", two, noOne,
			[]string{"work — needs sign-in", "home — needs sign-in", "lab — refreshed 12:04, next 13:04", "---", "Refresh now", "---", "Open tokentray", "Settings…", "---", "Quit"}},
		{"nothing", snap(), TrayActions{}, []string{"No accounts yet — open tokentray to add one"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := labels(plan(menuModel(tc.snap, clock, time.UTC), tc.a))
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("plan labels (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTrayRenderBeforeReady(t *testing.T) {
	var c calls
	tr, h := newTestTray(c.actions())
	tr.Render(snap(okAccount("work")))
	tr.Render(snap(needsSignInAccount("work")))
	if len(h.icons)+len(h.menus)+len(h.tooltips)+len(h.titles) != 0 {
		t.Fatalf("the tray was drawn before OnReady")
	}
	tr.OnReady()
	defer tr.Close()
	if diff := cmp.Diff([][]byte{assets.TraySignIn}, h.icons); diff != "" {
		t.Errorf("icons at ready (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"tokentray: work needs sign-in"}, h.tooltips); diff != "" {
		t.Errorf("tooltips at ready (-want +got):\n%s", diff)
	}
	if len(h.menus) != 1 || h.menus[0][0].Label != "work — needs sign-in" {
		t.Errorf("menus at ready = %v; want one showing the latest snapshot", h.menus)
	}
	if diff := cmp.Diff([]string{"tokentray"}, h.titles); diff != "" {
		t.Errorf("titles (-want +got):\n%s", diff)
	}
}

// The icon is set only when the tray state changes, the tooltip only when
// its text does, and the menu only when its plan does.
func TestTrayChangeDetection(t *testing.T) {
	var c calls
	tr, h := newTestTray(c.actions())
	tr.OnReady() // an empty snapshot: no accounts
	defer tr.Close()
	later := snap(okAccount("work"))
	later.At = clock.Add(time.Minute)
	moreHistory := okAccount("work")
	moreHistory.History = moreHistory.History[:2]
	steps := []struct {
		snap               state.Snapshot
		icons, tips, menus int
	}{
		{snap(okAccount("work")), 1, 2, 2}, // icon stays OK; tooltip and menu change
		{snap(okAccount("work")), 1, 2, 2}, // same snapshot: nothing
		{later, 1, 2, 2},                   // only the time moved
		{snap(moreHistory), 1, 2, 2},       // history is not in the tray
		{snap(refreshingAccount("work")), 2, 2, 3},
		{snap(okAccount("work")), 3, 2, 4},
		{snap(backingOffAccount("work")), 4, 3, 5},
	}
	for i, s := range steps {
		tr.Render(s.snap)
		if got := []int{len(h.icons), len(h.tooltips), len(h.menus)}; !slices.Equal(got, []int{s.icons, s.tips, s.menus}) {
			t.Errorf("step %d: icons, tooltips, menus set = %v; want %v", i, got, []int{s.icons, s.tips, s.menus})
		}
	}
	if diff := cmp.Diff([][]byte{assets.TrayOK, assets.TrayRefreshing, assets.TrayOK, assets.TrayWarning}, h.icons); diff != "" {
		t.Errorf("icons (-want +got):\n%s", diff)
	}
}

func TestTrayClicks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var c calls
		tr, h := newTestTray(c.actions())
		tr.Render(snap(needsSignInAccount("work"), okAccount("home")))
		tr.OnReady()
		for _, e := range []string{"Refresh now", "Refresh one account/home", "Sign in again…", "Open tokentray", "Settings…"} {
			h.click(t, e)
			synctest.Wait() // each action runs on its own goroutine
		}
		want := []string{"refresh all", "refresh home", "sign in work", "open", "settings"}
		if diff := cmp.Diff(want, c.list()); diff != "" {
			t.Errorf("actions after clicks (-want +got):\n%s", diff)
		}

		// A rebuild closes the old channels; the new menu's clicks work.
		old := h.chans["Open tokentray"]
		tr.Render(snap(okAccount("work"), okAccount("home")))
		if _, ok := h.chans["Sign in again…"]; ok {
			t.Errorf("Sign in again… is still in the menu after both accounts are OK")
		}
		if _, open := <-old; open {
			t.Errorf("the old menu's channel is still open")
		}
		h.click(t, "Refresh one account/work")
		synctest.Wait()
		h.click(t, "Quit")
		synctest.Wait()
		want = append(want, "refresh work", "quit")
		if diff := cmp.Diff(want, c.list()); diff != "" {
			t.Errorf("actions after a rebuild (-want +got):\n%s", diff)
		}

		tr.Close()
		select {
		case h.chans["Quit"] <- struct{}{}:
			t.Errorf("a closed tray still listens for clicks")
		default:
		}
		tr.Render(snap(needsSignInAccount("work")))
		if len(h.menus) != 2 {
			t.Errorf("a closed tray rebuilt its menu")
		}
	})
}

func TestIconBytes(t *testing.T) {
	if got := iconBytes(TrayWarning, "linux"); !bytes.Equal(got, assets.TrayWarning) {
		t.Errorf("linux icon is not the PNG")
	}
	ico := iconBytes(TrayWarning, "windows")
	le := binary.LittleEndian
	if le.Uint16(ico[0:]) != 0 || le.Uint16(ico[2:]) != 1 || le.Uint16(ico[4:]) != 1 {
		t.Fatalf("ICO header = % x; want 00 00 01 00 01 00", ico[:6])
	}
	if ico[6] != 64 || ico[7] != 64 {
		t.Errorf("ICO entry size = %d×%d; want 64×64", ico[6], ico[7])
	}
	size, off := le.Uint32(ico[14:]), le.Uint32(ico[18:])
	if int(off)+int(size) != len(ico) {
		t.Errorf("ICO entry at %d+%d; file is %d bytes", off, size, len(ico))
	}
	if _, err := png.Decode(bytes.NewReader(ico[off:])); err != nil {
		t.Errorf("ICO entry is not the PNG: %v", err)
	}
}

func TestEpisodesOncePerEpisode(t *testing.T) {
	var n Episodes
	failing := func() state.AccountStatus { a := backingOffAccount("work"); a.State = state.Failing; return a }
	steps := []struct {
		snap state.Snapshot
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
		{snap(failing()), 1},
		{snap(failing()), 0},
		{snap(needsSignInAccount("work"), needsSignInAccount("home")), 2},
	}
	for i, s := range steps {
		if got := n.Update(s.snap); len(got) != s.want {
			t.Errorf("step %d: %d notes; want %d", i, len(got), s.want)
		}
	}
	got := (&Episodes{}).Update(snap(needsSignInAccount("work")))
	want := []Note{{Title: "tokentray", Body: "work needs sign-in: automatic refresh has stopped. Open tokentray and choose Sign in. (the refresh token was revoked (AADSTS50173))"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("note (-want +got):\n%s", diff)
	}
}

// A status line that changes (the common case: every refresh) is updated in
// place, so the items and their click channels stay: fyne.io/systray's
// ResetMenu closes channels a click being delivered may still send on, a
// panic that would end the keeper. A change of shape rebuilds.
func TestTrayUpdatesInPlaceUnlessTheShapeChanges(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var c calls
		tr, h := newTestTray(c.actions())
		tr.Render(snap(okAccount("work")))
		tr.OnReady()
		defer tr.Close()
		ch := h.chans["Refresh now"]

		tr.Render(snap(refreshingAccount("work"))) // only the status line changes
		if h.updates != 1 || h.chans["Refresh now"] != ch {
			t.Fatalf("after a status-line change: %d in-place updates, channel kept %v; want 1 and the same channel", h.updates, h.chans["Refresh now"] == ch)
		}
		h.click(t, "Refresh now")
		synctest.Wait()
		if diff := cmp.Diff([]string{"refresh all"}, c.list()); diff != "" {
			t.Errorf("click after an in-place update (-want +got):\n%s", diff)
		}

		tr.Render(snap(okAccount("work"), okAccount("home"))) // a second account: new shape
		if h.updates != 1 || h.chans["Refresh now"] == ch {
			t.Errorf("after an account was added: %d in-place updates, channel replaced %v; want a rebuild", h.updates, h.chans["Refresh now"] != ch)
		}
	})
}
