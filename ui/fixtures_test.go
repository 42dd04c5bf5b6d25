package ui

import (
	"time"

	"github.com/tokentray/tokentray/internal/engine"
)

// clock is the fixed "now" of every test: 12:30 UTC.
var clock = time.Date(2026, 3, 10, 12, 30, 0, 0, time.UTC)

func at(hhmm string) time.Time {
	t, err := time.ParseInLocation("15:04", hhmm, time.UTC)
	if err != nil {
		panic(err)
	}
	return time.Date(clock.Year(), clock.Month(), clock.Day(), t.Hour(), t.Minute(), 0, 0, time.UTC)
}

// history is a day of hourly refreshes with one failure.
func history() []engine.Event {
	var h []engine.Event
	for _, hh := range []string{"06:04", "07:04", "08:04", "10:04", "11:04", "12:04"} {
		h = append(h, engine.Event{At: at(hh), Kind: engine.EventOK, Fresh: true, Expiry: at(hh).Add(65 * time.Minute)})
	}
	h = append(h[:3], append([]engine.Event{{At: at("09:04"), Kind: engine.EventFailed}}, h[3:]...)...)
	return h
}

func okAccount(name string) engine.AccountStatus {
	return engine.AccountStatus{
		Name: name, Provider: "microsoft", State: engine.OK,
		SignedInAs:  engine.Identity{Name: "Ada Lovelace", Username: "ada@contoso.test"},
		LastAttempt: at("12:04"), LastSuccess: at("12:04"), Fresh: true,
		NextDue: at("13:04"), AccessExpiry: at("13:09"),
		Storage: engine.Storage{Kind: "keychain"},
		History: history(),
	}
}

func refreshingAccount(name string) engine.AccountStatus {
	a := okAccount(name)
	a.State = engine.Refreshing
	return a
}

func backingOffAccount(name string) engine.AccountStatus {
	a := okAccount(name)
	a.State = engine.BackingOff
	a.Failures = 3
	a.NextDue = at("12:40")
	a.BackoffUntil = at("12:40")
	a.LastAttempt = at("12:25")
	a.LastError = &engine.ErrorInfo{Class: engine.ClassTransient, Message: "the provider is unavailable (HTTP 503)", At: at("12:25")}
	a.History = append(a.History, engine.Event{At: at("12:25"), Kind: engine.EventFailed})
	return a
}

func needsSignInAccount(name string) engine.AccountStatus {
	a := okAccount(name)
	a.State = engine.NeedsSignIn
	a.NextDue = time.Time{}
	a.Reason = "the refresh token was revoked (AADSTS50173)"
	a.LastAttempt = at("12:20")
	a.LastError = &engine.ErrorInfo{Class: engine.ClassPermanent, Message: "invalid_grant: the refresh token was revoked", At: at("12:20")}
	a.History = append(a.History, engine.Event{At: at("12:20"), Kind: engine.EventFailed})
	return a
}

func degradedAccount(name string) engine.AccountStatus {
	a := okAccount(name)
	a.State = engine.StorageDegraded
	a.Storage = engine.Storage{Kind: "keychain", Degraded: true}
	a.LastError = &engine.ErrorInfo{Class: engine.ClassStorage, Message: "the keychain is locked", At: at("12:04")}
	return a
}

func snap(as ...engine.AccountStatus) engine.Snapshot {
	return engine.Snapshot{At: clock, Accounts: as}
}
