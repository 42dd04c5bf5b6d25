//go:build windows

package control

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/windows"
)

// prepareDir creates dir. Unix modes mean little on Windows: the socket is
// protected by the per-user ACL of %LocalAppData%, where DefaultPath puts it.
func prepareDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create socket directory: %w", err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("socket directory: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("socket directory %s is not a directory", dir)
	}
	return nil
}

// secureSocket does nothing on Windows (see prepareDir).
func secureSocket(string) error { return nil }

// isRefused reports whether a dial error means nobody listens.
func isRefused(err error) bool {
	return errors.Is(err, windows.WSAECONNREFUSED) || errors.Is(err, os.ErrNotExist)
}

// isResourceExhausted reports whether an accept error is worth retrying
// after a pause.
func isResourceExhausted(err error) bool {
	return errors.Is(err, windows.WSAEMFILE) || errors.Is(err, windows.WSAENOBUFS)
}
