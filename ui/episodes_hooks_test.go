package ui

import (
	"testing"

	"github.com/tokentray/tokentray/internal/hooks"
	"github.com/tokentray/tokentray/internal/state"
)

// TestEpisodesMatchHooks: the keeper's notifications and its needs-sign-in
// and failing hooks follow one episode rule: on any sequence of states both
// announce the same account entering the same state at the same snapshot.
func TestEpisodesMatchHooks(t *testing.T) {
	states := []state.State{state.OK, state.Refreshing, state.BackingOff, state.Failing, state.NeedsSignIn, state.SignedOut, state.StorageDegraded}
	// Every sequence of four states of one account, after each start state.
	var seqs [][]state.State
	var gen func(prefix []state.State)
	gen = func(prefix []state.State) {
		if len(prefix) == 4 {
			seqs = append(seqs, append([]state.State(nil), prefix...))
			return
		}
		for _, s := range states {
			gen(append(prefix, s))
		}
	}
	gen(nil)
	for _, seq := range seqs {
		var eps Episodes
		var w hooks.Watch
		for i, st := range seq {
			s := state.Snapshot{Accounts: []state.AccountStatus{{Name: "work", State: st}}}
			notes := len(eps.Update(s))
			fired := 0
			for _, f := range w.Update(s) {
				if f.Event == hooks.NeedsSignIn || f.Event == hooks.Failing {
					fired++
				}
			}
			if notes != fired {
				t.Fatalf("states %v, step %d: %d notifications, %d episode hooks; want the same", seq, i, notes, fired)
			}
		}
	}
}
