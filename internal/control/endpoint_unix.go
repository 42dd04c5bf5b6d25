//go:build !windows

package control

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/tokentray/tokentray/internal/control/sockpath"
)

// listenEndpoint takes over the socket path: it returns the listener and
// the function that removes the socket file after the listener is closed.
func listenEndpoint(path string) (net.Listener, func() error, error) {
	if !fitsSocketPath(path) {
		return nil, nil, fmt.Errorf("%w (%d bytes, limit %d)", errPathTooLong, len(path), maxSocketPath()-1)
	}
	if err := prepareDir(filepath.Dir(path)); err != nil {
		return nil, nil, err
	}
	unlock, err := lockPath(path)
	if err != nil {
		return nil, nil, err
	}
	defer unlock()

	if err := clearStale(path); err != nil {
		return nil, nil, err
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, nil, err
	}
	ln.SetUnlinkOnClose(false) // we remove the file ourselves, under the lock
	fail := func(err error) (net.Listener, func() error, error) {
		ln.Close()
		os.Remove(path)
		return nil, nil, err
	}
	if err := secureSocket(path); err != nil {
		return fail(err)
	}
	fi, err := os.Lstat(path)
	if err != nil {
		return fail(err)
	}
	return ln, func() error { return removeSocketFile(path, fi) }, nil
}

// dialEndpoint connects to the socket at path after checking whom it talks
// to: the socket's directory is this user's alone (sockpath.CheckDir), and
// the server runs as this user (sockpath.CheckServer). Either mismatch is an
// error wrapping sockpath.ErrForeign, and nothing has been sent then.
func dialEndpoint(ctx context.Context, path string) (net.Conn, error) {
	if err := sockpath.CheckDir(path); err != nil {
		return nil, err
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, err
	}
	if err := checkServer(c, path); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// checkServer runs sockpath.CheckServer on c's socket.
func checkServer(c net.Conn, path string) error {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return fmt.Errorf("%w: %T is not a socket", sockpath.ErrForeign, c)
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return fmt.Errorf("%w: %w", sockpath.ErrForeign, err)
	}
	var checkErr error
	if err := raw.Control(func(fd uintptr) { checkErr = sockpath.CheckServer(int(fd), path) }); err != nil {
		return fmt.Errorf("%w: %w", sockpath.ErrForeign, err)
	}
	return checkErr
}

// lockPath takes the starter lock next to path and returns its release.
func lockPath(path string) (func(), error) { return lockFile(path + ".lock") }

// clearStale returns an error wrapping ErrRunning if a server answers on
// path, and removes a socket file at path that nobody answers on (left by a
// crashed instance). Anything else at path (a regular file, a symlink, a
// directory) is never deleted: that is an error naming path and what it is.
func clearStale(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.Mode()&os.ModeSocket == 0 {
		return fmt.Errorf("%s is %s, not a socket: tokentray removes only a socket left by a crashed keeper; move it away or point %s elsewhere", path, fileKind(fi.Mode()), sockpath.Env)
	}
	c, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		c.Close()
		return ErrRunning
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		// The backlog is full: a live but busy instance.
		return ErrRunning
	}
	// Refused: left behind by a crashed instance.
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove stale socket: %w", err)
	}
	return nil
}

// removeSocketFile removes the socket file sock at path, under the starter
// lock so that a new instance starting right now cannot lose its fresh
// socket to us; a file that is no longer ours is left alone. The lock file
// itself stays: removing lock files races.
func removeSocketFile(path string, sock os.FileInfo) error {
	unlock, lockErr := lockPath(path)
	if lockErr == nil {
		defer unlock()
	}
	fi, err := os.Lstat(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("control: remove socket: %w", err)
	}
	if !os.SameFile(fi, sock) {
		return nil
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("control: remove socket: %w", err)
	}
	return nil
}

// peerAllowed reports whether the process on the other end of c is this
// user (when the server checks peers), logging a refusal.
func (s *Server) peerAllowed(c net.Conn) bool {
	if s.wantUID < 0 {
		return true
	}
	uid, err := peerUID(c)
	if err != nil || uid != s.wantUID {
		s.logger.Warn("control: refused connection: peer is not this user", "uid", uid, "err", err)
		return false
	}
	return true
}
