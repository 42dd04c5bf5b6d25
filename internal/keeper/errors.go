package keeper

import (
	"errors"
	"fmt"

	"github.com/tokentray/tokentray/internal/control"
	"github.com/tokentray/tokentray/internal/engine"
	"github.com/tokentray/tokentray/internal/oauth"
	"github.com/tokentray/tokentray/internal/wire"
)

// coded gives an engine failure its exit code: 3 when the user must sign
// in, 2 for an unknown account; an error that has one keeps it.
func coded(err error) error {
	var c control.Coded
	if err == nil || errors.As(err, &c) {
		return err
	}
	code := 0
	var oe *oauth.Error
	switch {
	case errors.Is(err, engine.ErrUnknownAccount):
		code = wire.CodeUsage
	case errors.Is(err, engine.ErrNeedsSignIn), errors.As(err, &oe) && oe.Class == oauth.Permanent:
		code = wire.CodeNeedsSignIn
	}
	if code == 0 {
		return err
	}
	return &control.CodedError{Code: code, Err: err}
}

// signInError gives an engine failure of an account that needs sign-in
// exit code 3 and the command that fixes it.
func signInError(name string, err error) error {
	if err == nil || !errors.Is(err, engine.ErrNeedsSignIn) {
		return coded(err)
	}
	msg := err.Error()
	if errors.Is(err, engine.ErrSignedOut) {
		msg = fmt.Sprintf("account %q is not signed in", name)
	}
	return &control.CodedError{Code: wire.CodeNeedsSignIn, Err: fmt.Errorf("%s; run: tokentray login %s", msg, name)}
}

// importError words a refused import.
func importError(err error) error {
	var oe *oauth.Error
	if errors.As(err, &oe) && oe.Class == oauth.Permanent {
		return &control.CodedError{Code: wire.CodeNeedsSignIn, Err: fmt.Errorf("the provider refused this refresh token: %s", oe.UserMessage())}
	}
	return coded(err)
}

// joinCoded returns nil for no errors, else the errors joined with the
// most specific exit code among them.
func joinCoded(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	for _, e := range errs {
		if control.CodeOf(e) == wire.CodeNeedsSignIn {
			return &control.CodedError{Code: wire.CodeNeedsSignIn, Err: errors.Join(errs...)}
		}
	}
	return errors.Join(errs...)
}
