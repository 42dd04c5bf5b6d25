//go:build unix

package sockpath

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// CheckDir is what a client checks before it connects to the socket at
// path: its directory is a real directory (not a symlink), owned by this
// user and writable by nobody else, so no other user can have put a socket
// there. A missing directory yields an error wrapping os.ErrNotExist (no
// keeper); any other failure wraps ErrForeign and names the path and the
// owner.
func CheckDir(path string) error {
	dir := filepath.Dir(path)
	var st syscall.Stat_t
	if err := syscall.Lstat(dir, &st); err != nil {
		return &os.PathError{Op: "lstat", Path: dir, Err: err}
	}
	uid := os.Getuid()
	switch {
	case st.Mode&syscall.S_IFMT == syscall.S_IFLNK:
		return fmt.Errorf("%w: its directory %s is a symlink (owned by uid %d); this user (uid %d) uses only a real directory of its own: remove it", ErrForeign, dir, st.Uid, uid)
	case st.Mode&syscall.S_IFMT != syscall.S_IFDIR:
		return fmt.Errorf("%w: %s is not a directory (owned by uid %d): remove it", ErrForeign, dir, st.Uid)
	case int(st.Uid) != uid:
		return fmt.Errorf("%w: its directory %s is owned by uid %d, not by this user (uid %d): remove it", ErrForeign, dir, st.Uid, uid)
	case st.Mode&0o022 != 0:
		return fmt.Errorf("%w: its directory %s (owned by uid %d) is writable by others (mode %#o); allowed: writable by its owner only (e.g. 0700)", ErrForeign, dir, st.Uid, st.Mode&0o777)
	}
	return nil
}

// CheckServer is what a client checks on the connected socket fd before it
// sends a byte: the serving process runs as this user (SO_PEERCRED on
// Linux, LOCAL_PEERCRED on macOS). Elsewhere the kernel does not say, and
// CheckDir is the whole check. A mismatch wraps ErrForeign and names path
// and the server's uid.
func CheckServer(fd int, path string) error {
	if !PeerCredentials {
		return nil
	}
	uid, err := PeerUID(fd)
	if err != nil {
		return fmt.Errorf("%w: cannot learn who serves %s: %w", ErrForeign, path, err)
	}
	if me := os.Getuid(); uid != me {
		return fmt.Errorf("%w: %s is served by uid %d, not by this user (uid %d); nothing was sent", ErrForeign, path, uid, me)
	}
	return nil
}
