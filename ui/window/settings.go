package ui

import (
	"errors"
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
		{"refresh.interval_hours", "Refresh every (hours)"},
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
	}
	startKeys = []fieldSpec{
		{"ui.start_minimized", "Start minimized (tray only)"},
		{"autostart", "Start at login"},
	}
)

type fieldSpec struct{ key, label string }

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

// settingsForm edits the config file. Saving never touches the running
// engine: it writes the file and lists what applies after restart.
type settingsForm struct {
	u       *UI
	fields  []*field
	fileErr *widget.Label
	save    *widget.Button
	status  *widget.Label
	changes *widget.Label
	restart *widget.Button
	content fyne.CanvasObject
}

func newSettingsForm(u *UI) *settingsForm {
	f := &settingsForm{u: u}
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
	f.save = widget.NewButton("Save", f.doSave)
	f.save.Importance = widget.HighImportance
	if u.o.ConfigPath == "" {
		f.save.Disable()
	}
	f.status = widget.NewLabel("")
	f.status.Wrapping = fyne.TextWrapWord
	f.status.Hide()
	f.changes = widget.NewLabel("")
	f.changes.Wrapping = fyne.TextWrapWord
	f.changes.Hide()
	f.restart = widget.NewButton("Restart now", func() {
		if u.o.OnRestart != nil {
			u.o.OnRestart()
		}
	})
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

// base is what the form starts from: the file (what the next start sees),
// or the running settings when the file cannot be read.
func (f *settingsForm) base() (config.Settings, error) {
	if f.u.o.ConfigPath == "" {
		return f.u.o.Settings, nil
	}
	s, err := config.ReadFile(f.u.o.ConfigPath)
	if err != nil {
		return f.u.o.Settings, err
	}
	return s, nil
}

// reload fills the form from the file and shows what is pending.
func (f *settingsForm) reload() {
	s, err := f.base()
	if err != nil {
		showText(f.fileErr, "The config file could not be read, so the form shows the running settings: "+err.Error(), true)
	} else {
		showText(f.fileErr, "", false)
	}
	for _, fl := range f.fields {
		v, _ := config.Value(s, fl.key)
		fl.setText(v)
		f.check(fl)
	}
	f.showPending(s, false)
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
	if f.u.o.ConfigPath != "" {
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

// doSave writes the form to the config file and lists the changes that
// apply after restart. The running engine is not touched.
func (f *settingsForm) doSave() {
	s, err := f.base()
	if err != nil {
		s = f.u.o.Settings
	}
	if err := f.values(&s); err != nil {
		f.fail("Not saved: " + err.Error())
		return
	}
	if err := s.Validate(); err != nil {
		f.fail("Not saved: " + err.Error())
		return
	}
	if err := config.Save(f.u.o.ConfigPath, s); err != nil {
		f.fail("Not saved: " + err.Error())
		return
	}
	showText(f.fileErr, "", false)
	f.showPending(s, true)
}

func (f *settingsForm) fail(msg string) {
	f.status.Importance = widget.DangerImportance
	showText(f.status, msg, true)
}

// showPending lists Diff(running, onDisk) with Restart now; after a save it
// leads with "Saved — changes apply after restart".
func (f *settingsForm) showPending(onDisk config.Settings, saved bool) {
	changes := config.Diff(f.u.o.Settings, onDisk)
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
	if f.u.o.OnRestart != nil {
		f.restart.Show()
	}
}
