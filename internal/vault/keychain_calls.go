// Item calls: every get, set and delete of one keychain item runs in a
// goroutine of its own, bounded by the timeout and by maxInflight; a write
// given up on is handed to the repair (keychain_repair.go) when it returns.

package vault

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// maxInflight bounds keychain calls in flight, including calls that timed
// out and are still waiting for the OS to return.
const maxInflight = 4

// opKind says what a keychain call does.
type opKind int

const (
	opGet opKind = iota
	opSet
	opDelete
)

// op is one keychain call on item user.
type op struct {
	kind  opKind
	user  string
	value string // for opSet
}

// tracked reports whether a late landing of o matters. Probe items are
// random and removed by the next probe.
func (o op) tracked() bool { return o.kind != opGet && o.user != probeItem }

// flight is one backend call running in its own goroutine.
type flight struct {
	mu        sync.Mutex
	finished  bool // its result is (being) sent on done
	abandoned bool // the caller gave up; the goroutine reports the landing
	done      chan result
}

type result struct {
	value string
	err   error
}

// call runs o on the backend, giving up after the timeout or when ctx is
// done. A backend call cannot be cancelled: its goroutine, owned by k, ends
// when the OS answers; at most maxInflight such goroutines exist. A write
// given up on is remembered until it returns (see Keychain).
func (k *Keychain) call(ctx context.Context, o op) (string, error) {
	if ctx.Err() != nil {
		return "", ctxError(ctx, k.timeout)
	}
	timer := time.NewTimer(k.timeout)
	defer timer.Stop()
	select {
	case k.inflight <- struct{}{}:
	case <-timer.C:
		return "", timeoutError(k.timeout, errors.New("earlier keychain calls have not returned"))
	case <-ctx.Done():
		return "", ctxError(ctx, k.timeout)
	}
	f := &flight{done: make(chan result, 1)}
	go k.run(f, o)
	var gaveUp error
	select {
	case r := <-f.done:
		return k.finish(o, r)
	case <-timer.C:
		gaveUp = timeoutError(k.timeout, nil)
	case <-ctx.Done():
		gaveUp = ctxError(ctx, k.timeout)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.finished {
		return k.finish(o, <-f.done)
	}
	f.abandoned = true
	if o.tracked() {
		k.mu.Lock()
		k.unsettledLocked(blobOf(o.user)).pending++
		k.mu.Unlock()
	}
	return "", gaveUp
}

// run performs o for call and, when call gave up on it, reports its
// landing.
func (k *Keychain) run(f *flight, o op) {
	r := k.do(o)
	<-k.inflight
	f.mu.Lock()
	if !f.abandoned {
		f.finished = true
		f.mu.Unlock()
		f.done <- r
		return
	}
	f.mu.Unlock()
	if o.tracked() {
		k.landed(blobOf(o.user))
	}
}

func (k *Keychain) do(o op) (r result) {
	defer func() {
		if p := recover(); p != nil {
			r = result{err: errors.New("keychain library panicked")}
		}
	}()
	switch o.kind {
	case opSet:
		r.err = k.be.Set(k.service, o.user, o.value)
	case opDelete:
		r.err = k.be.Delete(k.service, o.user)
	default:
		r.value, r.err = k.be.Get(k.service, o.user)
	}
	return r
}

// finish classifies a call's result and remembers a successful write to a
// head or journal item of an unsettled blob.
func (k *Keychain) finish(o op, r result) (string, error) {
	err := classify(r.err)
	if o.tracked() && (err == nil || o.kind == opDelete && errors.Is(err, ErrNotFound)) {
		blob := blobOf(o.user)
		if o.user == blob || o.user == journalName(blob) {
			k.mu.Lock()
			if u := k.unsettled[blob]; u != nil {
				u.good[o.user] = record{value: o.value, deleted: o.kind == opDelete}
			}
			k.mu.Unlock()
		}
	}
	return r.value, err
}

func ctxError(ctx context.Context, d time.Duration) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return timeoutError(d, ctx.Err())
	}
	return fmt.Errorf("keychain call abandoned: %w", ctx.Err())
}

func (k *Keychain) get(ctx context.Context, user string) (string, error) {
	return k.call(ctx, op{kind: opGet, user: user})
}

func (k *Keychain) set(ctx context.Context, user, value string) error {
	_, err := k.call(ctx, op{kind: opSet, user: user, value: value})
	return err
}

// del deletes an item; an absent item is not an error.
func (k *Keychain) del(ctx context.Context, user string) error {
	_, err := k.call(ctx, op{kind: opDelete, user: user})
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}
