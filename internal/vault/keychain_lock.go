// Locked sections: one per Keychain at a time, each holding the lock file
// that serialises keychain writers across the user's processes.

package vault

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/gofrs/flock"
)

// lock enters a locked section: one per Keychain at a time, holding the
// cross-process lock file, exclusive for writers or shared for readers.
// The caller must call unlock.
func (k *Keychain) lock(ctx context.Context, shared bool) (unlock func(), err error) {
	if k.lockErr != nil {
		return nil, k.lockErr
	}
	wait := 4 * k.timeout
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case k.sem <- struct{}{}:
	case <-timer.C:
		return nil, newClassError(ErrTimeout, nil, "another keychain operation of this process held the keychain lock for %s", wait)
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for keychain lock: %w", ctx.Err())
	}
	// Only a locked section adds to refs, and none other runs: while
	// refs > 0, this process holds the lock file exclusively.
	k.mu.Lock()
	held := k.refs > 0
	k.mu.Unlock()
	if !held {
		fl, err := k.lockFile(ctx, shared, wait)
		if err != nil {
			<-k.sem
			return nil, err
		}
		k.mu.Lock()
		k.fl = fl
		k.mu.Unlock()
	}
	k.mu.Lock()
	k.refs++
	k.mu.Unlock()
	return func() {
		k.mu.Lock()
		k.releaseLocked()
		k.mu.Unlock()
		<-k.sem
	}, nil
}

// releaseLocked drops one reference to the lock file. k.mu must be held.
func (k *Keychain) releaseLocked() {
	k.refs--
	if k.refs == 0 && k.fl != nil {
		_ = k.fl.Unlock()
		_ = k.fl.Close()
		k.fl = nil
	}
}

// lockFile takes the cross-process lock file within wait.
func (k *Keychain) lockFile(ctx context.Context, shared bool, wait time.Duration) (*flock.Flock, error) {
	if err := os.MkdirAll(k.lockDir, 0o700); err != nil {
		return nil, fmt.Errorf("create lock directory: %w", err)
	}
	path := filepath.Join(k.lockDir, "keychain-"+k.service+".lock")
	fl := flock.New(path, flock.SetPermissions(0o600))
	lctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	var ok bool
	var err error
	if shared {
		ok, err = fl.TryRLockContext(lctx, 10*time.Millisecond)
	} else {
		ok, err = fl.TryLockContext(lctx, 10*time.Millisecond)
	}
	if !ok || err != nil {
		_ = fl.Close()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("wait for keychain lock: %w", ctx.Err())
		}
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("take keychain lock %s: %w", path, err)
		}
		return nil, newClassError(ErrTimeout, nil, "another tokentray process held the keychain lock %s for %s", path, wait)
	}
	return fl, nil
}
