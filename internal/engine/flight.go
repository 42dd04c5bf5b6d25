package engine

import (
	"context"
	"errors"
	"time"
)

// acquire takes a's flight. Automatic refreshes never queue behind a flight.
// It fails with ErrUnknownAccount once a has been removed, so nothing that
// waited for the flight of a removed account can bring it back.
func (e *Engine) acquire(ctx context.Context, a *account, wait bool) error {
	if !wait {
		select {
		case a.sem <- struct{}{}:
		default:
			return errBusy
		}
	} else {
		select {
		case a.sem <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if a.removed() {
		<-a.sem
		return ErrUnknownAccount
	}
	return nil
}

var errBusy = errors.New("a refresh of this account is already running")

func (e *Engine) setBusy(a *account) {
	e.mu.Lock()
	a.busy = true
	e.publishLocked()
	e.mu.Unlock()
}

// done ends the busy part of a flight: marks a for rescheduling and
// publishes. The caller still holds the flight.
func (e *Engine) done(a *account) {
	e.mu.Lock()
	a.busy = false
	e.changedLocked(a)
	e.mu.Unlock()
}

// release gives up a's flight, then persists the state.
func (e *Engine) release(a *account) {
	<-a.sem
	e.persist()
}

// How long work that must not be lost may run on once its caller's ctx has
// ended: the answer to a token request already sent, and saving a new pair.
const (
	exchangeGrace = 30 * time.Second
	saveGrace     = 30 * time.Second
)

// detach returns a context that carries ctx's values but is not cancelled
// with it: it ends grace after ctx ends, or when cancel is called.
func detach(ctx context.Context, grace time.Duration) (context.Context, context.CancelFunc) {
	d, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(grace, cancel)
		context.AfterFunc(d, func() { t.Stop() })
	})
	return d, func() { stop(); cancel() }
}
