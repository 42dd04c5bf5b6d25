//go:build unix

package engine

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// lockFile takes the cross-process lock of a ("<LockDir>/<account>.lock"),
// retrying until ctx ends or lockWait passes. The returned func releases it.
// The file stays open between flights (flock(2) on the kept descriptor); if
// the path no longer names the locked file (deleted or replaced), it is
// reopened, so two processes never lock different files of the same name.
// The caller holds a's flight.
func (e *Engine) lockFile(ctx context.Context, a *account) (func(), error) {
	if e.lockDir == "" {
		return func() {}, nil
	}
	path := filepath.Join(e.lockDir, lockName(a.name))
	var deadline time.Time
	for {
		if a.lockFh == nil {
			f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
			if errors.Is(err, fs.ErrNotExist) {
				if err := os.MkdirAll(e.lockDir, 0o700); err != nil {
					return nil, fmt.Errorf("create lock dir: %w", err)
				}
				f, err = os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
			}
			if err != nil {
				return nil, fmt.Errorf("take lock file: %w", err)
			}
			a.lockFh = f
		}
		fd := int(a.lockFh.Fd())
		err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			var held, named unix.Stat_t
			if unix.Fstat(fd, &held) == nil && unix.Stat(path, &named) == nil && held.Dev == named.Dev && held.Ino == named.Ino {
				f := a.lockFh
				return func() { _ = unix.Flock(int(f.Fd()), unix.LOCK_UN) }, nil
			}
			_ = a.lockFh.Close() // the path names another file now: lock that one
			a.lockFh = nil
			continue
		}
		if !errors.Is(err, unix.EWOULDBLOCK) && !errors.Is(err, unix.EINTR) {
			_ = a.lockFh.Close()
			a.lockFh = nil
			return nil, fmt.Errorf("take lock file: %w", err)
		}
		if deadline.IsZero() {
			deadline = time.Now().Add(lockWait)
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("another tokentray process has held the refresh lock for %s", lockWait)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("take lock file: %w", ctx.Err())
		case <-time.After(lockRetry):
		}
	}
}
