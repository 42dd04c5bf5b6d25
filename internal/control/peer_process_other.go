//go:build !linux && !darwin && !windows

package control

import "net"

// peerProcess is unknown here.
func peerProcess(net.Conn) Peer { return Peer{} }

// ProcessExe is unknown here.
func ProcessExe(int) string { return "" }

// ParentPID is unknown here.
func ParentPID(int) int { return 0 }
