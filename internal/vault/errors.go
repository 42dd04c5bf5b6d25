package vault

import (
	"errors"
	"fmt"
	"time"
)

// Sentinel errors. Every error a backend returns that falls into one of these
// classes matches it with errors.Is; the error text adds what happened and
// which account it concerned.
var (
	// ErrNotFound means no envelope is stored for the account.
	ErrNotFound = errors.New("not found")
	// ErrCorrupt means stored data exists but cannot be decoded.
	ErrCorrupt = errors.New("stored data is corrupt")
	// ErrLocked means the keychain is locked or wants an interactive prompt.
	ErrLocked = errors.New("keychain locked")
	// ErrTimeout means the storage did not answer in time.
	ErrTimeout = errors.New("timed out")
	// ErrUnavailable means the storage cannot be used at all.
	ErrUnavailable = errors.New("storage unavailable")
)

// classError is an error that belongs to one sentinel class and may carry a
// cause. Its text is msg (plus ": cause" when there is one).
type classError struct {
	class error
	msg   string
	cause error
}

func (e *classError) Error() string {
	if e.cause == nil {
		return e.msg
	}
	return e.msg + ": " + e.cause.Error()
}

func (e *classError) Unwrap() []error {
	if e.cause == nil {
		return []error{e.class}
	}
	return []error{e.class, e.cause}
}

func newClassError(class error, cause error, format string, args ...any) error {
	return &classError{class: class, msg: fmt.Sprintf(format, args...), cause: cause}
}

// timeoutError reports a keychain call that did not return within d.
func timeoutError(d time.Duration, cause error) error {
	return &classError{class: ErrTimeout, msg: fmt.Sprintf("keychain did not answer within %s", d), cause: cause}
}
