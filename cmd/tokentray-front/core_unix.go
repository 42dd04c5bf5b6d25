//go:build unix

package main

import (
	"os"
	"syscall"
)

// runCore replaces this process with the full program: same pid, stdio,
// arguments (argv[0] kept, so ps shows "tokentray") and environment.
// It returns only when exec fails.
func runCore(core string, argv []string) error {
	return syscall.Exec(core, argv, os.Environ())
}
