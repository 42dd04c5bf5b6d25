package engine

import (
	"errors"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tokentray/tokentray/internal/idpsim"
	"github.com/tokentray/tokentray/internal/state"
)

// TestRadarReminderOncePerDateAcrossRestarts: the radar's "sign in by"
// reminder is recorded in the state file per account: the engine that
// reminded, and a second engine on the same state file (a restarted
// keeper), both say it is not news for the same date (or one within
// state.RadarSameDate); a new date is news again.
func TestRadarReminderOncePerDateAcrossRestarts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		w := newWorld(t, worldOpts{noRun: true, statePath: filepath.Join(dir, "state.json"), lockDir: filepath.Join(dir, "locks"),
			sim: idpsim.Options{SignInFrequency: 8 * time.Hour}})
		ctx := t.Context()
		time.Sleep(8 * time.Hour)
		if _, err := w.eng.RefreshNow(ctx, "acct0"); !errors.Is(err, ErrNeedsSignIn) {
			t.Fatalf("RefreshNow() past the limit = %v; want needs sign-in", err)
		}
		if _, err := w.eng.Import(ctx, "acct0", w.sim.Grant(testClient, w.subject["acct0"], testScopes)); err != nil {
			t.Fatal(err)
		}
		st := w.status("acct0")
		if st.Radar == nil {
			t.Fatalf("no radar after a sign-in under a learned sign-in frequency; the test proves nothing")
		}
		by := st.Radar.SignInBy
		remind := func(eng *Engine, at time.Time) bool {
			t.Helper()
			news, err := eng.RemindRadar("acct0", at)
			if err != nil {
				t.Fatalf("RemindRadar(acct0, %v) = %v", at, err)
			}
			return news
		}
		if !remind(w.eng, by) {
			t.Errorf("first RemindRadar = false; want true")
		}
		if remind(w.eng, by.Add(time.Second)) {
			t.Errorf("RemindRadar again for the same date = true; want false")
		}
		restarted := w.newEng()
		if remind(restarted, by) || remind(restarted, by.Add(-state.RadarSameDate)) {
			t.Errorf("RemindRadar of a restarted engine for the same date = true; want false (the reminder is persisted)")
		}
		if !remind(restarted, by.Add(24*time.Hour)) {
			t.Errorf("RemindRadar for a new date = false; want true")
		}
		if remind(w.newEng(), by.Add(24*time.Hour)) {
			t.Errorf("RemindRadar of a third engine for the date the second reminded of = true; want false")
		}
		if _, err := w.eng.RemindRadar("nobody", by); !errors.Is(err, ErrUnknownAccount) {
			t.Errorf("RemindRadar(nobody) = %v; want ErrUnknownAccount", err)
		}
	})
}
