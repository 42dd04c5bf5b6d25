//go:build windows

package control

import (
	"fmt"
	"strings"
	"sync"

	"golang.org/x/sys/windows"
)

// pipePrefix starts every local named pipe path.
const pipePrefix = `\\.\pipe\`

// DefaultPath returns the control pipe of this user,
// \\.\pipe\tokentray-<SID> (the user's SID, e.g. S-1-5-21-…-1001): named
// pipes live in one namespace per machine, so the SID keeps users apart;
// the pipe's security descriptor admits only that SID.
func DefaultPath() (string, error) {
	sid, err := userSID()
	if err != nil {
		return "", err
	}
	return pipePrefix + appDir + "-" + sid.String(), nil
}

// isPipePath reports whether path names a local named pipe.
func isPipePath(path string) bool {
	return len(path) > len(pipePrefix) && strings.EqualFold(path[:len(pipePrefix)], pipePrefix)
}

// userSID returns the SID of the user this process runs as.
var userSID = sync.OnceValues(func() (*windows.SID, error) {
	tu, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return nil, fmt.Errorf("control: this user's SID: %w", err)
	}
	return tu.User.Sid.Copy()
})
