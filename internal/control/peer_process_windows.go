package control

import (
	"net"

	"golang.org/x/sys/windows"
)

// peerProcess returns the process on the other end of the pipe c
// (GetNamedPipeClientProcessId) and its executable.
func peerProcess(c net.Conn) Peer {
	h, err := pipeHandle(c)
	if err != nil {
		return Peer{}
	}
	var pid uint32
	if err := windows.GetNamedPipeClientProcessId(h, &pid); err != nil || pid == 0 {
		return Peer{}
	}
	return Peer{PID: int(pid), Exe: ProcessExe(int(pid))}
}

// ProcessExe returns the executable of process pid
// (QueryFullProcessImageNameW); "" when it cannot be read.
func ProcessExe(pid int) string {
	p, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, uint32(pid))
	if err != nil {
		return ""
	}
	defer windows.CloseHandle(p)
	buf := make([]uint16, windows.MAX_LONG_PATH)
	n := uint32(len(buf))
	if err := windows.QueryFullProcessImageName(p, 0, &buf[0], &n); err != nil {
		return ""
	}
	return windows.UTF16ToString(buf[:n])
}
