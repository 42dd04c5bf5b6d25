//go:build !windows

package control

import "os"

// DefaultPath returns where the control socket of this user lives:
// $XDG_RUNTIME_DIR/tokentray/control.sock when XDG_RUNTIME_DIR is set, else
// os.UserCacheDir()/tokentray/control.sock (~/.cache on Linux,
// ~/Library/Caches on macOS). When that path is too long for a unix socket
// address (104 bytes on macOS and the BSDs, 108 elsewhere) it falls back to
// os.TempDir()/tokentray-<uid>/control.sock. On Windows it is a named pipe
// (see path_windows.go).
func DefaultPath() (string, error) {
	return defaultPath(os.Getenv("XDG_RUNTIME_DIR"), os.UserCacheDir, os.TempDir(), os.Getuid())
}
