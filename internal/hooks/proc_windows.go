//go:build windows

package hooks

import (
	"os/exec"
	"syscall"
)

// ownGroup starts cmd in a process group of its own (no console signals
// from the keeper's); when its context ends the process is killed.
// Children it started outlive it unless they exit with it.
func ownGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{CreationFlags: syscall.CREATE_NEW_PROCESS_GROUP}
}

// killGroup kills cmd's process.
func killGroup(cmd *exec.Cmd) error {
	if cmd.Process == nil {
		return nil
	}
	return cmd.Process.Kill()
}
