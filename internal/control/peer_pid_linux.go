package control

import (
	"os"
	"strconv"
	"strings"

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

// ParentPID returns the pid of process pid's parent from /proc/PID/stat;
// 0 when unknown.
func ParentPID(pid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// "pid (comm) state ppid ...": comm may hold spaces and parentheses.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 2 {
		return 0
	}
	pp, _ := strconv.Atoi(f[1])
	return pp
}
