package window

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"
	"github.com/google/go-cmp/cmp"

	"github.com/tokentray/tokentray/internal/config"
	"github.com/tokentray/tokentray/internal/state"
)

// startWindow runs Start with k; stop cancels it and waits for every
// goroutine it started.
func startWindow(t *testing.T, o Options) (w *Window, stop func()) {
	t.Helper()
	a := test.NewTempApp(t)
	o.Now = func() time.Time { return clock }
	o.Location = time.UTC
	if o.Info.Settings.Refresh.IntervalHours == 0 {
		o.Info.Settings = config.Defaults()
		o.Info.FileSettings = config.Defaults()
	}
	w = New(a, o)
	w.do = serialised()
	w.tickEvery = time.Hour // the countdown is tested through tick
	w.retryMin, w.retryMax = time.Millisecond, 4*time.Millisecond
	ctx, cancel := context.WithCancel(t.Context())
	w.Start(ctx)
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		w.wg.Wait()
	}
	t.Cleanup(stop)
	return w, stop
}

// eventually waits up to a second for cond, checked as the window's
// goroutines would touch it.
func eventually(t *testing.T, w *Window, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Second)
	for {
		var ok bool
		w.do(func() { ok = cond() })
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// Start shows the window, follows the stream, shows "not running" when it
// ends and reconnects by itself when the keeper is back.
func TestStartFollowsAndReconnects(t *testing.T) {
	k := &fakeKeeper{streams: make(chan chan state.Snapshot)}
	var started atomic.Int32
	w, stop := startWindow(t, Options{Keeper: k, StartKeeper: func() error { started.Add(1); return nil }})
	w.do(func() {
		if !w.notRunning.box.Visible() || w.notRunning.text.Text != "Connecting to tokentray…" {
			t.Errorf("before the first snapshot the banner says %q (visible %v)", w.notRunning.text.Text, w.notRunning.box.Visible())
		}
	})

	first := make(chan state.Snapshot)
	k.streams <- first
	first <- snap(okAccount("work"))
	eventually(t, w, "the first snapshot", func() bool { _, ok := w.cards["work"]; return ok && !w.notRunning.box.Visible() })
	close(first) // the keeper went away

	eventually(t, w, "the not-running banner", func() bool {
		return w.notRunning.box.Visible() && w.notRunning.text.Text == "tokentray is not running."
	})
	w.do(func() { test.Tap(w.notRunning.start) })
	eventually(t, w, "StartKeeper", func() bool { return started.Load() == 1 })

	second := make(chan state.Snapshot)
	k.streams <- second // the re-subscription after a restart
	second <- snap(needsSignInAccount("work"))
	eventually(t, w, "the reconnected snapshot", func() bool {
		return !w.notRunning.box.Visible() && w.snap.Accounts[0].State == state.NeedsSignIn
	})
	stop()
	if n := strings.Count(strings.Join(k.called(), ","), "subscribe"); n < 2 {
		t.Errorf("Subscribe called %d times; want a re-subscription", n)
	}
}

// follow backs off while the keeper stays away and starts over once
// snapshots flowed.
func TestFollowBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := &fakeKeeper{streams: make(chan chan state.Snapshot)}
		ctx, cancel := context.WithCancel(t.Context())
		var lost []time.Duration
		start := time.Now()
		done := make(chan struct{})
		go func() {
			defer close(done)
			follow(ctx, k, 500*time.Millisecond, 2*time.Second, func(state.Snapshot) {}, func() { lost = append(lost, time.Since(start)) })
		}()
		empty := func() {
			ch := make(chan state.Snapshot)
			close(ch)
			k.streams <- ch
		}
		for range 5 {
			empty()
		}
		ch := make(chan state.Snapshot, 1)
		ch <- snap()
		close(ch)
		k.streams <- ch
		empty()
		synctest.Wait()
		cancel()
		<-done
		// lost at 0, then after waits of 0.5, 1, 2, 2, 2 (max); snapshots
		// flowed, so the next wait is 0.5 again.
		want := []time.Duration{0, 500 * time.Millisecond, 1500 * time.Millisecond, 3500 * time.Millisecond, 5500 * time.Millisecond, 7500 * time.Millisecond, 8000 * time.Millisecond}
		if diff := cmp.Diff(want, lost); diff != "" {
			t.Errorf("connection lost at (-want +got):\n%s", diff)
		}
	})
}

func TestCloseQuitsWindowOnly(t *testing.T) {
	k := &fakeKeeper{}
	w, stop := startWindow(t, Options{Keeper: k})
	w.win.Close()
	stop()
	for _, c := range k.called() {
		if c == "quit" {
			t.Errorf("closing the window quit the keeper")
		}
	}
}

func TestRefreshButtonOutcome(t *testing.T) {
	refused := &state.Refused{Reason: state.RefusedRetryAfter, Until: at("12:45")}
	for _, tc := range []struct {
		name string
		res  state.Result
		err  error
		want string
		bad  bool
	}{
		{"fresh", state.Result{Fresh: true, Saved: true}, nil, "Refreshed: new token from provider.", false},
		{"same", state.Result{Saved: true}, nil, "Refreshed: provider returned the same token.", false},
		{"skipped", state.Result{Skipped: true, Saved: true}, nil, "No request needed: another tokentray process had just refreshed.", false},
		{"not saved", state.Result{Fresh: true}, nil, "Refreshed (new token from provider), but saving failed; the token is kept in memory.", false},
		{"refused", state.Result{}, fmt.Errorf("refresh account %q: %w", "work", refused), refused.Error(), true},
		{"failed", state.Result{}, errProviderDown, "Refresh failed: provider down", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := &fakeKeeper{result: tc.res, err: tc.err}
			w, _ := newTestWindow(t, Options{Keeper: k})
			w.render(t.Context(), snap(okAccount("work")))
			c := w.cards["work"]
			test.Tap(c.refresh)
			w.wg.Wait()
			if diff := cmp.Diff([]string{"refresh work"}, k.called()); diff != "" {
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
	k := &fakeKeeper{}
	w, win := newTestWindow(t, Options{Keeper: k})
	w.render(t.Context(), snap(okAccount("work")))
	test.Tap(w.cards["work"].signOut)
	if len(k.called()) != 0 {
		t.Fatalf("signed out before the user confirmed")
	}
	yes := findButton(t, win.Canvas().Overlays().Top(), "Yes")
	test.Tap(yes)
	w.wg.Wait()
	if diff := cmp.Diff([]string{"sign out work"}, k.called()); diff != "" {
		t.Errorf("keeper calls (-want +got):\n%s", diff)
	}
	if got := w.cards["work"].message.Text; got != "Signed out." {
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
	k := &fakeKeeper{err: errProviderDown}
	w, win := newTestWindow(t, Options{Keeper: k})
	w.render(t.Context(), snap())
	test.Tap(findButton(t, win.Content(), "Try the demo account"))
	w.wg.Wait()
	if diff := cmp.Diff([]string{"start demo"}, k.called()); diff != "" {
		t.Errorf("keeper calls (-want +got):\n%s", diff)
	}
	found := false
	for _, obj := range test.LaidOutObjects(win.Content()) {
		if l, ok := obj.(*widget.Label); ok && l.Text == "The demo did not start: provider down" && l.Visible() {
			found = true
		}
	}
	if !found {
		t.Errorf("a failed demo start shows no message")
	}
}

func TestButtonsOpenWindows(t *testing.T) {
	w, _ := newTestWindow(t, Options{})
	w.render(t.Context(), snap(okAccount("work")))
	titles := func() []string {
		var out []string
		for _, win := range fyne.CurrentApp().Driver().AllWindows() {
			if win != w.win && win.Title() != "" {
				out = append(out, win.Title())
			}
		}
		return out
	}
	test.Tap(w.cards["work"].signIn)
	want := []string{"tokentray — Sign in work"}
	if diff := cmp.Diff(want, titles()); diff != "" {
		t.Errorf("windows opened (-want +got):\n%s", diff)
	}
}

// After a reconnect the window takes the new keeper's facts: after "Try the
// demo account" its settings are read-only (Save disabled) and after
// "Restart now" the saved settings are the running ones (nothing pending).
func TestReconnectTakesTheNewKeepersInfo(t *testing.T) {
	k := &fakeKeeper{streams: make(chan chan state.Snapshot)}
	w, _ := startWindow(t, Options{Keeper: k, Info: Info{ConfigPath: "/home/u/.config/tokentray/config.yaml"}})
	first := make(chan state.Snapshot)
	k.streams <- first
	first <- snap(okAccount("work"))
	eventually(t, w, "the first snapshot", func() bool { _, ok := w.cards["work"]; return ok })
	w.do(func() {
		if w.settings.save.Disabled() {
			t.Error("Save is disabled with a settings file to save to")
		}
	})

	k.mu.Lock()
	k.info = Info{Demo: true, Settings: config.Defaults(), FileSettings: config.Defaults()} // the demo: no file
	k.mu.Unlock()
	close(first) // the keeper restarts into the demo
	second := make(chan state.Snapshot)
	k.streams <- second
	second <- snap(okAccount("demo"))
	eventually(t, w, "the demo keeper's facts", func() bool { return w.o.Info.Demo && w.settings.save.Disabled() })
}
