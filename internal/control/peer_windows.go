//go:build windows

package control

import "net"

// peerCheck is false on Windows: there is no uid; the server checks the
// client process's SID instead (peerAllowed in endpoint_windows.go).
const peerCheck = false

func peerUID(net.Conn) (int, error) { return -1, nil }
