//go:build unix

package hooks

import (
	"errors"
	"os/exec"
	"syscall"
)

// group is a hook's process group: the hook and every child it starts,
// killed together.
type group struct{ cmd *exec.Cmd }

// newGroup makes cmd start in a process group of its own, killed whole
// when cmd's context ends.
func newGroup(cmd *exec.Cmd) *group {
	g := &group{cmd: cmd}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = g.kill
	return g
}

// started is called once cmd has started.
func (g *group) started() {}

// kill kills the process group (kill -pgid).
func (g *group) kill() error {
	if g.cmd.Process == nil {
		return nil
	}
	return syscall.Kill(-g.cmd.Process.Pid, syscall.SIGKILL)
}

// empty reports whether no process is left in the group. A group whose
// processes are all gone cannot get new ones: its id is not handed out
// again while any of them lives.
func (g *group) empty() bool {
	if g.cmd.Process == nil {
		return true
	}
	return errors.Is(syscall.Kill(-g.cmd.Process.Pid, 0), syscall.ESRCH)
}

// close releases the group.
func (g *group) close() {}
