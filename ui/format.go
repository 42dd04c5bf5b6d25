package ui

import (
	"errors"
	"fmt"
	"time"

	"github.com/tokentray/tokentray/internal/state"
)

// ClockTime formats t as "15:04" when it falls on now's day, else with the
// date ("Jan 2 15:04"), in loc.
func ClockTime(t, now time.Time, loc *time.Location) string {
	t, now = t.In(loc), now.In(loc)
	if y, m, d := t.Date(); y == now.Year() && m == now.Month() && d == now.Day() {
		return t.Format("15:04")
	}
	return t.Format("Jan 2 15:04")
}

// Countdown formats d as "1h 02m", "42m 10s" or "9s" (d ≥ 0).
func Countdown(d time.Duration) string {
	d = max(d, 0).Truncate(time.Second)
	h, m, s := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	switch {
	case h > 0:
		return fmt.Sprintf("%dh %02dm", h, m)
	case m > 0:
		return fmt.Sprintf("%dm %02ds", m, s)
	}
	return fmt.Sprintf("%ds", s)
}

// ExpiryText says how long the access token stays valid, counting down.
func ExpiryText(exp, now time.Time) string {
	switch {
	case exp.IsZero():
		return "Access token: none held"
	case exp.After(now):
		return "Access token expires in " + Countdown(exp.Sub(now))
	}
	return "Access token expired " + Countdown(now.Sub(exp)) + " ago"
}

// StateLabel is the short human name of a state.
func StateLabel(s state.State) string {
	switch s {
	case state.OK:
		return "OK"
	case state.Refreshing:
		return "Refreshing…"
	case state.BackingOff:
		return "Backing off"
	case state.Failing:
		return "Failing"
	case state.NeedsSignIn:
		return "Needs sign-in"
	case state.StorageDegraded:
		return "Storage degraded"
	case state.SignedOut:
		return "Signed out"
	}
	return string(s)
}

// IdentityText is who the account is signed in as.
func IdentityText(id state.Identity) string {
	switch {
	case id.Name != "" && id.Username != "":
		return fmt.Sprintf("Signed in as %s (%s)", id.Name, id.Username)
	case id.Username != "":
		return "Signed in as " + id.Username
	case id.Name != "":
		return "Signed in as " + id.Name
	case id.Subject != "":
		return "Signed in as subject " + id.Subject
	}
	return "Signed in as: unknown (no ID token claims)"
}

// FreshText explains whether the last refresh brought a new access token.
func FreshText(fresh bool) string {
	if fresh {
		return "new token from provider"
	}
	return "provider returned the same token"
}

// FixText is the action that fixes the account's last error.
func FixText(a state.AccountStatus, now time.Time, loc *time.Location) string {
	if a.LastError == nil {
		return ""
	}
	switch a.LastError.Class {
	case state.ClassPermanent:
		return "Fix: sign in again (Sign in)."
	case state.ClassRetryAfter:
		if a.BackoffUntil.After(now) {
			return "Fix: none needed — the provider asked to wait; tokentray retries at " + ClockTime(a.BackoffUntil, now, loc) + "."
		}
		return "Fix: none needed — the provider asked to wait; tokentray retries automatically."
	case state.ClassStorage:
		return "Fix: unlock the keychain, or choose storage \"file\" in Settings and restart."
	}
	return "Fix: check the network; tokentray retries automatically, or press Refresh now."
}

// StorageText says where the account's secrets live.
func StorageText(st state.Storage) string {
	kind := st.Kind
	if kind == "" {
		kind = "unknown"
	}
	if st.Degraded {
		return "Storage: " + kind + " — degraded: the newest token is only in memory, saving is retried"
	}
	return "Storage: " + kind
}

// ProviderName is the display name of a config provider kind.
func ProviderName(p string) string {
	switch p {
	case "microsoft":
		return "Microsoft"
	case "oidc":
		return "OpenID Connect"
	case "":
		return "unknown provider"
	}
	return p
}

// NextText says when the next automatic refresh runs, counting down to it,
// or why none does: "Next refresh in 34m 00s (13:04)".
func NextText(a state.AccountStatus, now time.Time, loc *time.Location) string {
	in := func(t time.Time) string {
		if !t.After(now) {
			return "now"
		}
		return "in " + Countdown(t.Sub(now)) + " (" + ClockTime(t, now, loc) + ")"
	}
	switch a.State {
	case state.NeedsSignIn:
		return "Next refresh: none until you sign in again"
	case state.SignedOut:
		return "Next refresh: none (signed out)"
	case state.Refreshing:
		return "Refreshing now…"
	case state.BackingOff, state.Failing:
		if r := RetryAt(a); !r.IsZero() {
			return fmt.Sprintf("Retry %s — %d failures in a row", in(r), a.Failures)
		}
	}
	if a.NextDue.IsZero() {
		return "Next refresh: none (automatic refresh is off)"
	}
	return "Next refresh " + in(a.NextDue)
}

// RetryAt is when a backing-off account is tried again.
func RetryAt(a state.AccountStatus) time.Time {
	if !a.NextDue.IsZero() {
		return a.NextDue
	}
	return a.BackoffUntil
}

// CanRefresh reports whether Refresh now makes sense in state st (the
// engine decides; this only greys out what cannot work).
func CanRefresh(st state.State) bool {
	return st != state.SignedOut && st != state.NeedsSignIn
}

// RefreshOutcome is the one-line result of a Refresh now.
func RefreshOutcome(res state.Result, err error) string {
	var r *state.Refused
	switch {
	case errors.As(err, &r):
		return r.Error()
	case err != nil:
		return "Refresh failed: " + err.Error()
	case res.Skipped:
		return "No request needed: another tokentray process had just refreshed."
	case !res.Saved:
		return "Refreshed (" + FreshText(res.Fresh) + "), but saving failed; the token is kept in memory."
	}
	return "Refreshed: " + FreshText(res.Fresh) + "."
}
