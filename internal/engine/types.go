package engine

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// State is an account's place in the state machine (see the package doc).
type State string

// The states of an account.
const (
	SignedOut       State = "signed_out"
	OK              State = "ok"
	Refreshing      State = "refreshing"
	BackingOff      State = "backing_off"
	Failing         State = "failing"
	NeedsSignIn     State = "needs_signin"
	StorageDegraded State = "storage_degraded"
)

// Error classes used in ErrorInfo.Class and Counters.RefreshFailedTotal.
const (
	ClassTransient  = "transient"
	ClassRetryAfter = "retry-after"
	ClassPermanent  = "permanent"
	ClassStorage    = "storage"
)

// Snapshot is a consistent, immutable view of every account and the counters.
// Its JSON form is what `tokentray status --json` prints.
type Snapshot struct {
	At       time.Time       `json:"at"`
	Accounts []AccountStatus `json:"accounts"`
	Counters Counters        `json:"counters"`
}

// Account returns the status of the named account.
func (s Snapshot) Account(name string) (AccountStatus, bool) {
	for _, a := range s.Accounts {
		if a.Name == name {
			return a, true
		}
	}
	return AccountStatus{}, false
}

// AccountStatus is one account in a Snapshot. It never holds a secret.
type AccountStatus struct {
	Name         string     `json:"name"`
	Provider     string     `json:"provider"`
	State        State      `json:"state"`
	Reason       string     `json:"reason,omitempty"`
	SignedInAs   Identity   `json:"signed_in_as"`
	LastAttempt  time.Time  `json:"last_attempt,omitzero"`
	LastSuccess  time.Time  `json:"last_success,omitzero"`
	Fresh        bool       `json:"fresh"`
	NextDue      time.Time  `json:"next_due,omitzero"` // zero: no automatic refresh planned
	AccessExpiry time.Time  `json:"access_expiry,omitzero"`
	LastError    *ErrorInfo `json:"last_error,omitempty"`
	Storage      Storage    `json:"storage"`
	Failures     int        `json:"failures"`
	BackoffUntil time.Time  `json:"backoff_until,omitzero"`
	History      []Event    `json:"history"` // the last 24 h, oldest first
	// Radar is when the next interactive sign-in will be needed, where the
	// provider tells (radar.go); nil when unknown.
	Radar *Radar `json:"radar,omitempty"`
	// Scoped lists the per-resource tokens cached in this process's memory
	// (TokenFor), least recently used first: scope sets and expiry only.
	Scoped []ScopedStatus `json:"scoped,omitempty"`
}

// Identity is who an account is signed in as, from the ID token's claims.
type Identity struct {
	Name     string `json:"name,omitempty"`
	Username string `json:"username,omitempty"`
	TenantID string `json:"tenant_id,omitempty"`
	Subject  string `json:"subject,omitempty"`
}

// ErrorInfo is the last failure of an account, fit to show a user. The
// provider's fields (OAuth error code, AADSTS codes, HTTP status, trace and
// correlation ids) are set when the provider answered; they are what a
// support ticket needs and never hold a token.
type ErrorInfo struct {
	Class         string    `json:"class"`
	Message       string    `json:"message"`
	At            time.Time `json:"at"`
	Code          string    `json:"code,omitempty"` // OAuth "error", e.g. invalid_grant
	AADSTS        []int     `json:"aadsts,omitempty"`
	HTTPStatus    int       `json:"http_status,omitempty"`
	TraceID       string    `json:"trace_id,omitempty"`
	CorrelationID string    `json:"correlation_id,omitempty"`
}

// Storage says where an account's secrets live and whether the newest pair
// is only in memory because saving it failed.
type Storage struct {
	Kind     string `json:"kind"`
	Degraded bool   `json:"degraded"`
}

// Event kinds.
const (
	EventOK     = "ok"
	EventFailed = "failed"
)

// Event is one refresh attempt in an account's history.
type Event struct {
	At     time.Time `json:"at"`
	Kind   string    `json:"kind"` // "ok" | "failed"
	Fresh  bool      `json:"fresh"`
	Expiry time.Time `json:"expiry,omitzero"`
}

// Counters are process-wide refresh totals. A skipped refresh is one that
// was due or asked for but not sent: another process had already refreshed,
// Retry-After was running, or the budget was spent (an automatic refresh
// deferred by the budget counts each time it is deferred).
type Counters struct {
	RefreshSuccessTotal int            `json:"refresh_success_total"`
	RefreshFailedTotal  map[string]int `json:"refresh_failed_total"` // by class
	RefreshSkippedTotal int            `json:"refresh_skipped_total"`
}

// Result is the outcome of a refresh that did not fail.
type Result struct {
	Account string    `json:"account"`
	Fresh   bool      `json:"fresh"`           // the provider returned a new access token
	Expiry  time.Time `json:"expiry,omitzero"` // of the access token now held
	Skipped bool      `json:"skipped"`         // no request was needed (another process had refreshed)
	Saved   bool      `json:"saved"`           // false: kept in memory only (storage degraded)
}

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

// Notification kinds.
const (
	NotifyNeedsSignIn = "needs_signin"
	NotifyFailing     = "failing"
)

// Notification is sent once per episode: when an account needs sign-in, and
// when it starts failing.
type Notification struct {
	Account string
	Kind    string // NotifyNeedsSignIn | NotifyFailing
	Message string
}

// Refusal reasons.
const (
	RefusedRetryAfter = "retry_after"
	RefusedBudget     = "budget"
)

// Refused is returned when a requested refresh is not sent: the provider's
// Retry-After is still running, or the global refresh budget is spent.
type Refused struct {
	Reason string    // RefusedRetryAfter | RefusedBudget
	Until  time.Time // earliest time a refresh will be allowed
}

func (r *Refused) Error() string {
	at := r.Until.Local().Format("15:04:05")
	switch r.Reason {
	case RefusedRetryAfter:
		return fmt.Sprintf("refresh refused: the provider asked to wait (Retry-After); try again after %s", at)
	case RefusedBudget:
		return fmt.Sprintf("refresh refused: the refresh budget for all accounts is used up; try again after %s", at)
	}
	return fmt.Sprintf("refresh refused (%s) until %s", r.Reason, at)
}

// Errors returned by the engine's actions.
var (
	ErrUnknownAccount = errors.New("no such account in the settings")
	// ErrNeedsSignIn is matched (errors.Is) by every error of Token,
	// RefreshNow and RefreshAll for an account that gets no tokens until the
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
