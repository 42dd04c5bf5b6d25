package hooks

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tokentray/tokentray/internal/engine"
)

func snap(as ...engine.AccountStatus) engine.Snapshot { return engine.Snapshot{Accounts: as} }

func withState(a engine.AccountStatus, s engine.State) engine.AccountStatus {
	a.State = s
	return a
}

func TestWatchEvents(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 20, 0, 0, 0, time.UTC)
	ok0 := okAccount("work", t0)
	ok1 := okAccount("work", t0.Add(time.Hour))
	two := ok1 // two refreshes coalesced into one snapshot
	two.History = append(append([]engine.Event(nil), ok0.History...),
		engine.Event{At: t0.Add(30 * time.Minute), Kind: engine.EventOK}, engine.Event{At: t0.Add(time.Hour), Kind: engine.EventOK})
	failed := withState(ok0, engine.Failing)
	failed.History = append(failed.History, engine.Event{At: t0.Add(time.Minute), Kind: engine.EventFailed})
	tests := []struct {
		name  string
		snaps []engine.Snapshot
		want  [][]Event
	}{
		{"baseline announces no refresh", []engine.Snapshot{snap(ok0)}, [][]Event{nil}},
		{"each refresh", []engine.Snapshot{snap(ok0), snap(ok1), snap(ok1)}, [][]Event{nil, {Refreshed}, nil}},
		{"coalesced refreshes each count", []engine.Snapshot{snap(ok0), snap(two)}, [][]Event{nil, {Refreshed, Refreshed}}},
		{"needs sign-in once per episode, then recovered", []engine.Snapshot{
			snap(ok0), snap(withState(ok0, engine.NeedsSignIn)), snap(withState(ok0, engine.Refreshing)), snap(withState(ok0, engine.NeedsSignIn)), snap(ok1),
		}, [][]Event{nil, {NeedsSignIn}, nil, nil, {Refreshed, Recovered}}},
		{"failing once, from failing to needs sign-in is a new episode", []engine.Snapshot{
			snap(ok0), snap(failed), snap(failed), snap(withState(failed, engine.NeedsSignIn)),
		}, [][]Event{nil, {Failing}, nil, {NeedsSignIn}}},
		{"backing off is no episode, and OK after it no recovery", []engine.Snapshot{
			snap(ok0), snap(withState(ok0, engine.BackingOff)), snap(ok0),
		}, [][]Event{nil, nil, nil}},
		{"signed out ends an episode without recovery", []engine.Snapshot{
			snap(withState(ok0, engine.NeedsSignIn)), snap(withState(ok0, engine.SignedOut)), snap(ok0),
		}, [][]Event{{NeedsSignIn}, nil, nil}},
		{"an account added later: refreshes after its first sight", []engine.Snapshot{
			snap(), snap(okAccount("new", t0)), snap(okAccount("new", t0.Add(time.Hour))),
		}, [][]Event{nil, nil, {Refreshed}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w Watch
			for i, s := range tt.snaps {
				var got []Event
				for _, f := range w.Update(s) {
					got = append(got, f.Event)
				}
				if diff := cmp.Diff(tt.want[i], got); diff != "" {
					t.Errorf("Update(snapshot %d) events (-want +got):\n%s", i, diff)
				}
			}
		})
	}
}
