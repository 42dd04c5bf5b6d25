//go:build !unix

package engine

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/gofrs/flock"
)

// lockFile takes the cross-process lock of a ("<LockDir>/<account>.lock"),
// retrying until ctx ends or lockWait passes. The returned func releases it.
func (e *Engine) lockFile(ctx context.Context, a *account) (func(), error) {
	if e.lockDir == "" {
		return func() {}, nil
	}
	fl := flock.New(filepath.Join(e.lockDir, lockName(a.name)), flock.SetPermissions(0o600))
	ok, err := fl.TryLock()
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(e.lockDir, 0o700); err != nil {
			return nil, fmt.Errorf("create lock dir: %w", err)
		}
		ok, err = fl.TryLock()
	}
	if !ok && err == nil {
		lctx, cancel := context.WithTimeout(ctx, lockWait)
		ok, err = fl.TryLockContext(lctx, lockRetry)
		cancel()
	}
	if !ok || err != nil {
		_ = fl.Close()
	}
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			return nil, fmt.Errorf("another tokentray process has held the refresh lock for %s", lockWait)
		}
		return nil, fmt.Errorf("take lock file: %w", err)
	}
	if !ok {
		return nil, errors.New("take lock file: not acquired")
	}
	return func() { _ = fl.Unlock() }, nil
}
