package engine

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// AccessToken is an access token handed to a caller of Token. It formats and
// logs redacted.
type AccessToken struct {
	Token  string
	Expiry time.Time
	Type   string
	// Lifetime is how long the provider made the token valid (expiry minus
	// the time it was obtained); 0 if unknown.
	Lifetime time.Duration
	// ShorterThanAsked is set when Lifetime is shorter than the minValid the
	// caller asked for: no token can satisfy it, so Token served one at most
	// half a lifetime old instead (it refreshes once per half lifetime).
	ShorterThanAsked bool
	// Unsaved is set when the pair behind the token is held only in this
	// process's memory because saving it failed (storage degraded). A
	// process about to exit must call Flush and not report success if it
	// fails.
	Unsaved bool
	// Scopes are the scopes the token was issued for (TokenFor; the
	// provider's answer, else the request's).
	Scopes []string
	// Username is who the token was issued to: the id token's
	// preferred_username ("" when unknown).
	Username string
}

// String never prints the token.
func (t AccessToken) String() string {
	return fmt.Sprintf("AccessToken{type=%s expiry=%s lifetime=%s token=[redacted]}", t.Type, t.Expiry.Format(time.RFC3339), t.Lifetime)
}

// GoString never prints the token.
func (t AccessToken) GoString() string { return t.String() }

// LogValue never logs the token.
func (t AccessToken) LogValue() slog.Value {
	return slog.GroupValue(slog.String("type", t.Type), slog.Time("expiry", t.Expiry), slog.Duration("lifetime", t.Lifetime))
}

// Errors returned by the engine's actions.
var (
	ErrUnknownAccount = errors.New("no such account in the settings")
	// ErrNeedsSignIn is matched (errors.Is) by every error of Token,
	// RefreshNow and TokenFor for an account that gets no tokens until the
	// user signs in: it is signed out (ErrSignedOut), or the provider ended
	// its grant (a permanent OAuth error; state NeedsSignIn).
	ErrNeedsSignIn = errors.New("needs sign-in")
	// ErrSignedOut means the account has no stored sign-in. It matches
	// ErrNeedsSignIn too.
	ErrSignedOut error = &needsSignInError{err: errors.New("account is signed out; sign in first")}
	ErrNoSigner        = errors.New("sign-in is not available in this process")
)

// needsSignInError is err, with err's message, that also matches
// ErrNeedsSignIn.
type needsSignInError struct{ err error }

func (e *needsSignInError) Error() string        { return e.err.Error() }
func (e *needsSignInError) Unwrap() error        { return e.err }
func (e *needsSignInError) Is(target error) bool { return target == ErrNeedsSignIn }
