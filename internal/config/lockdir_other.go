//go:build !unix && !windows

package config

import (
	"fmt"
	"os"
	"runtime"
)

func userLockDir() (string, error) {
	return "", fmt.Errorf("no per-user lock directory is known on %s", runtime.GOOS)
}

func ensureLockDir(dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("create lock directory %s: %w", dir, err)
	}
	return dir, nil
}
