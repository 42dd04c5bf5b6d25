package control

import (
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"strconv"
)

const (
	appDir     = "tokentray"
	socketName = "control.sock"
)

// defaultPath is DefaultPath on Unix: the first of runtimeDir and cacheDir
// whose socket path fits, else tempDir/tokentray-<uid>.
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
