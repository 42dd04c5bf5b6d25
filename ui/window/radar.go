package window

import (
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"

	"github.com/tokentray/tokentray/internal/state"
	"github.com/tokentray/tokentray/ui"
)

// newOptionalLine is a card row that stays hidden until it has something to
// say (the radar, the per-resource tokens).
func newOptionalLine() *widget.Label {
	l := widget.NewLabel("")
	l.Wrapping = fyne.TextWrapWord
	l.Hide()
	return l
}

// updateRadar shows a's radar at now: "Sign-in needed by Mon 14 Dec 09:00
// (in 8 days, sign-in frequency policy)", in the warning colour once the
// date is radar.notify_days away or nearer.
func (c *card) updateRadar(a state.AccountStatus, now time.Time) {
	txt := ui.RadarText(a.Radar, now, c.w.loc)
	if txt != "" {
		txt = "S" + txt[1:] // a row of its own: a sentence
	}
	imp := widget.MediumImportance
	if days := c.w.o.Info.Settings.Radar.NotifyDays; a.Radar != nil && days > 0 && a.Radar.SignInBy.Sub(now) <= time.Duration(days)*24*time.Hour {
		imp = widget.WarningImportance
	}
	setImportance(c.radarLine, imp)
	showText(c.radarLine, txt, txt != "")
}
