package oauth

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Class says what the caller should do after a failure.
type Class int

const (
	// Transient failures (network, timeouts, 408, 5xx, temporarily_unavailable,
	// malformed bodies) should be retried with backoff.
	Transient Class = iota
	// RetryAfter failures (429, or 503 with Retry-After) must not be retried
	// before Error.RetryAfter has passed.
	RetryAfter
	// Permanent failures need the user to sign in again; retrying cannot help.
	Permanent
)

// String returns "transient", "retry-after" or "permanent".
func (c Class) String() string {
	switch c {
	case Transient:
		return "transient"
	case RetryAfter:
		return "retry-after"
	case Permanent:
		return "permanent"
	}
	return "unknown"
}

// Error is a classified failure of a token request. It never contains a token.
type Error struct {
	Class         Class
	Code          string // OAuth "error" field
	Description   string // OAuth "error_description" (tokens stripped)
	SubError      string // Microsoft "suberror"
	TraceID       string
	CorrelationID string
	AADSTS        []int // from error_codes or parsed from "AADSTSnnnn" in the description
	Status        int   // HTTP status; 0 for network errors
	RetryAfter    time.Duration
	// RetryAfterAsked is the wait the provider's Retry-After asked for when
	// it was more than MaxRetryAfter (RetryAfter then holds the cap); else 0.
	RetryAfterAsked time.Duration
	Err             error // underlying cause (network error, parse error), may be nil
}

// ErrRevokeUnsupported is returned by Revoke when the provider has no
// revocation endpoint (Microsoft); the caller just deletes the token locally.
var ErrRevokeUnsupported = errors.New("provider has no token revocation endpoint")

// ClassOf returns the Class of err: the Class of an *Error in its chain,
// Transient for any other non-nil error (and for nil).
func ClassOf(err error) Class {
	var e *Error
	if errors.As(err, &e) {
		return e.Class
	}
	return Transient
}

// Error describes the failure without any token: the server's code and
// description (with token-like parameters stripped), AADSTS codes and status.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("oauth ")
	b.WriteString(e.Class.String())
	b.WriteString(" error")
	if e.Status != 0 {
		fmt.Fprintf(&b, " (http %d)", e.Status)
	}
	if e.Code != "" {
		b.WriteString(": ")
		b.WriteString(e.Code)
	}
	if e.SubError != "" {
		fmt.Fprintf(&b, " (%s)", e.SubError)
	}
	if e.Description != "" {
		b.WriteString(": ")
		b.WriteString(firstLine(e.Description))
	} else if len(e.AADSTS) > 0 {
		fmt.Fprintf(&b, ": AADSTS%d", e.AADSTS[0])
	}
	if e.Class == RetryAfter && e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %s)", e.RetryAfter)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

func firstLine(s string) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		return s[:i]
	}
	return s
}
