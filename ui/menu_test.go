package ui

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tokentray/tokentray/internal/state"
)

// tail is the fixed end of every menu.
var tail = []menuEntry{
	{Separator: true},
	{Label: "Open tokentray", Op: opOpen},
	{Label: "Settings…", Op: opSettings},
	{Separator: true},
	{Label: "Quit", Op: opQuit},
}

func TestMenuModel(t *testing.T) {
	unsaved := okAccount("home")
	unsaved.State = state.StorageDegraded
	unsaved.Storage.Degraded = true
	manual := okAccount("work")
	manual.NextDue = time.Time{}
	fresh := okAccount("work")
	fresh.LastSuccess = time.Time{}
	yesterday := okAccount("work")
	yesterday.LastSuccess = clock.Add(-24 * time.Hour)
	failing := backingOffAccount("work")
	failing.State = state.Failing
	failing.Failures = 10

	for _, tc := range []struct {
		name string
		snap state.Snapshot
		want []menuEntry
	}{
		{"no accounts", snap(), []menuEntry{
			{Label: "No accounts yet — open tokentray to add one", Disabled: true},
			{Separator: true},
			{Label: "Refresh now", Op: opRefreshAll, Disabled: true},
		}},
		{"one ok", snap(okAccount("work")), []menuEntry{
			{Label: "work — refreshed 12:04, next 13:04", Disabled: true},
			{Separator: true},
			{Label: "Refresh now", Op: opRefreshAll},
		}},
		{"automatic refresh off", snap(manual), []menuEntry{
			{Label: "work — refreshed 12:04, no automatic refresh", Disabled: true},
			{Separator: true},
			{Label: "Refresh now", Op: opRefreshAll},
		}},
		{"signed in, not refreshed yet", snap(fresh), []menuEntry{
			{Label: "work — signed in, next 13:04", Disabled: true},
			{Separator: true},
			{Label: "Refresh now", Op: opRefreshAll},
		}},
		{"refreshed yesterday", snap(yesterday), []menuEntry{
			{Label: "work — refreshed Mar 9 12:30, next 13:04", Disabled: true},
			{Separator: true},
			{Label: "Refresh now", Op: opRefreshAll},
		}},
		{"refreshing", snap(refreshingAccount("work")), []menuEntry{
			{Label: "work — refreshing…", Disabled: true},
			{Separator: true},
			{Label: "Refresh now", Op: opRefreshAll},
		}},
		{"backing off", snap(backingOffAccount("work")), []menuEntry{
			{Label: "work — retrying (3 failures in a row), retry 12:40", Disabled: true},
			{Separator: true},
			{Label: "Refresh now", Op: opRefreshAll},
		}},
		{"failing", snap(failing), []menuEntry{
			{Label: "work — failing (10 failures in a row), retry 12:40", Disabled: true},
			{Separator: true},
			{Label: "Refresh now", Op: opRefreshAll},
		}},
		{"needs sign-in", snap(needsSignInAccount("work")), []menuEntry{
			{Label: "work — needs sign-in", Disabled: true},
			{Separator: true},
			{Label: "Refresh now", Op: opRefreshAll, Disabled: true},
			{Label: "Sign in again…", Op: opSignIn, Account: "work"},
		}},
		{"two accounts, one needs sign-in", snap(needsSignInAccount("work"), unsaved), []menuEntry{
			{Label: "work — needs sign-in", Disabled: true},
			{Label: "home — refreshed 12:04, next 13:04, not saved", Disabled: true},
			{Separator: true},
			{Label: "Refresh now", Op: opRefreshAll},
			{Label: "Refresh one account", Children: []menuEntry{{Label: "home", Op: opRefresh, Account: "home"}}},
			{Label: "Sign in again…", Op: opSignIn, Account: "work"},
		}},
		{"two need sign-in", snap(needsSignInAccount("work"), needsSignInAccount("home")), []menuEntry{
			{Label: "work — needs sign-in", Disabled: true},
			{Label: "home — needs sign-in", Disabled: true},
			{Separator: true},
			{Label: "Refresh now", Op: opRefreshAll, Disabled: true},
			{Label: "Refresh one account", Disabled: true},
			{Label: "Sign in again…", Children: []menuEntry{
				{Label: "work", Op: opSignIn, Account: "work"},
				{Label: "home", Op: opSignIn, Account: "home"},
			}},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := menuModel(tc.snap, clock, time.UTC)
			want := append(tc.want, tail...)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("menuModel mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTrayStateAndSummary(t *testing.T) {
	for _, tc := range []struct {
		snap    state.Snapshot
		state   TrayState
		summary string
	}{
		{snap(), TrayOK, "tokentray: no accounts"},
		{snap(okAccount("work")), TrayOK, "tokentray: work OK"},
		{snap(okAccount("work"), okAccount("home")), TrayOK, "tokentray: 2 accounts OK"},
		{snap(okAccount("work"), refreshingAccount("home")), TrayRefreshing, "tokentray: 2 accounts OK"},
		{snap(backingOffAccount("work"), refreshingAccount("home")), TrayWarning, "tokentray: work backing off"},
		{snap(degradedAccount("work")), TrayWarning, "tokentray: work storage degraded"},
		{snap(degradedAccount("work"), needsSignInAccount("home")), TraySignIn, "tokentray: work storage degraded, home needs sign-in"},
	} {
		if got := TrayStateOf(tc.snap); got != tc.state {
			t.Errorf("TrayStateOf(%s) = %d; want %d", tc.summary, got, tc.state)
		}
		if got := Summary(tc.snap); got != tc.summary {
			t.Errorf("summary = %q; want %q", got, tc.summary)
		}
	}
}

func TestFormatting(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{Countdown(9 * time.Second), "9s"},
		{Countdown(42*time.Minute + 10*time.Second + 900*time.Millisecond), "42m 10s"},
		{Countdown(time.Hour + 2*time.Minute), "1h 02m"},
		{ExpiryText(time.Time{}, clock), "Access token: none held"},
		{ExpiryText(clock.Add(90*time.Second), clock), "Access token expires in 1m 30s"},
		{ExpiryText(clock.Add(-3*time.Minute), clock), "Access token expired 3m 00s ago"},
		{IdentityText(state.Identity{Username: "ada@contoso.test"}), "Signed in as ada@contoso.test"},
		{IdentityText(state.Identity{}), "Signed in as: unknown (no ID token claims)"},
		{ClockTime(at("09:05"), clock, time.FixedZone("CET", 3600)), "10:05"},
		{NextText(okAccount("work"), clock, time.UTC), "Next refresh in 34m 00s (13:04)"},
		{NextText(okAccount("work"), at("13:05"), time.UTC), "Next refresh now"},
		{NextText(backingOffAccount("work"), clock, time.UTC), "Retry in 10m 00s (12:40) — 3 failures in a row"},
		{NextText(needsSignInAccount("work"), clock, time.UTC), "Next refresh: none until you sign in again"},
		{NextText(refreshingAccount("work"), clock, time.UTC), "Refreshing now…"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q; want %q", tc.got, tc.want)
		}
	}
}
