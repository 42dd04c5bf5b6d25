package ui

import (
	"time"

	"github.com/tokentray/tokentray/internal/engine"
)

// Note is one desktop notification.
type Note struct {
	Title, Body string
}

// Episodes turns snapshots into notes, one per episode: an account that
// needs sign-in or is failing is announced when it enters that state and not
// again until it has left it. The zero value is ready; it is not safe for
// concurrent use (the keeper feeds it from its one snapshot loop).
type Episodes struct {
	open map[string]engine.State // account → state whose episode was announced

	// RadarDays is radar.notify_days: an account whose radar says it needs
	// an interactive sign-in within that many days is announced once per
	// sign-in date (radar.go). 0: never.
	RadarDays int
	// Loc is the time zone of the dates in notes; nil means time.Local.
	Loc *time.Location

	radarSent map[string]time.Time // account → sign-in date announced
}

// Update returns the notes snapshot s starts.
func (n *Episodes) Update(s engine.Snapshot) []Note {
	if n.open == nil {
		n.open = map[string]engine.State{}
	}
	var out []Note
	seen := map[string]bool{}
	for _, a := range s.Accounts {
		seen[a.Name] = true
		var msg string
		switch a.State {
		case engine.NeedsSignIn:
			msg = a.Name + " needs sign-in: automatic refresh has stopped. Open tokentray and choose Sign in."
		case engine.Failing:
			msg = a.Name + " keeps failing to refresh; tokentray keeps retrying. Open tokentray to see the error."
		case engine.Refreshing:
			continue // a refresh inside an episode does not end it
		default:
			delete(n.open, a.Name)
			continue
		}
		if n.open[a.Name] == a.State {
			continue
		}
		n.open[a.Name] = a.State
		if a.Reason != "" {
			msg += " (" + a.Reason + ")"
		}
		out = append(out, Note{Title: "tokentray", Body: msg})
	}
	for name := range n.open {
		if !seen[name] {
			delete(n.open, name)
		}
	}
	return append(out, n.radarNotes(s, seen)...)
}
