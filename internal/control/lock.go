package control

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gofrs/flock"
)

// lockTimeout bounds the wait for another starter's check-and-listen.
const lockTimeout = 10 * time.Second

// lockFile takes the starter lock file (created 0600) and returns its
// release. It serializes the check-and-listen of concurrent starters.
func lockFile(file string) (func(), error) {
	l := flock.New(file, flock.SetPermissions(0o600))
	ctx, cancel := context.WithTimeout(context.Background(), lockTimeout)
	defer cancel()
	ok, err := l.TryLockContext(ctx, 10*time.Millisecond)
	if err != nil || !ok {
		return nil, fmt.Errorf("lock %s: %w", l.Path(), errors.Join(err, ctx.Err()))
	}
	return func() { l.Unlock() }, nil
}
