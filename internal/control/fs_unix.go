//go:build !windows

package control

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"github.com/tokentray/tokentray/internal/control/sockpath"
)

// prepareDir makes sure dir can hold the socket: it creates dir 0700 when
// it is missing; an existing dir must be a real directory (not a symlink)
// owned by this user that nobody else can write (a foreign owner is refused,
// e.g. a pre-created /tmp/tokentray-<uid>). It never changes the mode of a
// directory it did not create: a looser one (say TOKENTRAY_CONTROL_SOCKET
// in /tmp) is refused with what is wrong.
func prepareDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create socket directory: %w", err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("socket directory: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("socket directory %s is not a directory (%s)", dir, fileKind(fi.Mode()))
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return errors.New("socket directory: no owner information")
	}
	if uid := os.Getuid(); int(st.Uid) != uid {
		return fmt.Errorf("socket directory %s is owned by uid %d, not by this user (uid %d): remove it", dir, st.Uid, uid)
	}
	if perm := fi.Mode().Perm(); perm&0o022 != 0 {
		return fmt.Errorf("socket directory %s is writable by others (mode %#o); allowed: writable by its owner only (tokentray changes modes only of a directory it created): use a directory of your own (chmod 700) for %s", dir, perm, sockpath.Env)
	}
	return nil
}

// fileKind names what a mode says a file is, for messages.
func fileKind(m os.FileMode) string {
	switch {
	case m.IsRegular():
		return "a regular file"
	case m&os.ModeSymlink != 0:
		return "a symlink"
	case m.IsDir():
		return "a directory"
	case m&os.ModeSocket != 0:
		return "a socket"
	case m&os.ModeNamedPipe != 0:
		return "a named pipe"
	case m&os.ModeDevice != 0:
		return "a device"
	default:
		return "not a regular file"
	}
}

// secureSocket restricts the socket file to its owner.
func secureSocket(path string) error {
	if err := os.Chmod(path, 0o600); err != nil {
		return fmt.Errorf("restrict socket: %w", err)
	}
	return nil
}

// isRefused reports whether a dial error means nobody listens.
func isRefused(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, os.ErrNotExist)
}

// isResourceExhausted reports whether an accept error is worth retrying
// after a pause.
func isResourceExhausted(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) || errors.Is(err, syscall.ENOBUFS) || errors.Is(err, syscall.ENOMEM)
}
