package state

import "time"

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
	Cloud        string     `json:"cloud,omitempty"` // microsoft: public, usgov or china
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
	// AzureSDK is the account's managed-identity endpoint for the Azure
	// SDKs, when the running keeper serves one (account setting azure_sdk).
	AzureSDK *AzureSDKStatus `json:"azure_sdk,omitempty"`
}

// AzureSDKStatus is an account's Azure SDK endpoint: where it listens, or
// why it does not. It never holds the endpoint's secret.
type AzureSDKStatus struct {
	URL       string `json:"url"`
	Listening bool   `json:"listening"`
	Problem   string `json:"problem,omitempty"`
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
