package hooks

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tokentray/tokentray/internal/state"
)

func snap(as ...state.AccountStatus) state.Snapshot { return state.Snapshot{Accounts: as} }

func withState(a state.AccountStatus, s state.State) state.AccountStatus {
	a.State = s
	return a
}

func TestWatchEvents(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 20, 0, 0, 0, time.UTC)
	ok0 := okAccount("work", t0)
	ok1 := okAccount("work", t0.Add(time.Hour))
	two := ok1 // two refreshes coalesced into one snapshot
	two.History = append(append([]state.Event(nil), ok0.History...),
		state.Event{At: t0.Add(30 * time.Minute), Kind: state.EventOK}, state.Event{At: t0.Add(time.Hour), Kind: state.EventOK})
	failed := withState(ok0, state.Failing)
	failed.History = append(failed.History, state.Event{At: t0.Add(time.Minute), Kind: state.EventFailed})
	tests := []struct {
		name  string
		snaps []state.Snapshot
		want  [][]Event
	}{
		{"baseline announces no refresh", []state.Snapshot{snap(ok0)}, [][]Event{nil}},
		{"each refresh", []state.Snapshot{snap(ok0), snap(ok1), snap(ok1)}, [][]Event{nil, {Refreshed}, nil}},
		{"coalesced refreshes each count", []state.Snapshot{snap(ok0), snap(two)}, [][]Event{nil, {Refreshed, Refreshed}}},
		{"needs sign-in once per episode, then recovered", []state.Snapshot{
			snap(ok0), snap(withState(ok0, state.NeedsSignIn)), snap(withState(ok0, state.Refreshing)), snap(withState(ok0, state.NeedsSignIn)), snap(ok1),
		}, [][]Event{nil, {NeedsSignIn}, nil, nil, {Refreshed, Recovered}}},
		{"failing once, from failing to needs sign-in is a new episode", []state.Snapshot{
			snap(ok0), snap(failed), snap(failed), snap(withState(failed, state.NeedsSignIn)),
		}, [][]Event{nil, {Failing}, nil, {NeedsSignIn}}},
		{"backing off is no episode, and OK after it no recovery", []state.Snapshot{
			snap(ok0), snap(withState(ok0, state.BackingOff)), snap(ok0),
		}, [][]Event{nil, nil, nil}},
		{"signed out ends an episode without recovery", []state.Snapshot{
			snap(withState(ok0, state.NeedsSignIn)), snap(withState(ok0, state.SignedOut)), snap(ok0),
		}, [][]Event{{NeedsSignIn}, nil, nil}},
		{"an account added later: refreshes after its first sight", []state.Snapshot{
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
