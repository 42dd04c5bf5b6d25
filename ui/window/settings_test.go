package ui

import (
	"errors"
	"path/filepath"
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

func TestSettingsIntervalValidation(t *testing.T) {
	for _, tc := range []struct {
		typed   string
		problem string // "" = accepted
	}{
		{"0", "out of range; allowed: 1–24"},
		{"25", "out of range; allowed: 1–24"},
		{"abc", "not a whole number; allowed: 1–24"},
		{"", "not a whole number; allowed: 1–24"},
		{"12", ""},
		{"1", ""},
		{"24", ""},
	} {
		t.Run(tc.typed, func(t *testing.T) {
			u, _ := newTestUI(t, Options{ConfigPath: filepath.Join(t.TempDir(), "config.yaml")})
			e, fl := entryOf(t, u.settings, "refresh.interval_hours")
			e.SetText("")
			test.Type(e, tc.typed)
			got := ""
			if fl.problem.Visible() {
				got = fl.problem.Text
			}
			if got != tc.problem {
				t.Errorf("typing %q shows %q; want %q", tc.typed, got, tc.problem)
			}
			if want := tc.problem != ""; u.settings.save.Disabled() != want {
				t.Errorf("typing %q: Save disabled = %v; want %v", tc.typed, u.settings.save.Disabled(), want)
			}
		})
	}
}

// A duration knob is refused with config's message too.
func TestSettingsDurationValidation(t *testing.T) {
	u, _ := newTestUI(t, Options{ConfigPath: filepath.Join(t.TempDir(), "config.yaml")})
	e, fl := entryOf(t, u.settings, "refresh.cooldown")
	e.SetText("")
	test.Type(e, "1m")
	if got, want := fl.problem.Text, "out of range; allowed: 5m–30m"; !fl.problem.Visible() || got != want {
		t.Errorf("cooldown 1m shows %q (visible %v); want %q", got, fl.problem.Visible(), want)
	}
}

func TestSettingsSaveWritesFileNotEngine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	eng := &scriptedEngine{snap: snap(okAccount("work"))}
	restarted := 0
	u, w := newTestUI(t, Options{Engine: eng, ConfigPath: path, OnRestart: func() { restarted++ }})
	u.render(t.Context(), eng.snap)
	u.tabs.SelectIndex(1)

	e, _ := entryOf(t, u.settings, "refresh.interval_hours")
	e.SetText("")
	test.Type(e, "12")
	test.Tap(u.settings.save)

	got, err := config.ReadFile(path)
	if err != nil {
		t.Fatalf("config.ReadFile after Save = %v", err)
	}
	if got.Refresh.IntervalHours != 12 {
		t.Errorf("saved refresh.interval_hours = %d; want 12", got.Refresh.IntervalHours)
	}
	if want := "Saved — changes apply after restart"; u.settings.status.Text != want {
		t.Errorf("status = %q; want %q", u.settings.status.Text, want)
	}
	if want := "• refresh.interval_hours: 1 → 12"; u.settings.changes.Text != want {
		t.Errorf("pending changes = %q; want %q", u.settings.changes.Text, want)
	}
	if u.o.Settings.Refresh.IntervalHours != 1 {
		t.Errorf("running settings changed to %d hours; Save must only write the file", u.o.Settings.Refresh.IntervalHours)
	}
	assertGolden(t, "settings_saved.xml", w.Canvas())

	if !u.settings.restart.Visible() {
		t.Fatal("Restart now is hidden after a save with changes")
	}
	test.Tap(u.settings.restart)
	if restarted != 1 {
		t.Errorf("Restart now called OnRestart %d times; want 1", restarted)
	}
	if diff := cmp.Diff([]string(nil), eng.refreshed); diff != "" {
		t.Errorf("Save touched the engine (-want +got):\n%s", diff)
	}
}

func TestSettingsUnreadableFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := config.WriteFileAtomic(path, []byte("refresh:\n  interval_hours: 99\n")); err != nil {
		t.Fatal(err)
	}
	u, _ := newTestUI(t, Options{ConfigPath: path})
	if !u.settings.fileErr.Visible() {
		t.Errorf("a config file with an invalid value shows no error")
	}
	e, _ := entryOf(t, u.settings, "refresh.interval_hours")
	if e.Text != "1" {
		t.Errorf("interval entry = %q; want the running value 1", e.Text)
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
