package ui

import (
	"fmt"
	"time"

	"github.com/tokentray/tokentray/internal/engine"
)

// clockTime formats t as "15:04" when it falls on now's day, else with the
// date ("Jan 2 15:04"), in loc.
func clockTime(t, now time.Time, loc *time.Location) string {
	t, now = t.In(loc), now.In(loc)
	if y, m, d := t.Date(); y == now.Year() && m == now.Month() && d == now.Day() {
		return t.Format("15:04")
	}
	return t.Format("Jan 2 15:04")
}

// countdown formats d as "1h 02m", "42m 10s" or "9s" (d ≥ 0).
func countdown(d time.Duration) string {
	d = d.Truncate(time.Second)
	h, m, s := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	switch {
	case h > 0:
		return fmt.Sprintf("%dh %02dm", h, m)
	case m > 0:
		return fmt.Sprintf("%dm %02ds", m, s)
	}
	return fmt.Sprintf("%ds", s)
}

// expiryText says how long the access token stays valid, counting down.
func expiryText(exp, now time.Time) string {
	switch {
	case exp.IsZero():
		return "Access token: none held"
	case exp.After(now):
		return "Access token expires in " + countdown(exp.Sub(now))
	}
	return "Access token expired " + countdown(now.Sub(exp)) + " ago"
}

// stateLabel is the short human name of a state.
func stateLabel(s engine.State) string {
	switch s {
	case engine.OK:
		return "OK"
	case engine.Refreshing:
		return "Refreshing…"
	case engine.BackingOff:
		return "Backing off"
	case engine.Failing:
		return "Failing"
	case engine.NeedsSignIn:
		return "Needs sign-in"
	case engine.StorageDegraded:
		return "Storage degraded"
	case engine.SignedOut:
		return "Signed out"
	}
	return string(s)
}

// identityText is who the account is signed in as.
func identityText(id engine.Identity) string {
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

// freshText explains whether the last refresh brought a new access token.
func freshText(fresh bool) string {
	if fresh {
		return "new token from provider"
	}
	return "provider returned the same token"
}

// fixText is the action that fixes an error of class.
func fixText(a engine.AccountStatus, now time.Time, loc *time.Location) string {
	if a.LastError == nil {
		return ""
	}
	switch a.LastError.Class {
	case engine.ClassPermanent:
		return "Fix: sign in again (Sign in)."
	case engine.ClassRetryAfter:
		if a.BackoffUntil.After(now) {
			return "Fix: none needed — the provider asked to wait; tokentray retries at " + clockTime(a.BackoffUntil, now, loc) + "."
		}
		return "Fix: none needed — the provider asked to wait; tokentray retries automatically."
	case engine.ClassStorage:
		return "Fix: unlock the keychain, or choose storage \"file\" in Settings and restart."
	}
	return "Fix: check the network; tokentray retries automatically, or press Refresh now."
}

// storageText says where the account's secrets live.
func storageText(st engine.Storage) string {
	kind := st.Kind
	if kind == "" {
		kind = "unknown"
	}
	if st.Degraded {
		return "Storage: " + kind + " — degraded: the newest token is only in memory, saving is retried"
	}
	return "Storage: " + kind
}
