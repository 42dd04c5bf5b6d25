package engine

import (
	"context"
	"maps"

	"github.com/tokentray/tokentray/internal/state"
)

// Snapshot returns the current state of every account, in the order the
// accounts were added, and the counters.
func (e *Engine) Snapshot() state.Snapshot {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.snapshotLocked()
}

func (e *Engine) snapshotLocked() state.Snapshot {
	now := e.now()
	s := state.Snapshot{At: now, Accounts: make([]state.AccountStatus, 0, len(e.accts)), Counters: state.Counters{
		RefreshSuccessTotal: e.counters.RefreshSuccessTotal,
		RefreshFailedTotal:  maps.Clone(e.counters.RefreshFailedTotal),
		RefreshSkippedTotal: e.counters.RefreshSkippedTotal,
	}}
	for _, a := range e.accts {
		st := state.AccountStatus{
			Name:         a.name,
			Provider:     a.profile.Provider,
			Cloud:        a.profile.Cloud,
			State:        a.state,
			Reason:       a.reason,
			LastAttempt:  a.lastAttempt,
			LastSuccess:  a.lastSuccess,
			Fresh:        a.fresh,
			AccessExpiry: a.env.Expiry,
			Storage:      state.Storage{Kind: e.kind, Degraded: a.unsaved},
			Failures:     a.failures,
			History:      a.events(now),
			Radar:        radarOf(a),
			Scoped:       a.scopedStatusLocked(now),
		}
		if a.busy {
			st.State = state.Refreshing
		}
		if a.haveEnv {
			c := a.env.Claims
			st.SignedInAs = state.Identity{Name: c.Name, Username: c.PreferredUsername, TenantID: c.TenantID, Subject: c.Subject}
		}
		if a.lastErr != nil {
			le := *a.lastErr
			st.LastError = &le
		}
		if a.failures > 0 && a.state != state.NeedsSignIn {
			st.BackoffUntil = a.backoffUntil
			if a.retryAfterUntil.After(st.BackoffUntil) {
				st.BackoffUntil = a.retryAfterUntil
			}
		}
		if d, ok := e.dueLocked(a, now); ok {
			st.NextDue = d
		}
		s.Accounts = append(s.Accounts, st)
	}
	return s
}

// Subscribe returns a channel that receives the current snapshot at once and
// a new one after every change, until ctx ends (then it is closed). Delivery
// keeps only the latest value: a slow reader skips intermediate snapshots
// and never blocks the engine.
func (e *Engine) Subscribe(ctx context.Context) <-chan state.Snapshot {
	ch := make(chan state.Snapshot, 1)
	e.mu.Lock()
	ch <- e.snapshotLocked()
	e.subs[ch] = struct{}{}
	e.mu.Unlock()
	context.AfterFunc(ctx, func() {
		e.mu.Lock()
		delete(e.subs, ch)
		close(ch)
		e.mu.Unlock()
	})
	return ch
}

// publishLocked hands the current snapshot to every subscriber, replacing
// one it has not read yet.
func (e *Engine) publishLocked() {
	if len(e.subs) == 0 {
		return
	}
	s := e.snapshotLocked()
	for ch := range e.subs {
		select {
		case ch <- s:
			continue
		default:
		}
		select {
		case <-ch:
		default:
		}
		select {
		case ch <- s:
		default:
		}
	}
}
