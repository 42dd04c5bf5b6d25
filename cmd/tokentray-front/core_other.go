//go:build !unix

package main

import (
	"errors"
	"os"
	"os/exec"
)

const exeSuffix = ".exe"

// fastToken: the front answers nothing itself where there is no exec
// (Windows installs the full program as tokentray.exe; this build exists
// so ./cmd/... builds everywhere).
func fastToken([]string) (int, bool) { return 0, false }

// runCore runs the full program with this process's stdio and returns its
// exit status as an exitCode.
func runCore(core string, argv []string) error {
	cmd := exec.Command(core, argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if err == nil {
		return exitCode(0)
	}
	if errors.As(err, &ee) {
		return exitCode(ee.ExitCode())
	}
	return err
}
