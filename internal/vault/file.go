package vault

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	"github.com/gofrs/flock"
)

// maxFileSize bounds the token file File reads.
const maxFileSize = 16 << 20

// File stores every account's envelope in one JSON file readable only by
// the user (0600, in a directory created 0700). Writes replace the file
// atomically; a lock file next to it serialises processes. It is opt-in:
// nothing falls back to it by itself. A File is safe for concurrent use.
type File struct {
	path     string
	lockWait time.Duration
}

// DefaultFileLockTimeout bounds how long File waits for its lock file.
const DefaultFileLockTimeout = 10 * time.Second

// FileOption configures NewFile.
type FileOption func(*File)

// FileLockTimeout bounds how long an operation waits for another process
// to release the token file's lock (DefaultFileLockTimeout); d <= 0 keeps
// the default.
func FileLockTimeout(d time.Duration) FileOption {
	return func(f *File) {
		if d > 0 {
			f.lockWait = d
		}
	}
}

// NewFile returns a File backend storing in path; it touches nothing yet.
func NewFile(path string, opts ...FileOption) *File {
	f := &File{path: path, lockWait: DefaultFileLockTimeout}
	for _, o := range opts {
		o(f)
	}
	return f
}

// Kind returns "file".
func (f *File) Kind() string { return KindFile }

// fileData is the stored file.
type fileData struct {
	V        int                        `json:"v"`
	Accounts map[string]json.RawMessage `json:"accounts"`
}

// lock takes the file's lock, shared or exclusive, waiting at most the
// lock timeout: a stopped process holding it must not wedge every save.
func (f *File) lock(ctx context.Context, shared bool) (unlock func(), err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	fl := flock.New(f.path+".lock", flock.SetPermissions(0o600))
	lctx, cancel := context.WithTimeout(ctx, f.lockWait)
	defer cancel()
	var ok bool
	if shared {
		ok, err = fl.TryRLockContext(lctx, 10*time.Millisecond)
	} else {
		ok, err = fl.TryLockContext(lctx, 10*time.Millisecond)
	}
	if !ok || err != nil {
		_ = fl.Close()
		switch {
		case ctx.Err() != nil:
			return nil, fmt.Errorf("lock %s: %w", fl.Path(), ctx.Err())
		case err != nil && !errors.Is(err, context.DeadlineExceeded):
			return nil, newClassError(ErrUnavailable, err, "lock %s", fl.Path())
		}
		return nil, newClassError(ErrTimeout, nil, "another process held the token file lock %s for %s: if a tokentray process is stopped (for example with Ctrl-Z), resume or end it, then retry", fl.Path(), f.lockWait)
	}
	return func() { _ = fl.Unlock(); _ = fl.Close() }, nil
}

// read returns the file's contents; a missing file is empty. It refuses a
// file that other users can read.
func (f *File) read() (fileData, error) {
	d := fileData{V: 1, Accounts: map[string]json.RawMessage{}}
	fh, err := os.Open(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return d, nil
	}
	if err != nil {
		return d, newClassError(ErrUnavailable, err, "open token file")
	}
	defer fh.Close()
	info, err := fh.Stat()
	if err != nil {
		return d, newClassError(ErrUnavailable, err, "stat token file")
	}
	if !info.Mode().IsRegular() {
		return d, newClassError(ErrUnavailable, nil, "token file %s is not a regular file", f.path)
	}
	if runtime.GOOS != "windows" && info.Mode().Perm()&0o077 != 0 {
		return d, newClassError(ErrUnavailable, nil, "token file %s is accessible to other users (mode %04o); run: chmod 600 %s", f.path, info.Mode().Perm(), f.path)
	}
	b, err := io.ReadAll(io.LimitReader(fh, maxFileSize+1))
	if err != nil {
		return d, newClassError(ErrUnavailable, err, "read token file")
	}
	if len(b) > maxFileSize {
		return d, newClassError(ErrCorrupt, nil, "token file %s is larger than %d bytes", f.path, maxFileSize)
	}
	if len(b) == 0 {
		return d, nil
	}
	if err := json.Unmarshal(b, &d); err != nil {
		return d, newClassError(ErrCorrupt, nil, "token file %s does not decode (%s)", f.path, jsonProblem(err))
	}
	if d.V != 1 {
		return d, newClassError(ErrCorrupt, nil, "token file %s has format version %d; this tokentray reads version 1", f.path, d.V)
	}
	if d.Accounts == nil {
		d.Accounts = map[string]json.RawMessage{}
	}
	return d, nil
}

// write replaces the file atomically: temp file, fsync, rename, fsync dir.
func (f *File) write(d fileData) error {
	b, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("encode token file: %w", err)
	}
	dir := filepath.Dir(f.path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(f.path)+".*.tmp")
	if err != nil {
		return newClassError(ErrUnavailable, err, "write token file")
	}
	ok := false
	defer func() {
		if !ok {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(0o600); err != nil && runtime.GOOS != "windows" {
		return newClassError(ErrUnavailable, err, "write token file")
	}
	if _, err := tmp.Write(b); err != nil {
		return newClassError(ErrUnavailable, err, "write token file")
	}
	if err := tmp.Sync(); err != nil {
		return newClassError(ErrUnavailable, err, "write token file")
	}
	if err := tmp.Close(); err != nil {
		return newClassError(ErrUnavailable, err, "write token file")
	}
	if err := os.Rename(tmp.Name(), f.path); err != nil {
		return newClassError(ErrUnavailable, err, "write token file")
	}
	ok = true
	if dh, err := os.Open(dir); err == nil {
		_ = dh.Sync() // best effort: not supported everywhere
		_ = dh.Close()
	}
	f.sweepTemps()
	return nil
}

// sweepTemps removes temp files that a writer killed mid-write left behind
// (they hold tokens). It runs under the exclusive lock, so no live writer
// owns one.
func (f *File) sweepTemps() {
	matches, _ := filepath.Glob(filepath.Join(filepath.Dir(f.path), "."+filepath.Base(f.path)+".*.tmp"))
	for _, m := range matches {
		_ = os.Remove(m)
	}
}

func (f *File) mkdir() error {
	if err := os.MkdirAll(filepath.Dir(f.path), 0o700); err != nil {
		return newClassError(ErrUnavailable, err, "create token file directory")
	}
	return nil
}

// Load returns the envelope of account. Errors name the account and wrap
// ErrNotFound, ErrCorrupt, ErrTimeout or ErrUnavailable.
func (f *File) Load(ctx context.Context, account string) (Envelope, error) {
	if _, err := os.Stat(f.path); errors.Is(err, fs.ErrNotExist) {
		return Envelope{}, fmt.Errorf("load account %q from file: %w", account, ErrNotFound)
	}
	unlock, err := f.lock(ctx, true)
	if err != nil {
		return Envelope{}, fmt.Errorf("load account %q from file: %w", account, err)
	}
	defer unlock()
	d, err := f.read()
	if err != nil {
		return Envelope{}, fmt.Errorf("load account %q from file: %w", account, err)
	}
	raw, ok := d.Accounts[account]
	if !ok {
		return Envelope{}, fmt.Errorf("load account %q from file: %w", account, ErrNotFound)
	}
	e, err := Decode(raw)
	if err != nil {
		return Envelope{}, fmt.Errorf("load account %q from file: %w", account, err)
	}
	return e, nil
}

// update applies fn to the file's contents under the exclusive lock and
// writes the result when fn reports a change.
func (f *File) update(ctx context.Context, fn func(d *fileData) bool) error {
	if err := f.mkdir(); err != nil {
		return err
	}
	unlock, err := f.lock(ctx, false)
	if err != nil {
		return err
	}
	defer unlock()
	d, err := f.read()
	if err != nil {
		return err
	}
	if !fn(&d) {
		return nil
	}
	return f.write(d)
}

// Save stores e for account, replacing what was there.
func (f *File) Save(ctx context.Context, account string, e Envelope) error {
	if err := checkAccount(account); err != nil {
		return fmt.Errorf("save account to file: %w", err)
	}
	b, err := Encode(e)
	if err != nil {
		return fmt.Errorf("save account %q to file: %w", account, err)
	}
	err = f.update(ctx, func(d *fileData) bool {
		d.Accounts[account] = b
		return true
	})
	if err != nil {
		return fmt.Errorf("save account %q to file: %w", account, err)
	}
	return nil
}

// Delete removes account; deleting an absent account is not an error.
func (f *File) Delete(ctx context.Context, account string) error {
	if _, err := os.Stat(f.path); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	err := f.update(ctx, func(d *fileData) bool {
		if _, ok := d.Accounts[account]; !ok {
			return false
		}
		delete(d.Accounts, account)
		return true
	})
	if err != nil {
		return fmt.Errorf("delete account %q from file: %w", account, err)
	}
	return nil
}

// List returns the stored account names, sorted.
func (f *File) List(ctx context.Context) ([]string, error) {
	if _, err := os.Stat(f.path); errors.Is(err, fs.ErrNotExist) {
		return []string{}, nil
	}
	unlock, err := f.lock(ctx, true)
	if err != nil {
		return nil, fmt.Errorf("list file accounts: %w", err)
	}
	defer unlock()
	d, err := f.read()
	if err != nil {
		return nil, fmt.Errorf("list file accounts: %w", err)
	}
	names := make([]string, 0, len(d.Accounts))
	for name := range d.Accounts {
		names = append(names, name)
	}
	slices.Sort(names)
	return names, nil
}

// Probe checks that the file (if present) is private and readable and that
// its directory takes a new file, by writing and removing a probe file.
func (f *File) Probe(ctx context.Context) ProbeResult {
	err := f.update(ctx, func(*fileData) bool { return false })
	if err == nil {
		var tmp *os.File
		tmp, err = os.CreateTemp(filepath.Dir(f.path), "."+filepath.Base(f.path)+".probe-*")
		if err == nil {
			_ = tmp.Close()
			err = os.Remove(tmp.Name())
		}
		if err != nil {
			err = newClassError(ErrUnavailable, err, "write probe file")
		}
	}
	if err != nil {
		err = fmt.Errorf("probe token file: %w", err)
	}
	return probeResult(KindFile, err)
}
