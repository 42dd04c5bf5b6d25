package ui

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tokentray/tokentray/internal/state"
)

// withRadar is a with a radar saying sign in by by (source sign-in frequency).
func withRadar(a state.AccountStatus, by time.Time) state.AccountStatus {
	a.Radar = &state.Radar{SignInBy: by, Source: state.RadarSignInFrequency, Since: by.Add(-14 * 24 * time.Hour)}
	return a
}

func TestRadarText(t *testing.T) {
	by := time.Date(2026, 12, 14, 9, 0, 0, 0, time.UTC) // a Monday
	tests := []struct {
		name string
		r    *state.Radar
		now  time.Time
		want string
	}{
		{"none", nil, by, ""},
		{"days", &state.Radar{SignInBy: by, Source: state.RadarSignInFrequency}, by.Add(-8*24*time.Hour - 3*time.Hour),
			"sign-in needed by Mon 14 Dec 09:00 (in 8 days, sign-in frequency policy)"},
		{"one day", &state.Radar{SignInBy: by, Source: state.RadarSPA24h}, by.Add(-25 * time.Hour),
			"sign-in needed by Mon 14 Dec 09:00 (in 1 day, single-page-app 24 h limit)"},
		{"hours", &state.Radar{SignInBy: by, Source: state.RadarRefreshTokenExpiresIn}, by.Add(-5*time.Hour - time.Minute),
			"sign-in needed by Mon 14 Dec 09:00 (in 5 hours, refresh token lifetime)"},
		{"minutes", &state.Radar{SignInBy: by, Source: state.RadarRefreshExpiresIn}, by.Add(-time.Minute),
			"sign-in needed by Mon 14 Dec 09:00 (in 1 minute, session lifetime)"},
		{"past", &state.Radar{SignInBy: by, Source: state.RadarSignInFrequency}, by.Add(2 * time.Hour),
			"sign-in was needed by Mon 14 Dec 09:00 (2 hours ago, sign-in frequency policy)"},
	}
	for _, tt := range tests {
		if got := RadarText(tt.r, tt.now, time.UTC); got != tt.want {
			t.Errorf("RadarText(%s) = %q; want %q", tt.name, got, tt.want)
		}
	}
}

// TestEpisodesRadar: the reminder comes once when an account's sign-in date
// is radar.notify_days away or nearer (not a minute earlier), not again for
// the same date (a wobble of a second is the same date), again for a new
// date (the user signed in again), never with notify_days 0.
func TestEpisodesRadar(t *testing.T) {
	days := 3
	by := clock.Add(10 * 24 * time.Hour)
	at := func(now time.Time, as ...state.AccountStatus) state.Snapshot {
		return state.Snapshot{At: now, Accounts: as}
	}
	n := Episodes{RadarDays: days, Loc: time.UTC}
	windowOpens := by.Add(-time.Duration(days) * 24 * time.Hour)
	steps := []struct {
		name string
		snap state.Snapshot
		want int
	}{
		{"no radar", at(clock, okAccount("work")), 0},
		{"far away", at(clock, withRadar(okAccount("work"), by)), 0},
		{"a minute before notify_days", at(windowOpens.Add(-time.Minute), withRadar(okAccount("work"), by)), 0},
		{"notify_days away", at(windowOpens, withRadar(okAccount("work"), by)), 1},
		{"same date later", at(windowOpens.Add(time.Hour), withRadar(okAccount("work"), by)), 0},
		{"the date wobbles a second", at(windowOpens.Add(2*time.Hour), withRadar(okAccount("work"), by.Add(time.Second))), 0},
		{"needs sign-in: its own note, no radar", at(by, needsSignInAccount("work")), 1},
		{"signed in again: a new date, far away", at(by.Add(time.Hour), withRadar(okAccount("work"), by.Add(15*24*time.Hour))), 0},
		{"the new date comes near", at(by.Add(13*24*time.Hour), withRadar(okAccount("work"), by.Add(15*24*time.Hour))), 1},
		{"a second account", at(by.Add(13*24*time.Hour), withRadar(okAccount("work"), by.Add(15*24*time.Hour)), withRadar(okAccount("home"), by.Add(14*24*time.Hour))), 1},
	}
	for _, s := range steps {
		if got := n.Update(s.snap); len(got) != s.want {
			t.Errorf("%s: %d notes %q; want %d", s.name, len(got), got, s.want)
		}
	}

	got := (&Episodes{RadarDays: 3, Loc: time.UTC}).Update(at(clock, withRadar(okAccount("work"), time.Date(2026, 3, 12, 9, 0, 0, 0, time.UTC))))
	want := []Note{{Title: "tokentray", Body: "work: sign-in needed by Thu 12 Mar 09:00 (in 1 day, sign-in frequency policy). Sign in again when it suits you: open tokentray and choose Sign in on the account."}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("note (-want +got):\n%s", d)
	}
	if got := (&Episodes{}).Update(at(clock, withRadar(okAccount("work"), clock.Add(time.Minute)))); len(got) != 0 {
		t.Errorf("notify_days 0: notes %q; want none", got)
	}
}

// TestTrayTooltipRadar: the tooltip names the account whose sign-in comes
// first.
func TestTrayTooltipRadar(t *testing.T) {
	tr, h := newTestTray(TrayActions{})
	tr.OnReady()
	tr.Render(snap(withRadar(okAccount("work"), time.Date(2026, 3, 20, 9, 0, 0, 0, time.UTC)),
		withRadar(okAccount("home"), time.Date(2026, 3, 14, 17, 30, 0, 0, time.UTC)), okAccount("lab")))
	got := h.tooltips[len(h.tooltips)-1]
	if want := "tokentray: 3 accounts OK; home: sign in by Sat 14 Mar 17:30"; got != want {
		t.Errorf("tooltip = %q; want %q", got, want)
	}
	tr.Render(snap(okAccount("work")))
	if got := h.tooltips[len(h.tooltips)-1]; strings.Contains(got, "sign in by") {
		t.Errorf("tooltip without a radar = %q", got)
	}
}

// TestEpisodesRadarRemindSurvivesRestart: with Remind (the keeper passes
// the engine's persisted record), a restarted keeper — a new Episodes on
// the same record — does not remind of a date already reminded of; a new
// date is reminded of once; a failing record reminds no one and is asked
// again.
func TestEpisodesRadarRemindSurvivesRestart(t *testing.T) {
	reminded := map[string]time.Time{} // stands in for the state file
	var broken bool
	remind := func(account string, by time.Time) (bool, error) {
		if broken {
			return false, errors.New("state file not writable")
		}
		if prev, ok := reminded[account]; ok && prev.Sub(by).Abs() <= state.RadarSameDate {
			return false, nil
		}
		reminded[account] = by
		return true, nil
	}
	by := clock.Add(24 * time.Hour)
	snapAt := func(by time.Time) state.Snapshot {
		return state.Snapshot{At: clock, Accounts: []state.AccountStatus{withRadar(okAccount("work"), by)}}
	}
	first := Episodes{RadarDays: 3, Loc: time.UTC, Remind: remind}
	if got := first.Update(snapAt(by)); len(got) != 1 {
		t.Fatalf("first keeper: %d notes; want 1", len(got))
	}
	restarted := Episodes{RadarDays: 3, Loc: time.UTC, Remind: remind}
	if got := restarted.Update(snapAt(by)); len(got) != 0 {
		t.Errorf("restarted keeper, same date: notes %q; want none", got)
	}
	broken = true
	if got := restarted.Update(snapAt(by.Add(48 * time.Hour))); len(got) != 0 {
		t.Errorf("a new date while the record fails: notes %q; want none", got)
	}
	broken = false
	if got := restarted.Update(snapAt(by.Add(48 * time.Hour))); len(got) != 1 {
		t.Errorf("a new date once the record works: %d notes; want 1", len(got))
	}
}
