//go:build !windows

package main

import (
	"os/exec"
	"syscall"
)

// detach starts the keeper in a session of its own, so it outlives the
// window and a terminal's hang-up.
func detach(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
}
