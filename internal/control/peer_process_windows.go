package control

import (
	"net"
	"unsafe"

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
	return peerOf(int(pid))
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

// ParentPID returns the pid of process pid's parent; 0 when unknown.
func ParentPID(pid int) int {
	snap, err := windows.CreateToolhelp32Snapshot(windows.TH32CS_SNAPPROCESS, 0)
	if err != nil {
		return 0
	}
	defer windows.CloseHandle(snap)
	var e windows.ProcessEntry32
	e.Size = uint32(unsafe.Sizeof(e))
	for err = windows.Process32First(snap, &e); err == nil; err = windows.Process32Next(snap, &e) {
		if e.ProcessID == uint32(pid) {
			return int(e.ParentProcessID)
		}
	}
	return 0
}
