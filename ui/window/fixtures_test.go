package ui

import (
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/tokentray/tokentray/internal/config"
	"github.com/tokentray/tokentray/internal/engine"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/ instead of comparing")

// clock is the fixed "now" of every test: 12:30 UTC.
var clock = time.Date(2026, 3, 10, 12, 30, 0, 0, time.UTC)

func at(hhmm string) time.Time {
	t, err := time.ParseInLocation("15:04", hhmm, time.UTC)
	if err != nil {
		panic(err)
	}
	return time.Date(clock.Year(), clock.Month(), clock.Day(), t.Hour(), t.Minute(), 0, 0, time.UTC)
}

// history is a day of hourly refreshes with one failure.
func history() []engine.Event {
	var h []engine.Event
	for _, hh := range []string{"06:04", "07:04", "08:04", "10:04", "11:04", "12:04"} {
		h = append(h, engine.Event{At: at(hh), Kind: engine.EventOK, Fresh: true, Expiry: at(hh).Add(65 * time.Minute)})
	}
	h = append(h[:3], append([]engine.Event{{At: at("09:04"), Kind: engine.EventFailed}}, h[3:]...)...)
	return h
}

func okAccount(name string) engine.AccountStatus {
	return engine.AccountStatus{
		Name: name, Provider: "microsoft", State: engine.OK,
		SignedInAs:  engine.Identity{Name: "Ada Lovelace", Username: "ada@contoso.test"},
		LastAttempt: at("12:04"), LastSuccess: at("12:04"), Fresh: true,
		NextDue: at("13:04"), AccessExpiry: at("13:09"),
		Storage: engine.Storage{Kind: "keychain"},
		History: history(),
	}
}

func refreshingAccount(name string) engine.AccountStatus {
	a := okAccount(name)
	a.State = engine.Refreshing
	return a
}

func backingOffAccount(name string) engine.AccountStatus {
	a := okAccount(name)
	a.State = engine.BackingOff
	a.Failures = 3
	a.NextDue = at("12:40")
	a.BackoffUntil = at("12:40")
	a.LastAttempt = at("12:25")
	a.LastError = &engine.ErrorInfo{Class: engine.ClassTransient, Message: "the provider is unavailable (HTTP 503)", At: at("12:25")}
	a.History = append(a.History, engine.Event{At: at("12:25"), Kind: engine.EventFailed})
	return a
}

func needsSignInAccount(name string) engine.AccountStatus {
	a := okAccount(name)
	a.State = engine.NeedsSignIn
	a.NextDue = time.Time{}
	a.Reason = "the refresh token was revoked (AADSTS50173)"
	a.LastAttempt = at("12:20")
	a.LastError = &engine.ErrorInfo{Class: engine.ClassPermanent, Message: "invalid_grant: the refresh token was revoked", At: at("12:20")}
	a.History = append(a.History, engine.Event{At: at("12:20"), Kind: engine.EventFailed})
	return a
}

func degradedAccount(name string) engine.AccountStatus {
	a := okAccount(name)
	a.State = engine.StorageDegraded
	a.Storage = engine.Storage{Kind: "keychain", Degraded: true}
	a.LastError = &engine.ErrorInfo{Class: engine.ClassStorage, Message: "the keychain is locked", At: at("12:04")}
	return a
}

func snap(as ...engine.AccountStatus) engine.Snapshot {
	return engine.Snapshot{At: clock, Accounts: as}
}

// scriptedEngine answers every action with what the test set and records
// the calls; it publishes snapshots the test sends on subs.
type scriptedEngine struct {
	mu        sync.Mutex
	snap      engine.Snapshot
	subs      chan engine.Snapshot
	refreshed []string
	signedOut []string
	result    engine.Result
	err       error
}

func (e *scriptedEngine) Snapshot() engine.Snapshot { return e.snap }

func (e *scriptedEngine) Subscribe(ctx context.Context) <-chan engine.Snapshot {
	out := make(chan engine.Snapshot)
	go func() {
		defer close(out)
		for {
			select {
			case <-ctx.Done():
				return
			case s, ok := <-e.subs:
				if !ok {
					return
				}
				select {
				case out <- s:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out
}

func (e *scriptedEngine) RefreshNow(_ context.Context, name string) (engine.Result, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.refreshed = append(e.refreshed, name)
	return e.result, e.err
}

func (e *scriptedEngine) RefreshAll(context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.refreshed = append(e.refreshed, "*")
	return e.err
}

func (e *scriptedEngine) SignOut(_ context.Context, name string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.signedOut = append(e.signedOut, name)
	return e.err
}

var errProviderDown = errors.New("provider down")

// newTestUI builds a UI on a temporary test app with the fixed clock, and
// its window content in a test window of a fixed size.
func newTestUI(t *testing.T, o Options) (*UI, fyne.Window) {
	t.Helper()
	a := test.NewTempApp(t)
	if o.Now == nil {
		o.Now = func() time.Time { return clock }
	}
	if o.Location == nil {
		o.Location = time.UTC
	}
	if o.Settings.Refresh.IntervalHours == 0 {
		o.Settings = config.Defaults()
	}
	u := New(a, o)
	w := test.NewWindow(u.build(t.Context()))
	u.win = w
	w.Resize(fyne.NewSize(560, 900))
	t.Cleanup(w.Close)
	return u, w
}

// assertGolden compares the canvas with testdata/name, or rewrites it
// with -update.
func assertGolden(t *testing.T, name string, c fyne.Canvas) {
	t.Helper()
	if *update {
		if err := os.WriteFile(filepath.Join("testdata", name), []byte(test.RenderToMarkup(c)), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	test.AssertRendersToMarkup(t, name, c)
}
