//go:build linux || darwin

package control

import (
	"fmt"
	"net"
	"syscall"

	"github.com/tokentray/tokentray/internal/control/sockpath"
)

// peerCheck is true where the server can learn the connecting process's uid.
const peerCheck = true

// peerUID returns the uid of the process on the other end of c, as the
// kernel records it for the socket (sockpath.PeerUID: SO_PEERCRED on
// Linux, LOCAL_PEERCRED on macOS).
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
	if err := raw.Control(func(fd uintptr) { uid, credErr = sockpath.PeerUID(int(fd)) }); err != nil {
		return -1, fmt.Errorf("peer credentials: %w", err)
	}
	if credErr != nil {
		return -1, fmt.Errorf("peer credentials: %w", credErr)
	}
	return uid, nil
}
