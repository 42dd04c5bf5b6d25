package hooks

import (
	"errors"

	"golang.org/x/sys/unix"
)

// gone reports whether process pid has exited (or exits within 30 s: a
// killed process may take a moment to finish dying). It waits on a pidfd,
// which becomes readable when the process exits.
func gone(pid int) bool {
	fd, err := unix.PidfdOpen(pid, 0)
	if errors.Is(err, unix.ESRCH) {
		return true
	}
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, 30_000)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		return err == nil && n == 1
	}
}
