package window

import (
	"testing"
	"time"

	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"
	"github.com/tokentray/tokentray/internal/state"
)

// TestCardRadar: the card shows the radar under the next refresh, in the
// warning colour from radar.notify_days before the date on, and hides the
// row when the radar goes.
func TestCardRadar(t *testing.T) {
	a := okAccount("work")
	a.Radar = &state.Radar{SignInBy: clock.Add(8*24*time.Hour + 30*time.Minute), Source: state.RadarSignInFrequency, Since: clock.Add(-6 * 24 * time.Hour)}
	w, win := newTestWindow(t, Options{})
	w.render(t.Context(), snap(a))
	assertGolden(t, "window_radar.xml", win.Canvas())
	l := w.cards["work"].radarLine
	if want := "Sign-in needed by Wed 18 Mar 13:00 (in 8 days, sign-in frequency policy)"; !l.Visible() || l.Text != want || l.Importance != widget.MediumImportance {
		t.Errorf("radar row = %q (visible %v, importance %v); want %q, plain", l.Text, l.Visible(), l.Importance, want)
	}

	a.Radar.SignInBy = clock.Add(3 * 24 * time.Hour)
	w.render(t.Context(), snap(a))
	if want := "Sign-in needed by Fri 13 Mar 12:30 (in 3 days, sign-in frequency policy)"; l.Text != want || l.Importance != widget.WarningImportance {
		t.Errorf("radar row at notify_days = %q (importance %v); want %q, warning", l.Text, l.Importance, want)
	}

	a.Radar = nil
	w.render(t.Context(), snap(a))
	if l.Visible() {
		t.Errorf("radar row without a radar is shown: %q", l.Text)
	}
}

// The settings form has radar.notify_days, validated by config's range.
func TestSettingsRadarNotifyDays(t *testing.T) {
	w, _ := newTestWindow(t, Options{Info: Info{ConfigPath: "config.yaml"}})
	e, fl := entryOf(t, w.settings, "radar.notify_days")
	if e.Text != "3" || fl.problem.Visible() {
		t.Errorf("radar.notify_days shows %q (problem %q); want the default 3", e.Text, fl.problem.Text)
	}
	e.SetText("")
	test.Type(e, "31")
	if got, want := fl.problem.Text, "out of range; allowed: 0–30"; !fl.problem.Visible() || got != want {
		t.Errorf("radar.notify_days 31 shows %q (visible %v); want %q", got, fl.problem.Visible(), want)
	}
}
