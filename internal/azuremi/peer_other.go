//go:build !linux

package azuremi

import "net/netip"

// tcpPeerPID is unknown here: the OS does not tell which process holds the
// other end of a loopback TCP connection without privileges.
func tcpPeerPID(local, remote netip.AddrPort) int { return 0 }
