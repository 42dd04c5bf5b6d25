package control

import (
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// fdPeerPID reads the peer's pid with SO_PEERCRED.
func fdPeerPID(fd int) (int, error) {
	cred, err := unix.GetsockoptUcred(fd, unix.SOL_SOCKET, unix.SO_PEERCRED)
	if err != nil {
		return 0, err
	}
	return int(cred.Pid), nil
}

// ProcessExe returns the executable of process pid, "" when it cannot be
// read (the process has exited, or belongs to someone else).
func ProcessExe(pid int) string {
	p, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe")
	if err != nil {
		return ""
	}
	return p
}
