//go:build windows

package hooks

import (
	"os/exec"
	"sync"
	"syscall"

	"golang.org/x/sys/windows"
)

// group is a hook's Job object: the hook and the children it starts after
// it was assigned (a few microseconds after it starts), killed together.
type group struct {
	cmd *exec.Cmd

	mu  sync.Mutex
	job windows.Handle // 0: not assigned; then only the process is killed
}

// newGroup makes cmd start in a new process group (no console signals from
// the keeper's), to be put in a Job object once started.
func newGroup(cmd *exec.Cmd) *group {
	g := &group{cmd: cmd}
	cmd.SysProcAttr = &syscall.SysProcAttr{CreationFlags: syscall.CREATE_NEW_PROCESS_GROUP}
	cmd.Cancel = g.kill
	return g
}

// started puts the started process in a Job object that kills everything
// in it when closed or terminated.
func (g *group) started() {
	job, err := windows.CreateJobObject(nil, nil)
	if err != nil {
		return
	}
	info := windows.JOBOBJECT_EXTENDED_LIMIT_INFORMATION{}
	info.BasicLimitInformation.LimitFlags = windows.JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
	windows.SetInformationJobObject(job, windows.JobObjectExtendedLimitInformation, uintptr(unsafePointer(&info)), uint32(sizeofExtended))
	p, err := windows.OpenProcess(windows.PROCESS_SET_QUOTA|windows.PROCESS_TERMINATE, false, uint32(g.cmd.Process.Pid))
	if err != nil {
		windows.CloseHandle(job)
		return
	}
	defer windows.CloseHandle(p)
	if err := windows.AssignProcessToJobObject(job, p); err != nil {
		windows.CloseHandle(job)
		return
	}
	g.mu.Lock()
	g.job = job
	g.mu.Unlock()
}

// kill terminates the Job object (or, without one, the process).
func (g *group) kill() error {
	g.mu.Lock()
	job := g.job
	g.mu.Unlock()
	if job != 0 {
		return windows.TerminateJobObject(job, 1)
	}
	if g.cmd.Process == nil {
		return nil
	}
	return g.cmd.Process.Kill()
}

// jobAccounting is JOBOBJECT_BASIC_ACCOUNTING_INFORMATION.
type jobAccounting struct {
	TotalUserTime, TotalKernelTime                       int64
	ThisPeriodTotalUserTime, ThisPeriodTotalKernelTime   int64
	TotalPageFaultCount, TotalProcesses, ActiveProcesses uint32
	TotalTerminatedProcesses                             uint32
}

// empty reports whether no process is left in the Job object (without
// one, whether the process has ended: Wait has returned by then).
func (g *group) empty() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.job == 0 {
		return true
	}
	info, err := accounting(g.job)
	if err != nil {
		return true // nothing to wait for that can be seen
	}
	return info.ActiveProcesses == 0
}

// close releases the Job object; what still runs in it is killed
// (JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE), as on Unix a hook's group is.
func (g *group) close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.job != 0 {
		windows.CloseHandle(g.job)
		g.job = 0
	}
}
