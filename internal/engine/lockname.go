package engine

import "encoding/hex"

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
