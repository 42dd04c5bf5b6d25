// Package ui holds what tokentray shows outside its window, for the keeper:
// the tray icon and menu (driven through fyne.io/systray), the tooltip, the
// desktop notifications, and the text every view shares. It links no Fyne
// toolkit; the window lives in ui/window.
package ui

import (
	"fmt"
	"strings"
	"time"

	"github.com/tokentray/tokentray/assets"
	"github.com/tokentray/tokentray/internal/state"
)

// Tray menu labels the end-to-end test clicks by name: keep them exact.
const (
	labelRefreshNow  = "Refresh now"
	labelRefreshOne  = "Refresh one account"
	labelOpen        = "Open tokentray"
	labelSettings    = "Settings…"
	labelSignInAgain = "Sign in again…"
	labelQuit        = "Quit"
	labelNoAccounts  = "No accounts yet — open tokentray to add one"
	accountSeparator = " — "
)

// op is what a menu entry does when clicked.
type op int

const (
	opNone       op = iota // a status line or a separator
	opRefreshAll           // Refresh now (every account)
	opRefresh              // refresh one account
	opOpen                 // show the window
	opSettings             // show the settings
	opSignIn               // sign one account in again
	opQuit                 // quit the app
)

// menuEntry is one tray menu item as plain data, so the menu can be checked
// without a tray.
type menuEntry struct {
	Label     string
	Op        op
	Account   string // for opRefresh and opSignIn
	Disabled  bool
	Separator bool
	Children  []menuEntry
}

// menuModel is the tray menu for snapshot s at now: a status line per
// account, Refresh now (all; with several accounts also a submenu per
// account), Sign in again… when an account needs it, Open tokentray,
// Settings… and Quit.
func menuModel(s state.Snapshot, now time.Time, loc *time.Location) []menuEntry {
	var m []menuEntry
	if len(s.Accounts) == 0 {
		m = append(m, menuEntry{Label: labelNoAccounts, Disabled: true})
	}
	for _, a := range s.Accounts {
		m = append(m, menuEntry{Label: statusLine(a, now, loc), Disabled: true})
	}
	m = append(m, menuEntry{Separator: true})
	var refreshable, signIn []string
	for _, a := range s.Accounts {
		if CanRefresh(a.State) {
			refreshable = append(refreshable, a.Name)
		}
		if a.State == state.NeedsSignIn || a.State == state.SignedOut {
			signIn = append(signIn, a.Name)
		}
	}
	m = append(m, menuEntry{Label: labelRefreshNow, Op: opRefreshAll, Disabled: len(refreshable) == 0})
	if len(s.Accounts) > 1 {
		sub := menuEntry{Label: labelRefreshOne, Disabled: len(refreshable) == 0}
		for _, n := range refreshable {
			sub.Children = append(sub.Children, menuEntry{Label: n, Op: opRefresh, Account: n})
		}
		m = append(m, sub)
	}
	switch len(signIn) {
	case 0:
	case 1:
		m = append(m, menuEntry{Label: labelSignInAgain, Op: opSignIn, Account: signIn[0]})
	default:
		sub := menuEntry{Label: labelSignInAgain}
		for _, n := range signIn {
			sub.Children = append(sub.Children, menuEntry{Label: n, Op: opSignIn, Account: n})
		}
		m = append(m, sub)
	}
	m = append(m,
		menuEntry{Separator: true},
		menuEntry{Label: labelOpen, Op: opOpen},
		menuEntry{Label: labelSettings, Op: opSettings},
		menuEntry{Separator: true},
		menuEntry{Label: labelQuit, Op: opQuit},
	)
	return m
}

// statusLine is one account's tray line: "work — refreshed 12:04, next 13:04".
func statusLine(a state.AccountStatus, now time.Time, loc *time.Location) string {
	var parts []string
	switch a.State {
	case state.NeedsSignIn:
		return a.Name + accountSeparator + "needs sign-in"
	case state.SignedOut:
		return a.Name + accountSeparator + "signed out"
	case state.Refreshing:
		return a.Name + accountSeparator + "refreshing…"
	case state.BackingOff, state.Failing:
		word := "retrying"
		if a.State == state.Failing {
			word = "failing"
		}
		s := fmt.Sprintf("%s (%d failures in a row)", word, a.Failures)
		if retry := RetryAt(a); !retry.IsZero() {
			s += ", retry " + ClockTime(retry, now, loc)
		}
		return a.Name + accountSeparator + s
	}
	if !a.LastSuccess.IsZero() {
		parts = append(parts, "refreshed "+ClockTime(a.LastSuccess, now, loc))
	} else {
		parts = append(parts, "signed in")
	}
	if a.NextDue.IsZero() {
		parts = append(parts, "no automatic refresh")
	} else {
		parts = append(parts, "next "+ClockTime(a.NextDue, now, loc))
	}
	if a.State == state.StorageDegraded || a.Storage.Degraded {
		parts = append(parts, "not saved")
	}
	return a.Name + accountSeparator + strings.Join(parts, ", ")
}

// TrayState is the icon the tray shows: the most urgent state of any account.
type TrayState int

// Tray states, least urgent first.
const (
	TrayOK TrayState = iota
	TrayRefreshing
	TrayWarning
	TraySignIn
)

// TrayStateOf picks the most urgent state over all accounts: sign-in needed,
// then a warning (backing off, failing, storage degraded), then refreshing.
func TrayStateOf(s state.Snapshot) TrayState {
	st := TrayOK
	for _, a := range s.Accounts {
		st = max(st, AccountTrayState(a))
	}
	return st
}

// AccountTrayState is the tray state of one account: the badge the window
// shows next to it.
func AccountTrayState(a state.AccountStatus) TrayState {
	var t TrayState
	switch a.State {
	case state.NeedsSignIn, state.SignedOut:
		t = TraySignIn
	case state.BackingOff, state.Failing, state.StorageDegraded:
		t = TrayWarning
	case state.Refreshing:
		t = TrayRefreshing
	}
	if a.Storage.Degraded && t < TrayWarning {
		t = TrayWarning
	}
	return t
}

// Icon is the state's icon as PNG bytes (64×64).
func (st TrayState) Icon() []byte {
	switch st {
	case TrayRefreshing:
		return assets.TrayRefreshing
	case TrayWarning:
		return assets.TrayWarning
	case TraySignIn:
		return assets.TraySignIn
	}
	return assets.TrayOK
}

// Summary is the one-line tray tooltip: "tokentray: 2 accounts OK",
// "tokentray: work needs sign-in".
func Summary(s state.Snapshot) string {
	if len(s.Accounts) == 0 {
		return "tokentray: no accounts"
	}
	var bad []string
	for _, a := range s.Accounts {
		switch {
		case a.State == state.OK && !a.Storage.Degraded, a.State == state.Refreshing:
		default:
			bad = append(bad, a.Name+" "+strings.ToLower(StateLabel(a.State)))
		}
	}
	if len(bad) == 0 {
		if len(s.Accounts) == 1 {
			return "tokentray: " + s.Accounts[0].Name + " OK"
		}
		return fmt.Sprintf("tokentray: %d accounts OK", len(s.Accounts))
	}
	return "tokentray: " + strings.Join(bad, ", ")
}
