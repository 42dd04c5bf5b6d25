package state

// Episodes is the keeper's one rule for trouble worth telling the user
// about, read from successive snapshots: an account entering NeedsSignIn or
// Failing starts an episode, announced once; a refresh in flight
// (Refreshing) does not end it; any other state does. The keeper's desktop
// notifications (ui.Episodes) and its hooks (hooks.Watch) both follow it;
// the engine itself notifies no one.
//
// The zero value is ready. It is not safe for concurrent use.
type Episodes struct {
	open map[string]State // account → state whose episode was announced
}

// EpisodeChange is one account's episode starting or ending.
type EpisodeChange struct {
	Account AccountStatus
	// Started: an episode of Account.State (NeedsSignIn or Failing)
	// started. Otherwise the episode of Ended ended, and Account.State is
	// where the account went.
	Started bool
	Ended   State
}

// Update returns the episode changes snapshot s brings. An account that
// leaves one kind of episode for the other (Failing → NeedsSignIn) starts
// the new one without a separate end. An account gone from the snapshot
// ends its episode silently.
func (e *Episodes) Update(s Snapshot) []EpisodeChange {
	if e.open == nil {
		e.open = map[string]State{}
	}
	var out []EpisodeChange
	seen := map[string]bool{}
	for _, a := range s.Accounts {
		seen[a.Name] = true
		prev, inEpisode := e.open[a.Name]
		switch a.State {
		case NeedsSignIn, Failing:
			if prev == a.State {
				continue
			}
			e.open[a.Name] = a.State
			out = append(out, EpisodeChange{Account: a, Started: true})
		case Refreshing:
			// a refresh inside an episode does not end it
		default:
			if inEpisode {
				delete(e.open, a.Name)
				out = append(out, EpisodeChange{Account: a, Ended: prev})
			}
		}
	}
	for name := range e.open {
		if !seen[name] {
			delete(e.open, name)
		}
	}
	return out
}
