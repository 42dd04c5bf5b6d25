//go:build windows

package control

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/Microsoft/go-winio"
	"golang.org/x/sys/windows"
)

// pipeBuffer is the in and out buffer size of each pipe instance.
const pipeBuffer = 64 << 10

// listenEndpoint creates the named pipe path with a security descriptor
// that admits only this user's SID (protected DACL, one ACE: generic all
// for the SID; remote clients are rejected). Creating the first instance
// of a pipe fails when it exists, so of two starters exactly one wins; the
// other finds it answering (ErrRunning). A pipe vanishes with its last
// handle, so a crashed keeper leaves nothing to clean up: the returned
// release does nothing.
func listenEndpoint(path string) (net.Listener, func() error, error) {
	if !isPipePath(path) {
		return nil, nil, fmt.Errorf("not a named pipe path: on Windows the control channel is a named pipe %sNAME", pipePrefix)
	}
	sid, err := userSID()
	if err != nil {
		return nil, nil, err
	}
	ln, err := winio.ListenPipe(path, &winio.PipeConfig{
		SecurityDescriptor: "D:P(A;;GA;;;" + sid.String() + ")",
		InputBufferSize:    pipeBuffer,
		OutputBufferSize:   pipeBuffer,
	})
	if err == nil {
		return ln, func() error { return nil }, nil
	}
	// The pipe exists: find out whether a keeper of ours serves it.
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	c, derr := winio.DialPipeContext(ctx, path)
	switch {
	case derr == nil:
		defer c.Close()
		if verr := verifyServer(c); verr != nil {
			return nil, nil, verr
		}
		return nil, nil, ErrRunning
	case errors.Is(derr, context.DeadlineExceeded):
		// Every instance is busy: a live but busy keeper.
		return nil, nil, ErrRunning
	case errors.Is(derr, windows.ERROR_ACCESS_DENIED):
		return nil, nil, fmt.Errorf("%w: the pipe exists and admits only another user: a process of another user holds tokentray's pipe name", err)
	}
	return nil, nil, errors.Join(err, derr)
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
		ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
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
