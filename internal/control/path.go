package control

import (
	"errors"

	"github.com/tokentray/tokentray/internal/control/sockpath"
)

const appDir = "tokentray"

// defaultPath is DefaultPath on Unix (the rule lives in sockpath, shared
// with the small front that answers `tokentray token`).
func defaultPath(runtimeDir string, cacheDir func() (string, error), tempDir string, uid int) (string, error) {
	return sockpath.Choose(runtimeDir, cacheDir, tempDir, uid)
}

// maxSocketPath is the size of sun_path, including the terminating NUL.
func maxSocketPath() int { return sockpath.Max() }

func fitsSocketPath(p string) bool { return sockpath.Fits(p) }

// errPathTooLong is returned by Listen for a path no socket can bind to.
var errPathTooLong = errors.New("socket path too long")
