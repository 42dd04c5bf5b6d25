//go:build windows

package control

import (
	"errors"
	"os"

	"golang.org/x/sys/windows"
)

// isRefused reports whether a dial error means nobody listens: the pipe
// does not exist (a pipe vanishes with its last server handle).
func isRefused(err error) bool {
	return errors.Is(err, os.ErrNotExist) || errors.Is(err, windows.ERROR_PATH_NOT_FOUND)
}

// isResourceExhausted reports whether an accept error is worth retrying
// after a pause.
func isResourceExhausted(err error) bool {
	return errors.Is(err, windows.ERROR_NOT_ENOUGH_MEMORY) || errors.Is(err, windows.ERROR_NO_SYSTEM_RESOURCES) ||
		errors.Is(err, windows.ERROR_TOO_MANY_OPEN_FILES) || errors.Is(err, windows.ERROR_PIPE_BUSY)
}
