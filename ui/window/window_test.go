package window

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"

	"github.com/tokentray/tokentray/internal/config"
	"github.com/tokentray/tokentray/internal/state"
)

func TestWindowStates(t *testing.T) {
	for _, tc := range []struct {
		golden string
		snap   state.Snapshot
		o      Options
	}{
		{"window_ok.xml", snap(okAccount("work")), Options{}},
		{"window_refreshing.xml", snap(refreshingAccount("work")), Options{}},
		{"window_backing_off.xml", snap(backingOffAccount("work")), Options{}},
		{"window_needs_signin.xml", snap(needsSignInAccount("work")), Options{}},
		{"window_storage_degraded.xml", snap(degradedAccount("work")), Options{}},
		{"window_no_accounts.xml", snap(), Options{}},
		{"window_no_tray_host.xml", snap(), Options{Info: Info{NoTrayHost: true}}},
		{"window_storage_unavailable.xml", snap(okAccount("work")), Options{Info: Info{StorageProblem: "keychain locked (keychain is locked: unlock it)"}}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			w, win := newTestWindow(t, tc.o)
			w.render(t.Context(), tc.snap)
			assertGolden(t, tc.golden, win.Canvas())
		})
	}
}

func TestSettingsPendingChanges(t *testing.T) {
	onDisk := config.Defaults()
	onDisk.Refresh.IntervalHours = 6
	onDisk.Storage.Backend = "file"
	w, win := newTestWindow(t, Options{Info: Info{ConfigPath: "/home/ada/.config/tokentray/config.yaml", FileSettings: onDisk}})
	w.render(t.Context(), snap(okAccount("work")))
	w.tabs.SelectIndex(1)
	assertGolden(t, "settings_pending.xml", win.Canvas())
}

func TestGoldensStaySmall(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.xml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		st, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if st.Size() > 40_000 {
			t.Errorf("%s is %d bytes; keep golden files under 40 KB", f, st.Size())
		}
	}
}

// The countdown follows the clock, not the snapshot.
func TestTickCountsDown(t *testing.T) {
	now := clock
	w, _ := newTestWindow(t, Options{Now: func() time.Time { return now }})
	w.render(t.Context(), snap(okAccount("work")))
	if got, want := w.cards["work"].expiry.Text, "Access token expires in 39m 00s"; got != want {
		t.Fatalf("expiry = %q; want %q", got, want)
	}
	now = now.Add(61 * time.Second)
	w.tick()
	if got, want := w.cards["work"].expiry.Text, "Access token expires in 37m 59s"; got != want {
		t.Errorf("after a tick expiry = %q; want %q", got, want)
	}
}

// A card lays out only the rows it shows, however they came and went.
func TestCardHasNoGaps(t *testing.T) {
	for _, tc := range []struct {
		name  string
		snaps []state.AccountStatus
	}{
		{"ok", []state.AccountStatus{okAccount("work")}},
		{"needs sign-in", []state.AccountStatus{needsSignInAccount("work")}},
		{"error went", []state.AccountStatus{needsSignInAccount("work"), okAccount("work")}},
		{"error came", []state.AccountStatus{okAccount("work"), backingOffAccount("work")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, _ := newTestWindow(t, Options{})
			for _, a := range tc.snaps {
				w.render(t.Context(), snap(a))
			}
			c := w.cards["work"]
			for _, box := range []*fyne.Container{c.body, c.errBox} {
				var bottom float32
				for i, o := range box.Objects {
					if !o.Visible() {
						continue
					}
					if y := o.Position().Y; i > 0 && y != bottom {
						t.Errorf("row %d (%T) at y=%v; want %v, right under the row above", i, o, y, bottom)
					}
					bottom = o.Position().Y + o.Size().Height + theme.Padding()
				}
			}
			if h, want := c.box.Size().Height, c.box.MinSize().Height; h != want {
				t.Errorf("card is %v high; want its MinSize %v", h, want)
			}
		})
	}
}
