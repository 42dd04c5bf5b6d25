//go:build unix

package main

import (
	"syscall"
	"time"

	"github.com/tokentray/tokentray/internal/control/sockpath"
	"github.com/tokentray/tokentray/internal/wire"
)

const exeSuffix = ""

// fastToken answers a fast-shaped `token` call from a running keeper with
// plain system calls (no net package, whose poller costs more than the
// whole round trip). ok false: not fast-shaped, no keeper, or no usable
// answer; nothing has been printed then.
func fastToken(args []string) (code int, ok bool) {
	account, minValid, fast := parseFast(args)
	if !fast {
		return 0, false
	}
	path, err := sockpath.Resolve()
	if err != nil {
		return 0, false
	}
	// Whom it talks to: a directory only this user can write, then a server
	// of this user (below). On a mismatch the full program, which checks the
	// same, says which path and which owner; the front has sent nothing.
	if sockpath.CheckDir(path) != nil {
		return 0, false
	}
	req, err := tokenRequest(account, minValid)
	if err != nil {
		return 0, false
	}
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		return 0, false
	}
	defer syscall.Close(fd)
	syscall.CloseOnExec(fd) // no SOCK_CLOEXEC on macOS; nothing execs before this returns anyway
	if err := syscall.Connect(fd, &syscall.SockaddrUnix{Name: path}); err != nil {
		return 0, false // no keeper (ENOENT, ECONNREFUSED): the full program works in-process
	}
	if sockpath.CheckServer(fd, path) != nil {
		return 0, false
	}
	tv := syscall.NsecToTimeval(int64(wire.MaxTimeout + wire.ClientSlack))
	if syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &tv) != nil ||
		syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, syscall.SO_SNDTIMEO, &tv) != nil {
		return 0, false
	}
	for len(req) > 0 {
		n, err := syscall.Write(fd, req)
		if err == syscall.EINTR {
			continue
		}
		if err != nil || n <= 0 {
			return 0, false
		}
		req = req[n:]
	}
	line, done := readLine(fd)
	if !done {
		return 0, false
	}
	return answer(line, minValid)
}

// readLine reads one newline-terminated line; done false on a timeout, a
// hang-up before the newline or an oversized line.
func readLine(fd int) ([]byte, bool) {
	buf := make([]byte, 0, 8192)
	deadline := time.Now().Add(wire.MaxTimeout + wire.ClientSlack)
	for {
		if len(buf) == cap(buf) {
			if cap(buf) >= wire.MaxResponseSize {
				return nil, false
			}
			buf = append(buf, make([]byte, cap(buf))...)[:len(buf)]
		}
		n, err := syscall.Read(fd, buf[len(buf):cap(buf)])
		if err == syscall.EINTR && time.Now().Before(deadline) {
			continue
		}
		if err != nil || n <= 0 {
			return nil, false
		}
		start := len(buf)
		buf = buf[:start+n]
		for i := start; i < len(buf); i++ {
			if buf[i] == '\n' {
				return buf[:i], true
			}
		}
	}
}
