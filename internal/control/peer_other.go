//go:build !linux && !darwin

package control

import "net"

// peerCheck is false here: the server does not learn the peer's uid and
// relies on the socket directory being 0700 and owned by the user (on
// Windows: on the per-user %LocalAppData% ACL).
const peerCheck = false

func peerUID(*net.UnixConn) (int, error) { return -1, nil }
