// Package sockpath says where the keeper's control socket lives on Unix and
// what a client checks before it talks to it (CheckDir, CheckServer). It is
// a leaf (the standard library, and golang.org/x/sys/unix on macOS for the
// peer's credentials) so that the small `tokentray` front
// (cmd/tokentray-front), which answers `tokentray token` before the full
// program is loaded, finds and checks the socket by exactly the rules
// control uses.
package sockpath

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
)

// Env overrides the socket path for every tokentray process that reads it
// (tests, several keepers side by side).
const Env = "TOKENTRAY_CONTROL_SOCKET"

// ErrForeign marks a control socket that another user could have put there
// or serves: a client that gets it sends nothing (no request, no secret).
var ErrForeign = errors.New("the control socket is not this user's")

const (
	appDir     = "tokentray"
	socketName = "control.sock"
)

// Resolve returns $TOKENTRAY_CONTROL_SOCKET when set, else Default.
func Resolve() (string, error) {
	if p := os.Getenv(Env); p != "" {
		return p, nil
	}
	return Default()
}

// Default returns the Unix socket path of this user:
// $XDG_RUNTIME_DIR/tokentray/control.sock when XDG_RUNTIME_DIR is set (and
// absolute), else os.UserCacheDir()/tokentray/control.sock (~/.cache on
// Linux, ~/Library/Caches on macOS). When that path is too long for a unix
// socket address (104 bytes on macOS and the BSDs, 108 elsewhere) it falls
// back to os.TempDir()/tokentray-<uid>/control.sock. (On Windows the keeper
// listens on a named pipe instead: internal/control.DefaultPath.)
func Default() (string, error) {
	return Choose(os.Getenv("XDG_RUNTIME_DIR"), os.UserCacheDir, os.TempDir(), os.Getuid())
}

// Choose is Default with its inputs given: the first of runtimeDir and
// cacheDir whose socket path fits, else tempDir/tokentray-<uid> (uid < 0:
// tempDir/tokentray).
func Choose(runtimeDir string, cacheDir func() (string, error), tempDir string, uid int) (string, error) {
	var base string
	if runtimeDir != "" && filepath.IsAbs(runtimeDir) {
		base = runtimeDir
	} else {
		d, err := cacheDir()
		if err != nil {
			d = ""
		}
		base = d
	}
	if base != "" {
		p := filepath.Join(base, appDir, socketName)
		if Fits(p) {
			return p, nil
		}
	}
	dir := appDir
	if uid >= 0 { // -1 on Windows, where the temp dir is per user already
		dir += "-" + strconv.Itoa(uid)
	}
	p := filepath.Join(tempDir, dir, socketName)
	if !Fits(p) {
		return "", fmt.Errorf("control socket path %q is longer than the %d bytes a unix socket address allows", p, Max()-1)
	}
	return p, nil
}

// Max is the size of sun_path, including the terminating NUL.
func Max() int {
	switch runtime.GOOS {
	case "darwin", "ios", "freebsd", "openbsd", "netbsd", "dragonfly":
		return 104
	default: // linux, windows (UNIX_PATH_MAX 108)
		return 108
	}
}

// Fits reports whether p fits in a unix socket address.
func Fits(p string) bool { return len(p) < Max() }
