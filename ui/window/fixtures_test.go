package window

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/tokentray/tokentray/internal/config"
	"github.com/tokentray/tokentray/internal/state"
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

// history is a working day of hourly refreshes: from 13:04 yesterday until
// the laptop slept at 22:30, then from 07:04 today, twice answered with the
// token it already had, once failed (at 09:04, retried at 09:10).
func history() []state.Event {
	var h []state.Event
	var expiry time.Time
	ok := func(t time.Time, fresh bool) {
		if fresh {
			expiry = t.Add(65 * time.Minute)
		}
		h = append(h, state.Event{At: t, Kind: state.EventOK, Fresh: fresh, Expiry: expiry})
	}
	for hh := 13; hh <= 22; hh++ {
		ok(at(fmt.Sprintf("%02d:04", hh)).Add(-24*time.Hour), true)
	}
	ok(at("07:04"), true)
	ok(at("08:04"), false)
	h = append(h, state.Event{At: at("09:04"), Kind: state.EventFailed})
	ok(at("09:10"), true)
	ok(at("10:04"), true)
	ok(at("11:04"), false)
	ok(at("12:04"), true)
	return h
}

// The ids of the fixture's sign-in error, which Copy details must carry.
const (
	fixtureTraceID       = "4c1f6a2e-93b1-4d7e-9a55-0e2b7c1d3f00"
	fixtureCorrelationID = "b7e0c9d4-2f61-4a8b-8c3e-5d9f1a6b2e11"
)

func okAccount(name string) state.AccountStatus {
	return state.AccountStatus{
		Name: name, Provider: "microsoft", State: state.OK,
		SignedInAs:  state.Identity{Name: "Ada Lovelace", Username: "ada@contoso.test"},
		LastAttempt: at("12:04"), LastSuccess: at("12:04"), Fresh: true,
		NextDue: at("13:04"), AccessExpiry: at("13:09"),
		Storage: state.Storage{Kind: "keychain"},
		History: history(),
	}
}

func refreshingAccount(name string) state.AccountStatus {
	a := okAccount(name)
	a.State = state.Refreshing
	return a
}

func backingOffAccount(name string) state.AccountStatus {
	a := okAccount(name)
	a.State = state.BackingOff
	a.Failures = 3
	a.NextDue = at("12:40")
	a.BackoffUntil = at("12:40")
	a.LastAttempt = at("12:25")
	a.LastError = &state.ErrorInfo{Class: state.ClassTransient, Message: "temporary provider problem, will retry: http 503 Service Unavailable", At: at("12:25"), HTTPStatus: 503}
	a.History = append(a.History, state.Event{At: at("12:25"), Kind: state.EventFailed})
	return a
}

func needsSignInAccount(name string) state.AccountStatus {
	a := okAccount(name)
	a.State = state.NeedsSignIn
	a.NextDue = time.Time{}
	a.Reason = "sign in again: the provider ended this sign-in (AADSTS70043: refresh token expired under a conditional access sign-in frequency policy)"
	a.LastAttempt = at("12:20")
	a.LastError = &state.ErrorInfo{
		Class: state.ClassPermanent, Message: a.Reason, At: at("12:20"),
		Code: "invalid_grant", AADSTS: []int{70043}, HTTPStatus: 400,
		TraceID: fixtureTraceID, CorrelationID: fixtureCorrelationID,
	}
	a.History = append(a.History, state.Event{At: at("12:20"), Kind: state.EventFailed})
	return a
}

func degradedAccount(name string) state.AccountStatus {
	a := okAccount(name)
	a.State = state.StorageDegraded
	a.Storage = state.Storage{Kind: "keychain", Degraded: true}
	a.LastError = &state.ErrorInfo{Class: state.ClassStorage, Message: "the keychain is locked", At: at("12:04")}
	return a
}

func snap(as ...state.AccountStatus) state.Snapshot {
	return state.Snapshot{At: clock, Accounts: as}
}

// fakeKeeper answers every action with what the test set and records the
// calls. Each Subscribe takes the next stream the test sends on streams
// (blocking until one comes, or ctx ends).
type fakeKeeper struct {
	mu      sync.Mutex
	calls   []string
	saved   []config.Settings
	result  state.Result
	err     error
	signIn  func(ctx context.Context, account string, device bool, show func(code, url string)) error
	streams chan chan state.Snapshot
	info    Info  // what Info answers (a keeper after a reconnect)
	uses    []Use // what RecentUse answers
}

func (k *fakeKeeper) record(s string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.calls = append(k.calls, s)
	return k.err
}

func (k *fakeKeeper) called() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return slices.Clone(k.calls)
}

func (k *fakeKeeper) Subscribe(ctx context.Context) <-chan state.Snapshot {
	k.record("subscribe")
	if k.streams == nil {
		ch := make(chan state.Snapshot)
		close(ch)
		return ch
	}
	out := make(chan state.Snapshot)
	var in chan state.Snapshot
	select {
	case in = <-k.streams:
	case <-ctx.Done():
		close(out)
		return out
	}
	go func() { // like the real one: ends with the stream or with ctx
		defer close(out)
		for {
			select {
			case <-ctx.Done():
				return
			case s, ok := <-in:
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

func (k *fakeKeeper) RefreshNow(_ context.Context, name string) (state.Result, error) {
	err := k.record("refresh " + name)
	return k.result, err
}

func (k *fakeKeeper) RefreshAll(context.Context) error { return k.record("refresh all") }

func (k *fakeKeeper) SignIn(ctx context.Context, name string, device bool, show func(code, url string)) error {
	k.record(fmt.Sprintf("sign in %s device=%v", name, device))
	if k.signIn != nil {
		return k.signIn(ctx, name, device, show)
	}
	return nil
}

func (k *fakeKeeper) SignOut(_ context.Context, name string) error {
	return k.record("sign out " + name)
}

func (k *fakeKeeper) AddAccount(_ context.Context, a config.Account) error {
	return k.record("add " + a.Name)
}

func (k *fakeKeeper) RemoveAccount(_ context.Context, name string) error {
	return k.record("remove " + name)
}

func (k *fakeKeeper) SaveSettings(_ context.Context, s config.Settings) error {
	k.mu.Lock()
	k.saved = append(k.saved, s)
	k.mu.Unlock()
	return k.record("save settings")
}

func (k *fakeKeeper) Restart(context.Context) error   { return k.record("restart") }
func (k *fakeKeeper) Quit(context.Context) error      { return k.record("quit") }
func (k *fakeKeeper) StartDemo(context.Context) error { return k.record("start demo") }

func (k *fakeKeeper) RecentUse(_ context.Context, limit int) ([]Use, error) {
	k.record(fmt.Sprintf("recent use %d", limit))
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.uses, k.err
}

func (k *fakeKeeper) Info(context.Context) (Info, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.info, nil
}

var errProviderDown = errors.New("provider down")

// newTestWindow builds a Window on a temporary test app with the fixed
// clock, connected to o.Keeper (a fresh fakeKeeper if nil), and its content
// in a test window of a fixed size.
func newTestWindow(t *testing.T, o Options) (*Window, fyne.Window) {
	t.Helper()
	a := test.NewTempApp(t)
	if o.Keeper == nil {
		o.Keeper = &fakeKeeper{}
	}
	if o.Now == nil {
		o.Now = func() time.Time { return clock }
	}
	if o.Location == nil {
		o.Location = time.UTC
	}
	if o.Info.Settings.Refresh.IntervalHours == 0 {
		o.Info.Settings = config.Defaults()
	}
	if o.Info.FileSettings.Refresh.IntervalHours == 0 {
		o.Info.FileSettings = o.Info.Settings
	}
	w := New(a, o)
	w.do = serialised()
	win := test.NewWindow(w.build(t.Context()))
	w.win = win
	w.connected = true
	win.Resize(fyne.NewSize(560, 900))
	t.Cleanup(win.Close)
	return w, win
}

// serialised stands in for fyne.Do: the test driver runs fyne.Do on the
// caller's goroutine, so without a lock the window's goroutines and the
// test would touch widgets at once (the real driver queues them).
func serialised() func(func()) {
	var mu sync.Mutex
	return func(f func()) {
		mu.Lock()
		defer mu.Unlock()
		f()
	}
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
