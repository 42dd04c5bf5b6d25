package main

import (
	"os/exec"
	"syscall"
)

// detach starts the keeper, a console program, with no console window
// (CREATE_NO_WINDOW) in a process group of its own, so neither a flash of a
// console nor Ctrl-C in one reaches it.
func detach(cmd *exec.Cmd) {
	const createNoWindow = 0x08000000
	cmd.SysProcAttr = &syscall.SysProcAttr{
		CreationFlags: createNoWindow | syscall.CREATE_NEW_PROCESS_GROUP,
		HideWindow:    true,
	}
}
