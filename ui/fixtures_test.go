package ui

import (
	"time"

	"github.com/tokentray/tokentray/internal/state"
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
func history() []state.Event {
	var h []state.Event
	for _, hh := range []string{"06:04", "07:04", "08:04", "10:04", "11:04", "12:04"} {
		h = append(h, state.Event{At: at(hh), Kind: state.EventOK, Fresh: true, Expiry: at(hh).Add(65 * time.Minute)})
	}
	h = append(h[:3], append([]state.Event{{At: at("09:04"), Kind: state.EventFailed}}, h[3:]...)...)
	return h
}

func okAccount(name string) state.AccountStatus {
	return state.AccountStatus{
		Name: name, Provider: "microsoft", State: state.OK,
		SignedInAs:  state.Identity{Name: "Ada Lovelace", Username: "ada@contoso.test"},
		LastAttempt: at("12:04"), LastSuccess: at("12:04"), Fresh: true,
		NextDue: at("13:04"), AccessExpiry: at("13:09"),
		Storage: state.Storage{Kind: "keychain"},
		History: history(),
	}
}

func refreshingAccount(name string) state.AccountStatus {
	a := okAccount(name)
	a.State = state.Refreshing
	return a
}

func backingOffAccount(name string) state.AccountStatus {
	a := okAccount(name)
	a.State = state.BackingOff
	a.Failures = 3
	a.NextDue = at("12:40")
	a.BackoffUntil = at("12:40")
	a.LastAttempt = at("12:25")
	a.LastError = &state.ErrorInfo{Class: state.ClassTransient, Message: "the provider is unavailable (HTTP 503)", At: at("12:25")}
	a.History = append(a.History, state.Event{At: at("12:25"), Kind: state.EventFailed})
	return a
}

func needsSignInAccount(name string) state.AccountStatus {
	a := okAccount(name)
	a.State = state.NeedsSignIn
	a.NextDue = time.Time{}
	a.Reason = "the refresh token was revoked (AADSTS50173)"
	a.LastAttempt = at("12:20")
	a.LastError = &state.ErrorInfo{Class: state.ClassPermanent, Message: "invalid_grant: the refresh token was revoked", At: at("12:20")}
	a.History = append(a.History, state.Event{At: at("12:20"), Kind: state.EventFailed})
	return a
}

func degradedAccount(name string) state.AccountStatus {
	a := okAccount(name)
	a.State = state.StorageDegraded
	a.Storage = state.Storage{Kind: "keychain", Degraded: true}
	a.LastError = &state.ErrorInfo{Class: state.ClassStorage, Message: "the keychain is locked", At: at("12:04")}
	return a
}

func snap(as ...state.AccountStatus) state.Snapshot {
	return state.Snapshot{At: clock, Accounts: as}
}
