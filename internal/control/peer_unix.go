//go:build linux || darwin

package control

import (
	"fmt"
	"net"
	"syscall"
)

// peerCheck is true where the server can learn the connecting process's uid.
const peerCheck = true

// peerUID returns the uid of the process on the other end of c, as the
// kernel records it for the socket (fdPeerUID: SO_PEERCRED on Linux,
// LOCAL_PEERCRED on macOS).
func peerUID(c net.Conn) (int, error) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return -1, fmt.Errorf("peer credentials: %T is not a socket", c)
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return -1, fmt.Errorf("peer credentials: %w", err)
	}
	uid, credErr := -1, error(nil)
	if err := raw.Control(func(fd uintptr) { uid, credErr = fdPeerUID(int(fd)) }); err != nil {
		return -1, fmt.Errorf("peer credentials: %w", err)
	}
	if credErr != nil {
		return -1, fmt.Errorf("peer credentials: %w", credErr)
	}
	return uid, nil
}
