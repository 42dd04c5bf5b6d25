package ui

import (
	"fyne.io/fyne/v2"

	"github.com/tokentray/tokentray/internal/engine"
)

// notifier turns snapshots into desktop notifications, one per episode: an
// account that needs sign-in or is failing is announced when it enters that
// state and not again until it has left it.
type notifier struct {
	open map[string]engine.State // account → state whose episode was announced
}

// update returns the notifications snapshot s starts.
func (n *notifier) update(s engine.Snapshot) []*fyne.Notification {
	var out []*fyne.Notification
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
		out = append(out, fyne.NewNotification("tokentray", msg))
	}
	for name := range n.open {
		if !seen[name] {
			delete(n.open, name)
		}
	}
	return out
}
