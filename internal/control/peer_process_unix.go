//go:build linux || darwin

package control

import (
	"net"
	"syscall"
)

// peerProcess returns the process on the other end of c: the pid the
// kernel recorded for the socket (SO_PEERCRED on Linux, LOCAL_PEERPID on
// macOS) and its executable. Zero when the kernel does not tell.
func peerProcess(c net.Conn) Peer {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return Peer{}
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return Peer{}
	}
	pid := 0
	if err := raw.Control(func(fd uintptr) { pid, _ = fdPeerPID(int(fd)) }); err != nil || pid <= 0 {
		return Peer{}
	}
	return peerOf(pid)
}
