package ui

import (
	"testing"

	"github.com/tokentray/tokentray/internal/engine"
	"github.com/tokentray/tokentray/internal/hooks"
)

// TestEpisodesMatchHooks: the keeper's notifications and its needs-sign-in
// and failing hooks follow one episode rule: on any sequence of states both
// announce the same account entering the same state at the same snapshot.
func TestEpisodesMatchHooks(t *testing.T) {
	states := []engine.State{engine.OK, engine.Refreshing, engine.BackingOff, engine.Failing, engine.NeedsSignIn, engine.SignedOut, engine.StorageDegraded}
	// Every sequence of four states of one account, after each start state.
	var seqs [][]engine.State
	var gen func(prefix []engine.State)
	gen = func(prefix []engine.State) {
		if len(prefix) == 4 {
			seqs = append(seqs, append([]engine.State(nil), prefix...))
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
			s := engine.Snapshot{Accounts: []engine.AccountStatus{{Name: "work", State: st}}}
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
