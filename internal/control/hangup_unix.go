//go:build !windows

package control

import (
	"context"
	"errors"
	"io"
	"net"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// hangupPoll is how often a half-closed connection is checked for the
// peer being gone.
const hangupPoll = 100 * time.Millisecond

// awaitHangup returns when the client on c has gone (or ctx ends). The
// client sends nothing after its request, so a read that returns data or an
// error means it is gone; a read that returns EOF may be a half-close
// (shutdown(SHUT_WR), `nc -N`): the client still waits for its answer. Then
// only a real hang-up counts: the socket reports POLLHUP once the peer has
// closed both directions. halfClosed (tests) is called when a half-close is
// seen.
func awaitHangup(ctx context.Context, c net.Conn, halfClosed func()) {
	var b [1]byte
	c.SetReadDeadline(time.Time{})
	if _, err := c.Read(b[:]); !errors.Is(err, io.EOF) {
		return
	}
	sc, ok := c.(syscall.Conn)
	if !ok {
		return
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return
	}
	if halfClosed != nil {
		halfClosed()
	}
	for ctx.Err() == nil {
		gone := false
		cerr := raw.Control(func(fd uintptr) {
			fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLHUP}}
			n, err := unix.Poll(fds, int(hangupPoll/time.Millisecond))
			switch {
			case errors.Is(err, unix.EINTR):
			case err != nil:
				gone = true
			case n > 0:
				gone = fds[0].Revents&(unix.POLLHUP|unix.POLLERR|unix.POLLNVAL) != 0
			}
		})
		if cerr != nil || gone {
			return
		}
	}
}
