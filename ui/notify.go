package ui

import (
	"time"

	"github.com/tokentray/tokentray/internal/state"
)

// Note is one desktop notification.
type Note struct {
	Title, Body string
}

// Episodes turns snapshots into notes, one per episode (state.Episodes,
// the rule the hooks follow too): an account that needs sign-in or is
// failing is announced when it enters that state and not again until it has
// left it. The zero value is ready; it is not safe for
// concurrent use (the keeper feeds it from its one snapshot loop).
type Episodes struct {
	rule state.Episodes // when an episode starts (the keeper's one rule)

	// RadarDays is radar.notify_days: an account whose radar says it needs
	// an interactive sign-in within that many days is announced once per
	// sign-in date (radar.go). 0: never.
	RadarDays int
	// Loc is the time zone of the dates in notes; nil means time.Local.
	Loc *time.Location
	// Remind keeps the record of radar reminders where a restart does not
	// lose it: asked before a reminder is sent, it reports whether the
	// account's sign-in date is news, and records it (the keeper passes
	// engine.RemindRadar, which keeps it in the state file). nil: the
	// record is in memory only, and a restarted keeper reminds once more.
	Remind func(account string, signInBy time.Time) (bool, error)

	radarSent map[string]time.Time // account → sign-in date announced (or found announced)
}

// Update returns the notes snapshot s starts.
func (n *Episodes) Update(s state.Snapshot) []Note {
	var out []Note
	for _, c := range n.rule.Update(s) {
		if !c.Started {
			continue
		}
		a := c.Account
		var msg string
		switch a.State {
		case state.NeedsSignIn:
			msg = a.Name + " needs sign-in: automatic refresh has stopped. Open tokentray and choose Sign in."
		case state.Failing:
			msg = a.Name + " keeps failing to refresh; tokentray keeps retrying. Open tokentray to see the error."
		}
		if a.Reason != "" {
			msg += " (" + a.Reason + ")"
		}
		out = append(out, Note{Title: "tokentray", Body: msg})
	}
	seen := map[string]bool{}
	for _, a := range s.Accounts {
		seen[a.Name] = true
	}
	return append(out, n.radarNotes(s, seen)...)
}
