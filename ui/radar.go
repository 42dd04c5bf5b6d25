package ui

import (
	"fmt"
	"time"

	"github.com/tokentray/tokentray/internal/state"
)

// RadarSourceText names where a radar date comes from, for people.
func RadarSourceText(source string) string {
	switch source {
	case state.RadarSignInFrequency:
		return "sign-in frequency policy"
	case state.RadarSPA24h:
		return "single-page-app 24 h limit"
	case state.RadarRefreshTokenExpiresIn:
		return "refresh token lifetime"
	case state.RadarRefreshExpiresIn:
		return "session lifetime"
	}
	return source
}

// RadarText says by when the account needs an interactive sign-in: "sign-in
// needed by Mon 14 Dec 09:00 (in 8 days, sign-in frequency policy)"; "" when
// r is nil.
func RadarText(r *state.Radar, now time.Time, loc *time.Location) string {
	if r == nil {
		return ""
	}
	when := r.SignInBy.In(loc).Format("Mon 2 Jan 15:04")
	if !r.SignInBy.After(now) {
		return fmt.Sprintf("sign-in was needed by %s (%s ago, %s)", when, span(now.Sub(r.SignInBy)), RadarSourceText(r.Source))
	}
	return fmt.Sprintf("sign-in needed by %s (in %s, %s)", when, span(r.SignInBy.Sub(now)), RadarSourceText(r.Source))
}

// span is a coarse duration: "8 days", "1 day", "5 hours", "1 minute",
// "under a minute".
func span(d time.Duration) string {
	unit := func(n int64, one string) string {
		if n == 1 {
			return "1 " + one
		}
		return fmt.Sprintf("%d %ss", n, one)
	}
	switch {
	case d >= 24*time.Hour:
		return unit(int64(d/(24*time.Hour)), "day")
	case d >= time.Hour:
		return unit(int64(d/time.Hour), "hour")
	case d >= time.Minute:
		return unit(int64(d/time.Minute), "minute")
	}
	return "under a minute"
}

// soonestRadar is the account whose radar date comes first, if any.
func soonestRadar(s state.Snapshot) (state.AccountStatus, bool) {
	var best state.AccountStatus
	found := false
	for _, a := range s.Accounts {
		if a.Radar != nil && (!found || a.Radar.SignInBy.Before(best.Radar.SignInBy)) {
			best, found = a, true
		}
	}
	return best, found
}

// radarTip is the tooltip's radar part: "; work: sign in by Mon 14 Dec
// 09:00" for the account whose sign-in comes first, "" if none is known.
func radarTip(s state.Snapshot, loc *time.Location) string {
	a, ok := soonestRadar(s)
	if !ok {
		return ""
	}
	return "; " + a.Name + ": sign in by " + a.Radar.SignInBy.In(loc).Format("Mon 2 Jan 15:04")
}

// radarNote is the reminder for a's coming sign-in at now, or ok false when
// it is further away than days (or days is 0).
func radarNote(a state.AccountStatus, days int, now time.Time, loc *time.Location) (Note, bool) {
	if a.Radar == nil || days <= 0 || a.Radar.SignInBy.Sub(now) > time.Duration(days)*24*time.Hour {
		return Note{}, false
	}
	return Note{Title: "tokentray", Body: a.Name + ": " + RadarText(a.Radar, now, loc) +
		". Sign in again when it suits you: open tokentray and choose Sign in on the account."}, true
}

// radarNotes are the radar reminders snapshot s starts: one per account and
// sign-in date, once the date is RadarDays away or nearer (seen lists the
// accounts in s). A date within state.RadarSameDate of the announced one is
// the same date. The time is the snapshot's, i.e. the engine's clock. With
// Remind the record survives a restart; radarSent then only spares asking
// again for a date already settled.
func (n *Episodes) radarNotes(s state.Snapshot, seen map[string]bool) []Note {
	if n.radarSent == nil {
		n.radarSent = map[string]time.Time{}
	}
	loc := n.Loc
	if loc == nil {
		loc = time.Local
	}
	var out []Note
	for _, a := range s.Accounts {
		if a.Radar == nil {
			continue
		}
		if sent, ok := n.radarSent[a.Name]; ok && (a.Radar.SignInBy.Sub(sent)).Abs() <= state.RadarSameDate {
			continue
		}
		note, ok := radarNote(a, n.RadarDays, s.At, loc)
		if !ok {
			continue
		}
		news := true
		if n.Remind != nil {
			var err error
			if news, err = n.Remind(a.Name, a.Radar.SignInBy); err != nil {
				continue // asked again with the next snapshot
			}
		}
		n.radarSent[a.Name] = a.Radar.SignInBy
		if news {
			out = append(out, note)
		}
	}
	for name := range n.radarSent {
		if !seen[name] {
			delete(n.radarSent, name)
		}
	}
	return out
}
