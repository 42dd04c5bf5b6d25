package vault

import (
	"errors"
	"strings"

	"github.com/zalando/go-keyring"
)

// errTooBig marks a backend refusal of an item as too large.
var errTooBig = errors.New("keychain refused the item as too big")

// lockedHints are fragments of the messages keychains give when they are
// locked or want to prompt the user (Secret Service via go-keyring, macOS
// security(1)).
var lockedHints = []string{
	"failed to unlock",
	"is locked",
	"islocked",
	"prompt",
	"user interaction is not allowed",
	"passphrase",
	"user canceled",
	"authorization",
}

// classify maps a backend error to the package's error classes. It keeps
// the cause (go-keyring and D-Bus messages carry no secret).
func classify(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, keyring.ErrNotFound):
		return ErrNotFound
	case errors.Is(err, keyring.ErrSetDataTooBig):
		return errTooBig
	}
	if c := platformClass(err); c != nil {
		return c
	}
	msg := strings.ToLower(err.Error())
	for _, h := range lockedHints {
		if strings.Contains(msg, h) {
			return newClassError(ErrLocked, err, "keychain is locked: unlock it (for example by logging in to the desktop) and retry")
		}
	}
	return newClassError(ErrUnavailable, err, "keychain unavailable")
}
