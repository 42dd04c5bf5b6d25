// Package hooks runs the user's commands on account events — refreshed,
// needs sign-in, failing, recovered — that it derives from the engine's
// snapshots. Hooks get the account, state and expiry in environment
// variables, never a token; they run bounded in time and output, one at a
// time per account and event, and never hold up the engine.
package hooks

import (
	"time"

	"github.com/tokentray/tokentray/internal/state"
)

// Event is what happened to an account.
type Event string

// The events a hook can run on.
const (
	Refreshed   Event = "refreshed"     // each successful refresh (a new token was obtained or adopted)
	NeedsSignIn Event = "needs_sign_in" // the account came to need sign-in (once per episode)
	Failing     Event = "failing"       // the account started failing (once per episode)
	Recovered   Event = "recovered"     // the account is OK again after needing sign-in or failing
)

// Events lists every event in the order documentation names them.
var Events = []Event{Refreshed, NeedsSignIn, Failing, Recovered}

// Fired is one event of one account, with the account's status when it
// happened.
type Fired struct {
	Event   Event
	Account state.AccountStatus
}

// Watch turns successive snapshots into events. Its episodes are
// state.Episodes, the rule of the keeper's desktop notifications too:
// needing sign-in or failing is announced when an account enters that state
// and not again until it has left it; a refresh in flight does not end an
// episode. On top of it, leaving an episode for OK is Recovered, and every
// successful refresh in an account's history is Refreshed. The first snapshot sets the
// baseline: refreshes it already holds are not announced.
//
// The zero value is ready. It is not safe for concurrent use.
type Watch struct {
	rule    state.Episodes
	lastOK  map[string]time.Time // account → newest successful refresh announced (or seen at the baseline)
	started bool
}

// Update returns the events snapshot s brings.
func (w *Watch) Update(s state.Snapshot) []Fired {
	if w.lastOK == nil {
		w.lastOK = map[string]time.Time{}
	}
	baseline := !w.started
	w.started = true
	var out []Fired
	seen := map[string]bool{}
	for _, a := range s.Accounts {
		seen[a.Name] = true
		last, known := w.lastOK[a.Name]
		newest := last
		for _, ev := range a.History {
			if ev.Kind != state.EventOK || !ev.At.After(last) {
				continue
			}
			if !baseline && known {
				out = append(out, Fired{Event: Refreshed, Account: a})
			}
			if ev.At.After(newest) {
				newest = ev.At
			}
		}
		if a.LastSuccess.After(newest) { // a success older than the kept history
			if !baseline && known && newest.Equal(last) {
				out = append(out, Fired{Event: Refreshed, Account: a})
			}
			newest = a.LastSuccess
		}
		w.lastOK[a.Name] = newest
	}
	for _, c := range w.rule.Update(s) {
		switch {
		case c.Started && c.Account.State == state.NeedsSignIn:
			out = append(out, Fired{Event: NeedsSignIn, Account: c.Account})
		case c.Started:
			out = append(out, Fired{Event: Failing, Account: c.Account})
		case c.Account.State == state.OK:
			out = append(out, Fired{Event: Recovered, Account: c.Account})
		}
	}
	for name := range w.lastOK {
		if !seen[name] {
			delete(w.lastOK, name)
		}
	}
	return out
}
