package wire

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Request is one call. It travels as a single JSON object terminated by a
// newline; unknown fields are ignored. Secret is never logged or echoed:
// Request formats and logs redacted.
type Request struct {
	Proto   int    `json:"proto"`            // ProtocolVersion of the client
	Client  string `json:"client,omitempty"` // the client's tokentray version, for messages
	Op      string `json:"op"`
	Account string `json:"account,omitempty"`
	All     bool   `json:"all,omitempty"`
	// Timeout is the handler's time budget (JSON: integer nanoseconds);
	// 0 means DefaultTimeout, more than MaxTimeout (MaxLoginTimeout for
	// login) is refused. Subscriptions have no budget: they last until
	// either side closes.
	Timeout   time.Duration `json:"timeout,omitempty"`
	MinValid  time.Duration `json:"min_valid,omitempty"`  // token: valid for at least this long
	Device    bool          `json:"device,omitempty"`     // login: device code flow
	NoBrowser bool          `json:"no_browser,omitempty"` // login: the URL is printed by the client instead of opened
	// Secret is the refresh token of OpImport, or the client secret of a
	// confidential client for OpLogin and OpAccountAdd.
	Secret string          `json:"secret,omitempty"`
	Tab    string          `json:"tab,omitempty"`    // show: TabAccounts, TabSettings, TabSignIn
	Window bool            `json:"window,omitempty"` // subscribe: the subscriber is the window (it receives show events)
	Demo   bool            `json:"demo,omitempty"`   // restart: into the demo ("Try the demo account")
	Body   json.RawMessage `json:"body,omitempty"`   // account_add: config.Account; settings_save: config.Settings
	// token: a per-resource scope set (one scope per element), and a claims
	// challenge (base64 of the JSON, as in WWW-Authenticate) that forces a
	// refresh carrying it.
	Scopes []string `json:"scopes,omitempty"`
	Claims string   `json:"claims,omitempty"`
	Limit  int      `json:"limit,omitempty"` // access_log: at most this many entries (0: MaxAccessLogLimit)
}

// String never prints Secret.
func (r Request) String() string {
	return fmt.Sprintf("Request{op=%s account=%q}", r.Op, r.Account)
}

// GoString never prints Secret.
func (r Request) GoString() string { return r.String() }

// LogValue logs the op alone: accounts, bodies and secrets stay out of logs.
func (r Request) LogValue() slog.Value { return slog.StringValue(r.Op) }

// Validate reports whether the request is well-formed: a known op, a
// timeout within [0, the op's maximum], not both Account and All, a known
// tab, and free strings within their limits (Client, Account). The scope
// set of a token request is the keeper's to check.
func (r Request) Validate() error {
	known := false
	for _, op := range AllowedOps {
		if r.Op == op {
			known = true
			break
		}
	}
	switch {
	case r.Op == "":
		return fmt.Errorf("missing op (allowed: %s)", strings.Join(AllowedOps, ", "))
	case !known:
		return fmt.Errorf("unknown op %q (allowed: %s)", truncate(r.Op, 40), strings.Join(AllowedOps, ", "))
	case r.Timeout < 0:
		return fmt.Errorf("timeout %v is negative", r.Timeout)
	case r.Timeout > MaxTimeoutOf(r.Op):
		return fmt.Errorf("timeout %v exceeds the maximum %v", r.Timeout, MaxTimeoutOf(r.Op))
	case r.MinValid < 0 || r.MinValid > MaxMinValid:
		return fmt.Errorf("min_valid %v is out of range; allowed: 0s–%s", r.MinValid, fmtHours(MaxMinValid))
	case r.All && r.Account != "":
		return fmt.Errorf("account and all are mutually exclusive")
	case len(r.Client) > MaxClientLen:
		return fmt.Errorf("client of %d bytes is too long; limit %d", len(r.Client), MaxClientLen)
	case len(r.Account) > MaxAccountLen:
		return fmt.Errorf("account name of %d bytes is too long; limit %d", len(r.Account), MaxAccountLen)
	case r.Limit < 0 || r.Limit > MaxAccessLogLimit:
		return fmt.Errorf("limit %d is out of range; allowed: 0–%d", r.Limit, MaxAccessLogLimit)
	}
	switch r.Tab {
	case "", TabAccounts, TabSettings, TabSignIn:
	default:
		return fmt.Errorf("unknown tab %q (allowed: %s, %s, %s)", truncate(r.Tab, 40), TabAccounts, TabSettings, TabSignIn)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
