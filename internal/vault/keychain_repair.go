// Repair of unsettled writes: what this process wrote to a blob's items
// while a timed-out write to them may still land, rewriting it once the
// late write returns, and Wait for the process to let such writes settle.

package vault

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// unsettled is what a Keychain remembers about a blob while a write to one
// of its items timed out and has not yet been repaired.
type unsettled struct {
	pending int               // timed-out writes still running
	landed  bool              // one of them returned since the last repair
	good    map[string]record // item → what this process last wrote to it since
}

// record is a write that succeeded: a value or a deletion.
type record struct {
	value   string
	deleted bool
}

// Wait returns once every keychain write of k that timed out has returned
// and what it may have overwritten is repaired, or with ctx's error. Until
// then k holds the cross-process lock; a process should Wait, briefly,
// before it exits.
func (k *Keychain) Wait(ctx context.Context) error {
	k.mu.Lock()
	ch := k.settled
	k.mu.Unlock()
	if ch == nil {
		return nil
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait for late keychain writes: %w", ctx.Err())
	}
}

// blobOf returns the blob (account or index) an item belongs to.
func blobOf(user string) string {
	b, _, _ := strings.Cut(user, "#")
	return b
}

// unsettledLocked returns the unsettled state of blob, creating it. A new
// one keeps the cross-process lock, which the caller (in a locked section)
// holds. k.mu must be held.
func (k *Keychain) unsettledLocked(blob string) *unsettled {
	u := k.unsettled[blob]
	if u == nil {
		u = &unsettled{good: map[string]record{}}
		k.unsettled[blob] = u
		k.refs++
		if k.settled == nil {
			k.settled = make(chan struct{})
		}
	}
	return u
}

// landed runs when a write to an item of blob that timed out returns:
// it repairs blob as soon as no other locked section runs.
func (k *Keychain) landed(blob string) {
	k.mu.Lock()
	u := k.unsettled[blob]
	u.pending--
	u.landed = true
	k.mu.Unlock()
	k.sem <- struct{}{}
	defer func() { <-k.sem }()
	// A failed repair is retried by the next Save or Delete of blob.
	_ = k.repair(context.Background(), blob)
}

// repair rewrites what landed writes to blob's items may have overwritten,
// and once none is pending, removes their chunks and lets blob settle. It
// runs in a locked section.
func (k *Keychain) repair(ctx context.Context, blob string) error {
	k.mu.Lock()
	u := k.unsettled[blob]
	if u == nil || !u.landed {
		k.mu.Unlock()
		return nil
	}
	u.landed = false
	good := maps.Clone(u.good)
	k.mu.Unlock()
	for _, item := range slices.Sorted(maps.Keys(good)) {
		if err := k.ensure(ctx, item, good[item]); err != nil {
			k.mu.Lock()
			u.landed = true
			k.mu.Unlock()
			return fmt.Errorf("repair after a late keychain write: %w", err)
		}
	}
	k.mu.Lock()
	quiet := u.pending == 0 && !u.landed
	k.mu.Unlock()
	if quiet {
		// Best effort: generations left in the journal are removed later.
		_ = k.sweepJournal(ctx, blob)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if u.pending == 0 && !u.landed {
		delete(k.unsettled, blob)
		k.releaseLocked()
		if len(k.unsettled) == 0 && k.settled != nil {
			close(k.settled)
			k.settled = nil
		}
	}
	return nil
}

// ensure makes item hold rec.
func (k *Keychain) ensure(ctx context.Context, item string, rec record) error {
	v, err := k.get(ctx, item)
	switch {
	case errors.Is(err, ErrNotFound):
		if rec.deleted {
			return nil
		}
	case err != nil:
		return err
	case !rec.deleted && v == rec.value:
		return nil
	}
	if rec.deleted {
		return k.del(ctx, item)
	}
	return k.set(ctx, item, rec.value)
}

// recorded returns what this process last wrote to the head item user
// while the blob is unsettled: the truth, whatever a late write did.
func (k *Keychain) recorded(user string) (record, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if u := k.unsettled[user]; u != nil {
		rec, ok := u.good[user]
		return rec, ok
	}
	return record{}, false
}

// settledBlob reports that no late write to blob's items is pending.
func (k *Keychain) settledBlob(blob string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	u := k.unsettled[blob]
	return u == nil || u.pending == 0
}

// headValue returns the head item of user: what this process wrote last
// while the blob is unsettled, else what the keychain holds.
func (k *Keychain) headValue(ctx context.Context, user string) (string, error) {
	if rec, ok := k.recorded(user); ok {
		if rec.deleted {
			return "", ErrNotFound
		}
		return rec.value, nil
	}
	return k.get(ctx, user)
}
