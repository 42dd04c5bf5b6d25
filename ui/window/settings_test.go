package window

import (
	"errors"
	"testing"

	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"
	"github.com/google/go-cmp/cmp"

	"github.com/tokentray/tokentray/internal/config"
)

func entryOf(t *testing.T, f *settingsForm, key string) (*widget.Entry, *field) {
	t.Helper()
	for _, fl := range f.fields {
		if fl.key == key {
			e, ok := fl.obj.(*widget.Entry)
			if !ok {
				t.Fatalf("field %s is a %T; want *widget.Entry", key, fl.obj)
			}
			return e, fl
		}
	}
	t.Fatalf("no field %s in the settings form", key)
	return nil, nil
}

func selectOf(t *testing.T, f *settingsForm, key string) (*widget.Select, *field) {
	t.Helper()
	for _, fl := range f.fields {
		if fl.key == key {
			sel, ok := fl.obj.(*widget.Select)
			if !ok {
				t.Fatalf("field %s is a %T; want *widget.Select", key, fl.obj)
			}
			return sel, fl
		}
	}
	t.Fatalf("no field %s in the settings form", key)
	return nil, nil
}

// The interval is a choice of 1–24 h and nothing else; a file value outside
// the range selects nothing and is refused with config's message.
func TestSettingsIntervalChoice(t *testing.T) {
	w, _ := newTestWindow(t, Options{Info: Info{ConfigPath: "config.yaml"}})
	sel, fl := selectOf(t, w.settings, "refresh.interval_hours")
	if len(sel.Options) != 24 || sel.Options[0] != "1 h" || sel.Options[23] != "24 h" {
		t.Errorf("interval options = %q; want 1 h … 24 h", sel.Options)
	}
	if sel.Selected != "1 h" || fl.problem.Visible() {
		t.Errorf("default interval shows %q (problem %q)", sel.Selected, fl.problem.Text)
	}

	bad := config.Defaults()
	bad.Refresh.IntervalHours = 99
	w, _ = newTestWindow(t, Options{Info: Info{ConfigPath: "config.yaml", FileSettings: bad}})
	sel, fl = selectOf(t, w.settings, "refresh.interval_hours")
	if want := "not a whole number; allowed: 1–24"; sel.Selected != "" || !fl.problem.Visible() || fl.problem.Text != want {
		t.Errorf("file interval 99 shows %q with problem %q (visible %v); want nothing selected and %q", sel.Selected, fl.problem.Text, fl.problem.Visible(), want)
	}
	if !w.settings.save.Disabled() {
		t.Errorf("Save is enabled with an invalid interval")
	}
	sel.SetSelected("6 h")
	if fl.problem.Visible() || w.settings.save.Disabled() {
		t.Errorf("choosing 6 h leaves the problem %q or Save disabled", fl.problem.Text)
	}
}

// A duration knob is refused with config's message too.
func TestSettingsDurationValidation(t *testing.T) {
	w, _ := newTestWindow(t, Options{Info: Info{ConfigPath: "config.yaml"}})
	e, fl := entryOf(t, w.settings, "refresh.cooldown")
	e.SetText("")
	test.Type(e, "1m")
	if got, want := fl.problem.Text, "out of range; allowed: 5m–30m"; !fl.problem.Visible() || got != want {
		t.Errorf("cooldown 1m shows %q (visible %v); want %q", got, fl.problem.Visible(), want)
	}
}

func TestSettingsSaveGoesToKeeper(t *testing.T) {
	k := &fakeKeeper{}
	w, win := newTestWindow(t, Options{Keeper: k, Info: Info{ConfigPath: "config.yaml"}})
	w.render(t.Context(), snap(okAccount("work")))
	w.tabs.SelectIndex(1)

	sel, _ := selectOf(t, w.settings, "refresh.interval_hours")
	sel.SetSelected("12 h")
	test.Tap(w.settings.save)
	w.wg.Wait()

	if len(k.saved) != 1 || k.saved[0].Refresh.IntervalHours != 12 {
		t.Fatalf("SaveSettings got %v; want one call with refresh.interval_hours 12", k.saved)
	}
	if want := "Saved — changes apply after restart"; w.settings.status.Text != want {
		t.Errorf("status = %q; want %q", w.settings.status.Text, want)
	}
	if want := "• refresh.interval_hours: 1 → 12"; w.settings.changes.Text != want {
		t.Errorf("pending changes = %q; want %q", w.settings.changes.Text, want)
	}
	assertGolden(t, "settings_saved.xml", win.Canvas())

	if !w.settings.restart.Visible() {
		t.Fatal("Restart now is hidden after a save with changes")
	}
	test.Tap(w.settings.restart)
	w.wg.Wait()
	if diff := cmp.Diff([]string{"save settings", "restart"}, k.called()); diff != "" {
		t.Errorf("keeper calls (-want +got):\n%s", diff)
	}
	if w.settings.changes.Visible() || w.settings.restart.Visible() {
		t.Errorf("after a restart the form still lists pending changes %q", w.settings.changes.Text)
	}
}

func TestSettingsSaveRefused(t *testing.T) {
	k := &fakeKeeper{err: errors.New("config file is read-only")}
	w, _ := newTestWindow(t, Options{Keeper: k, Info: Info{ConfigPath: "config.yaml"}})
	test.Tap(w.settings.save)
	w.wg.Wait()
	if want := "Not saved: config file is read-only"; w.settings.status.Text != want {
		t.Errorf("status = %q; want %q", w.settings.status.Text, want)
	}
}

// The demo has no config file: the form shows the settings read-only.
func TestSettingsReadOnlyDemo(t *testing.T) {
	w, _ := newTestWindow(t, Options{Info: Info{Demo: true}})
	if !w.settings.save.Disabled() {
		t.Errorf("Save is enabled without a config file")
	}
	if !w.settings.fileErr.Visible() {
		t.Errorf("no note that the settings are read-only")
	}
}

func TestProblemText(t *testing.T) {
	var s config.Settings
	for _, tc := range []struct {
		err  error
		want string
	}{
		{nil, ""},
		{errors.New("disk full"), "disk full"},
		{config.SetValue(&s, "budget.requests", "10"), "out of range; allowed: 50–200"},
		{config.SetValue(&s, "storage.backend", "floppy"), "not one of the allowed values; allowed: keychain or file"},
	} {
		if got := problemText(tc.err); got != tc.want {
			t.Errorf("problemText(%v) = %q; want %q", tc.err, got, tc.want)
		}
	}
}
