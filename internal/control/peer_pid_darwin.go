package control

import (
	"bytes"

	"golang.org/x/sys/unix"
)

// fdPeerPID reads the peer's pid with LOCAL_PEERPID.
func fdPeerPID(fd int) (int, error) {
	return unix.GetsockoptInt(fd, unix.SOL_LOCAL, unix.LOCAL_PEERPID)
}

// ProcessExe returns the executable of process pid from the
// kern.procargs2 sysctl (what proc_pidpath reads, without cgo); "" when it
// cannot be read.
func ProcessExe(pid int) string {
	b, err := unix.SysctlRaw("kern.procargs2", pid)
	if err != nil || len(b) < 5 {
		return ""
	}
	b = b[4:] // argc, then the executable path, NUL-terminated
	if i := bytes.IndexByte(b, 0); i > 0 {
		return string(b[:i])
	}
	return ""
}

// ParentPID returns the pid of process pid's parent (kern.proc.pid); 0
// when unknown.
func ParentPID(pid int) int {
	kp, err := unix.SysctlKinfoProc("kern.proc.pid", pid)
	if err != nil {
		return 0
	}
	return int(kp.Eproc.Ppid)
}
