// Package logfile appends to log files that several processes share (the
// keeper's tokentray.log, the access log) and rotates them by size: a file
// past its limit is renamed to path+".1", older ones shift to ".2" and on,
// and the oldest beyond those kept is removed. Files are created 0600.
package logfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/gofrs/flock"
)

// The policy of tokentray's files.
const (
	// MaxSize is the size past which a file is rotated before the next
	// append.
	MaxSize = 1 << 20
	// KeptLog is how many old files of tokentray.log are kept.
	KeptLog = 2
)

// Policy says when a file is rotated and how many old files are kept.
type Policy struct {
	MaxSize int64 // a file larger than this is rotated before the next append
	Keep    int   // old files kept: path+".1" (the newest) to path+".Keep"; at least 1
}

// Append writes b to the file at path with one write to the file opened for
// appending (created 0600, its directory 0700), so the lines of processes
// appending at once do not mix. A file larger than p.MaxSize is rotated
// first; of processes that find it so at once, one rotates. Rotation is
// best effort: where a file cannot be renamed while another process has it
// open (Windows), it grows until a later append can rotate it.
func Append(path string, b []byte, p Policy) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("log %s: %w", path, err)
	}
	if fi, err := os.Stat(path); err == nil && fi.Size() > p.MaxSize {
		rotate(path, p)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("log %s: %w", path, err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("log %s: write: %w", path, err)
	}
	return f.Close()
}

// rotate shifts path's old files and renames path to path+".1", under a
// lock on path+".lock", if path is still larger than p.MaxSize once the
// lock is held (another process may have rotated it meanwhile). It is best
// effort (see Append): what it cannot do waits for the next append.
func rotate(path string, p Policy) {
	fl := flock.New(path+".lock", flock.SetPermissions(0o600))
	if err := fl.Lock(); err != nil {
		return
	}
	defer fl.Unlock()
	if fi, err := os.Stat(path); err != nil || fi.Size() <= p.MaxSize {
		return
	}
	for i := max(p.Keep, 1) - 1; i >= 1; i-- {
		if err := os.Rename(old(path, i), old(path, i+1)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return
		}
	}
	os.Rename(path, old(path, 1))
}

// old returns the name of path's i-th old file.
func old(path string, i int) string { return fmt.Sprintf("%s.%d", path, i) }

// Writer is an io.Writer that appends each Write to its file with Append:
// for a logger that writes a record with one Write (log/slog's handlers do).
type Writer struct {
	Path   string
	Policy Policy
}

// Write appends b to w's file.
func (w Writer) Write(b []byte) (int, error) {
	if err := Append(w.Path, b, w.Policy); err != nil {
		return 0, err
	}
	return len(b), nil
}
