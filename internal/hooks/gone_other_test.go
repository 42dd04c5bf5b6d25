//go:build unix && !linux

package hooks

import "syscall"

// gone reports whether process pid has exited (signal 0 fails). A process
// still finishing its death may count as running.
func gone(pid int) bool { return syscall.Kill(pid, 0) != nil }
