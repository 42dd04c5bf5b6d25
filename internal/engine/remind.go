package engine

import (
	"time"

	"github.com/tokentray/tokentray/internal/state"
)

// RemindRadar records that the user is being reminded that name needs an
// interactive sign-in by signInBy (the radar's date, AccountStatus.Radar),
// and reports whether that is news: false when a reminder of the same date
// (within state.RadarSameDate) was recorded before, by this engine or by another
// on the same state file, such as the keeper before a restart. The record
// is persisted in the account's state-file entry before RemindRadar
// returns. The caller decides when a date is near enough to remind of.
func (e *Engine) RemindRadar(name string, signInBy time.Time) (bool, error) {
	a, err := e.account(name)
	if err != nil {
		return false, err
	}
	e.syncState(a) // another process may have reminded meanwhile
	now := e.now()
	e.mu.Lock()
	r := &a.radar
	if !r.Reminded.IsZero() && r.Reminded.Sub(signInBy).Abs() <= state.RadarSameDate {
		e.mu.Unlock()
		return false, nil
	}
	r.Reminded, r.RemindedAt, r.Updated = signInBy.Round(0).UTC(), now, now
	e.mu.Unlock()
	e.persistWait()
	return true, nil
}
