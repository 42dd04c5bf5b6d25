package engine

import (
	"encoding/hex"
	"time"
)

// The cross-process lock file, on every OS (lock.go, lock_unix.go).
const (
	lockRetry = 10 * time.Millisecond // between attempts to take a held lock file
	lockWait  = 2 * time.Minute       // give up on a lock file after this long
)

// lockName is the lock file's name for an account: the name itself when it
// is plain, else "~" and its hex form, so no name can escape the directory
// or collide with a plain one.
func lockName(account string) string {
	plain := account != "" && account[0] != '.'
	for _, r := range account {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			plain = false
			break
		}
	}
	if plain {
		return account + ".lock"
	}
	return "~" + hex.EncodeToString([]byte(account)) + ".lock"
}
