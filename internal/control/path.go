package control

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
)

const (
	appDir     = "tokentray"
	socketName = "control.sock"
)

// DefaultPath returns where the control socket of this user lives:
// $XDG_RUNTIME_DIR/tokentray/control.sock when XDG_RUNTIME_DIR is set, else
// os.UserCacheDir()/tokentray/control.sock (%LocalAppData% on Windows,
// ~/Library/Caches on macOS). When that path is too long for a unix socket
// address (104 bytes on macOS and the BSDs, 108 elsewhere) it falls back to
// os.TempDir()/tokentray-<uid>/control.sock.
func DefaultPath() (string, error) {
	return defaultPath(os.Getenv("XDG_RUNTIME_DIR"), os.UserCacheDir, os.TempDir(), os.Getuid())
}

func defaultPath(runtimeDir string, cacheDir func() (string, error), tempDir string, uid int) (string, error) {
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
		if fitsSocketPath(p) {
			return p, nil
		}
	}
	dir := appDir
	if uid >= 0 { // -1 on Windows, where the temp dir is per user already
		dir += "-" + strconv.Itoa(uid)
	}
	p := filepath.Join(tempDir, dir, socketName)
	if !fitsSocketPath(p) {
		return "", fmt.Errorf("control socket path %q is longer than the %d bytes a unix socket address allows", p, maxSocketPath()-1)
	}
	return p, nil
}

// maxSocketPath is the size of sun_path, including the terminating NUL.
func maxSocketPath() int {
	switch runtime.GOOS {
	case "darwin", "ios", "freebsd", "openbsd", "netbsd", "dragonfly":
		return 104
	default: // linux, windows (UNIX_PATH_MAX 108)
		return 108
	}
}

func fitsSocketPath(p string) bool { return len(p) < maxSocketPath() }

// errPathTooLong is returned by Listen for a path no socket can bind to.
var errPathTooLong = errors.New("socket path too long")
