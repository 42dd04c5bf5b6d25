package window

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/widget"

	"github.com/tokentray/tokentray/internal/config"
)

// Setting labels, by config key, in the order the form shows them.
var (
	basicKeys = []fieldSpec{
		{"refresh.enabled", "Refresh automatically"},
		{"refresh.interval_hours", "Refresh every"},
	}
	advancedKeys = []fieldSpec{
		{"refresh.lookahead", "Refresh before expiry"},
		{"refresh.cooldown", "Least time between refreshes"},
		{"refresh.jitter_max", "Random delay up to"},
		{"backoff.base", "First retry after"},
		{"backoff.max", "Longest retry delay"},
		{"backoff.max_failures", "Failures before \"failing\""},
		{"budget.requests", "Refresh budget (requests)"},
		{"budget.window", "Budget window"},
		{"storage.backend", "Storage"},
		{"storage.keychain_timeout", "Keychain timeout"},
		{"log.level", "Log level"},
		{"radar.notify_days", "Sign-in reminder, days ahead"},
	}
	startKeys = []fieldSpec{
		{"ui.start_minimized", "Start minimized (tray only)"},
		{"autostart", "Start at login"},
	}
)

type fieldSpec struct{ key, label string }

// hourSuffix follows the hours in the interval choice ("6 h").
const hourSuffix = " h"

// field is one setting's widget and its inline validation message.
type field struct {
	key     string
	allowed string
	value   func() string
	setText func(string)
	obj     fyne.CanvasObject // what the form lays out
	problem *widget.Label     // inline refusal; hidden when the value is fine
	bad     bool
}

// settingsForm edits the config file through the keeper. Saving writes the
// file only and lists what applies after restart.
type settingsForm struct {
	w       *Window
	running config.Settings // what the keeper runs with
	file    config.Settings // what the file says
	fields  []*field
	fileErr *widget.Label
	save    *widget.Button
	status  *widget.Label
	changes *widget.Label
	restart *widget.Button
	content fyne.CanvasObject
}

func newSettingsForm(ctx context.Context, w *Window) *settingsForm {
	f := &settingsForm{w: w, running: w.o.Info.Settings, file: w.o.Info.FileSettings}
	allowed := map[string]string{}
	for _, k := range config.Keys() {
		allowed[k.Name] = k.Allowed
	}
	section := func(specs []fieldSpec) *fyne.Container {
		grid := container.New(layout.NewFormLayout())
		for _, sp := range specs {
			fl := f.newField(sp, allowed[sp.key])
			f.fields = append(f.fields, fl)
			grid.Add(widget.NewLabel(sp.label))
			grid.Add(container.NewVBox(fl.obj, fl.problem))
		}
		return grid
	}
	basic := section(basicKeys)
	adv := widget.NewAccordion(widget.NewAccordionItem("Advanced", section(advancedKeys)))
	start := section(startKeys)

	f.fileErr = widget.NewLabel("")
	f.fileErr.Wrapping = fyne.TextWrapWord
	f.fileErr.Importance = widget.DangerImportance
	f.fileErr.Hide()
	f.save = widget.NewButton("Save", func() { f.doSave(ctx) })
	f.save.Importance = widget.HighImportance
	if w.o.Info.ConfigPath == "" {
		f.save.Disable()
	}
	f.status = widget.NewLabel("")
	f.status.Wrapping = fyne.TextWrapWord
	f.status.Hide()
	f.changes = widget.NewLabel("")
	f.changes.Wrapping = fyne.TextWrapWord
	f.changes.Hide()
	f.restart = widget.NewButton("Restart now", func() { f.doRestart(ctx) })
	f.restart.Hide()

	f.content = container.NewVScroll(container.NewVBox(
		f.fileErr, basic, adv, start,
		container.NewHBox(f.save, f.restart), f.status, f.changes))
	f.reload()
	return f
}

// newField makes the widget of one key: a check for booleans, a select for
// choices, an entry validated on every keystroke otherwise.
func (f *settingsForm) newField(sp fieldSpec, allowed string) *field {
	fl := &field{key: sp.key, allowed: allowed}
	fl.problem = widget.NewLabel("")
	fl.problem.Importance = widget.DangerImportance
	fl.problem.Wrapping = fyne.TextWrapWord
	fl.problem.Hide()
	switch {
	case sp.key == "refresh.interval_hours":
		// A choice of whole hours in the allowed range: it cannot hold
		// anything else. A file value outside it selects nothing and is
		// refused below like any other.
		opts := make([]string, 0, 24)
		for h := 1; h <= 24; h++ {
			opts = append(opts, strconv.Itoa(h)+hourSuffix)
		}
		sel := widget.NewSelect(opts, func(string) { f.check(fl); f.edited() })
		fl.value = func() string { return strings.TrimSuffix(sel.Selected, hourSuffix) }
		fl.setText = func(v string) {
			sel.ClearSelected()
			sel.SetSelected(v + hourSuffix)
		}
		fl.obj = sel
	case allowed == "true or false":
		c := widget.NewCheck("", func(bool) { f.edited() })
		fl.value = func() string {
			if c.Checked {
				return "true"
			}
			return "false"
		}
		fl.setText = func(s string) { c.SetChecked(s == "true") }
		fl.obj = c
	case strings.Contains(allowed, " or "):
		s := widget.NewSelect(strings.Split(allowed, " or "), func(string) { f.edited() })
		fl.value = func() string { return s.Selected }
		fl.setText = s.SetSelected
		fl.obj = s
	default:
		e := widget.NewEntry()
		e.SetPlaceHolder(allowed)
		e.OnChanged = func(string) { f.check(fl); f.edited() }
		fl.value = func() string { return e.Text }
		fl.setText = e.SetText
		fl.obj = e
	}
	return fl
}

// reload fills the form from the file's settings and shows what is pending.
func (f *settingsForm) reload() {
	if f.w.o.Info.ConfigPath == "" {
		f.fileErr.Importance = widget.MediumImportance // a fact, not an error
		showText(f.fileErr, "Settings are read-only here (the demo runs without a config file).", true)
	} else {
		showText(f.fileErr, "", false)
	}
	for _, fl := range f.fields {
		v, _ := config.Value(f.file, fl.key)
		fl.setText(v)
		f.check(fl)
	}
	f.showPending(false)
	f.edited()
}

// check validates one field the way config does, showing its refusal.
func (f *settingsForm) check(fl *field) {
	var s config.Settings
	err := config.SetValue(&s, fl.key, fl.value())
	fl.bad = err != nil
	showText(fl.problem, problemText(err), err != nil)
}

// edited enables Save only while every field is valid.
func (f *settingsForm) edited() {
	if f.save == nil {
		return
	}
	for _, fl := range f.fields {
		if fl.bad {
			f.save.Disable()
			return
		}
	}
	if f.w.o.Info.ConfigPath != "" {
		f.save.Enable()
	}
}

// problemText is config's refusal as an inline message: "out of range;
// allowed: 1–24".
func problemText(err error) string {
	var ve *config.ValidationError
	if !errors.As(err, &ve) || len(ve.Problems) == 0 {
		if err != nil {
			return err.Error()
		}
		return ""
	}
	p := ve.Problems[0]
	msg := p.Reason
	if p.Allowed != "" {
		msg += "; allowed: " + p.Allowed
	}
	return msg
}

// values applies the form to s; the first refusal is returned.
func (f *settingsForm) values(s *config.Settings) error {
	var errs []error
	for _, fl := range f.fields {
		if err := config.SetValue(s, fl.key, fl.value()); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// doSave has the keeper write the form to the config file and lists the
// changes that apply after restart. The running keeper is not changed.
func (f *settingsForm) doSave(ctx context.Context) {
	s := f.file
	if err := f.values(&s); err != nil {
		f.fail("Not saved: " + err.Error())
		return
	}
	if err := s.Validate(); err != nil {
		f.fail("Not saved: " + err.Error())
		return
	}
	f.save.Disable()
	f.w.wg.Go(func() {
		err := f.w.o.Keeper.SaveSettings(ctx, s)
		f.w.do(func() {
			f.edited()
			if err != nil {
				f.fail("Not saved: " + err.Error())
				return
			}
			f.file = s
			f.showPending(true)
		})
	})
}

// doRestart restarts the keeper; the window reconnects to the new one,
// which runs with the file's settings.
func (f *settingsForm) doRestart(ctx context.Context) {
	f.restart.Disable()
	f.w.wg.Go(func() {
		err := f.w.o.Keeper.Restart(ctx)
		f.w.do(func() {
			f.restart.Enable()
			if err != nil {
				f.fail("Restart failed: " + err.Error())
				return
			}
			f.running = f.file
			f.showPending(false)
			f.status.Importance = widget.SuccessImportance
			showText(f.status, "Restarted — tokentray now runs with the saved settings.", true)
		})
	})
}

func (f *settingsForm) fail(msg string) {
	f.status.Importance = widget.DangerImportance
	showText(f.status, msg, true)
}

// showPending lists Diff(running, file) with Restart now; after a save it
// leads with "Saved — changes apply after restart".
func (f *settingsForm) showPending(saved bool) {
	changes := config.Diff(f.running, f.file)
	f.status.Importance = widget.MediumImportance
	switch {
	case saved && len(changes) == 0:
		showText(f.status, "Saved — the file now matches the running settings; nothing to restart for.", true)
	case saved:
		showText(f.status, "Saved — changes apply after restart", true)
	case len(changes) > 0:
		showText(f.status, "The config file differs from the running settings; the changes apply after restart", true)
	default:
		showText(f.status, "", false)
	}
	if len(changes) == 0 {
		showText(f.changes, "", false)
		f.restart.Hide()
		return
	}
	lines := make([]string, len(changes))
	for i, c := range changes {
		lines[i] = "• " + c.String()
	}
	showText(f.changes, strings.Join(lines, "\n"), true)
	f.restart.Show()
}
