//go:build windows

package control

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/Microsoft/go-winio"
	"github.com/tokentray/tokentray/internal/wire"
	"golang.org/x/sys/windows"
)

// pipeBuffer is the in and out buffer size of each pipe instance.
const pipeBuffer = 64 << 10

// listenEndpoint creates the named pipe path with a security descriptor
// that admits only this user's SID (protected DACL, one ACE: generic all
// for the SID; remote clients are rejected), unless a keeper of this user
// answers there already (ErrRunning). A lock file in the user's
// %LocalAppData%\tokentray serializes the check-and-create of concurrent
// starters: Wine 8.0 ignores FILE_FLAG_FIRST_PIPE_INSTANCE, which alone
// would do on Windows (and still refuses there a name another process
// holds). A pipe vanishes with its last handle, so a crashed keeper leaves
// nothing to clean up: the returned release does nothing.
func listenEndpoint(path string) (net.Listener, func() error, error) {
	if !isPipePath(path) {
		return nil, nil, fmt.Errorf("not a named pipe path: on Windows the control channel is a named pipe %sNAME", pipePrefix)
	}
	sid, err := userSID()
	if err != nil {
		return nil, nil, err
	}
	lock, err := pipeLockFile(path)
	if err != nil {
		return nil, nil, err
	}
	unlock, err := lockFile(lock)
	if err != nil {
		return nil, nil, err
	}
	defer unlock()
	if err := probePipe(path); err != nil {
		return nil, nil, err
	}
	ln, err := listenPipe(path, "D:P(A;;GA;;;"+sid.String()+")")
	if err != nil {
		if errors.Is(err, windows.ERROR_ACCESS_DENIED) || errors.Is(err, windows.ERROR_PIPE_BUSY) {
			return nil, nil, fmt.Errorf("%w: another process holds the pipe name without answering", err)
		}
		return nil, nil, err
	}
	return ln, func() error { return nil }, nil
}

// pipeLockFile returns the starter lock file of pipe path, in this user's
// cache directory (%LocalAppData%\tokentray).
func pipeLockFile(path string) (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("lock directory: %w", err)
	}
	dir = filepath.Join(dir, appDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("create lock directory: %w", err)
	}
	name := []byte(path[len(pipePrefix):])
	for i, b := range name {
		if !('a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || b == '-' || b == '.' || b == '_') {
			name[i] = '_'
		}
	}
	return filepath.Join(dir, "pipe-"+string(name)+".lock"), nil
}

// probePipe returns nil when nobody serves pipe path, an error wrapping
// ErrRunning when a keeper of this user does, and another error when the
// pipe belongs to someone else.
func probePipe(path string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	c, err := winio.DialPipeContext(ctx, path)
	switch {
	case err == nil:
		defer c.Close()
		if err := verifyServer(c); err != nil {
			return err
		}
		return ErrRunning
	case isRefused(err):
		return nil
	case errors.Is(err, context.DeadlineExceeded):
		// Every instance is busy: a live but busy keeper.
		return ErrRunning
	case errors.Is(err, windows.ERROR_ACCESS_DENIED):
		return fmt.Errorf("the pipe exists and admits only another user: a process of another user holds tokentray's pipe name (%w)", err)
	}
	return fmt.Errorf("probe: %w", err)
}

// dialEndpoint connects to the named pipe path and makes sure a process of
// this user serves it (a process of another user could have created the
// pipe name first, to receive the tokens sent over it). Without a ctx
// deadline the wait for a free pipe instance is bounded by DefaultTimeout.
func dialEndpoint(ctx context.Context, path string) (net.Conn, error) {
	if !isPipePath(path) {
		return nil, fmt.Errorf("%s is not a named pipe path (on Windows the control channel is a named pipe %sNAME)", path, pipePrefix)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, wire.DefaultTimeout)
		defer cancel()
	}
	c, err := winio.DialPipeContext(ctx, path)
	if err != nil {
		return nil, err
	}
	if err := verifyServer(c); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// pipeHandle returns the handle under a go-winio pipe connection.
func pipeHandle(c net.Conn) (windows.Handle, error) {
	f, ok := c.(interface{ Fd() uintptr })
	if !ok {
		return 0, fmt.Errorf("%T is not a named pipe", c)
	}
	return windows.Handle(f.Fd()), nil
}

// verifyServer returns an error unless a process of this user serves c.
func verifyServer(c net.Conn) error {
	h, err := pipeHandle(c)
	if err != nil {
		return err
	}
	var pid uint32
	if err := windows.GetNamedPipeServerProcessId(h, &pid); err != nil {
		return fmt.Errorf("control pipe: server process: %w", err)
	}
	if err := sameUser(pid); err != nil {
		return fmt.Errorf("control pipe: refusing to talk to its server (pid %d): %w", pid, err)
	}
	return nil
}

// peerAllowed reports whether the process on the other end of c runs as
// this user, logging a refusal. The pipe's security descriptor already
// admits nobody else; this is the same check as SO_PEERCRED on Linux.
func (s *Server) peerAllowed(c net.Conn) bool {
	h, err := pipeHandle(c)
	var pid uint32
	if err == nil {
		err = windows.GetNamedPipeClientProcessId(h, &pid)
	}
	if err == nil {
		err = sameUser(pid)
	}
	if err != nil {
		s.logger.Warn("control: refused connection: peer is not this user", "pid", pid, "err", err)
		return false
	}
	return true
}

// errOtherUser: the process runs as another user.
var errOtherUser = errors.New("the process runs as another user")

// sameUser returns nil if process pid runs as this user.
func sameUser(pid uint32) error {
	me, err := userSID()
	if err != nil {
		return err
	}
	p, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, pid)
	if err != nil {
		return fmt.Errorf("open process: %w", err)
	}
	defer windows.CloseHandle(p)
	var tok windows.Token
	if err := windows.OpenProcessToken(p, windows.TOKEN_QUERY, &tok); err != nil {
		return fmt.Errorf("process token: %w", err)
	}
	defer tok.Close()
	tu, err := tok.GetTokenUser()
	if err != nil {
		return fmt.Errorf("process user: %w", err)
	}
	if !windows.EqualSid(tu.User.Sid, me) {
		return errOtherUser
	}
	return nil
}
